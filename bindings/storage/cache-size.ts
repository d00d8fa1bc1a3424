// The block cache's capacity when `blockCacheBytes` is not given (docs/API.md): the data
// itself, so a store whose run files fit a fair share of the machine serves every read from
// memory once warm, as an OS page cache would for a store that maps its files (lmdb,
// classic-level's reads); never below the 64 MiB that was the fixed default, never above an
// eighth of the machine's memory; the engine keeps it under an eighth of maxMemoryBytes
// (abi-runs.ts set_block_cache_bytes). Re-sized as the data grows and shrinks (each manifest
// commit). A cache is only as large as the blocks read into it, and writes short of memory
// evict it (admission.ts catchUp), so a large capacity costs memory only once it is used.
// No file system here: Node's persistence sizes files with fstat, OPFS's with its handles.
import { Status, type Engine } from '../engine/abi.js';
import { StrataError } from '../errors.js';

/** The floor: the fixed default before the cache was sized from the data. */
export const MIN_DEFAULT_CACHE_BYTES = 64 << 20;

/** The default capacity for `dataBytes` of run files on a machine of `machineBytes`. */
export function defaultCacheBytes(dataBytes: number, machineBytes: number): number {
  return Math.max(MIN_DEFAULT_CACHE_BYTES, Math.min(dataBytes, Math.floor(machineBytes / 8)));
}

/** Sets a store's cache capacity: the given one, or the default kept in step with its files. */
export class CacheSizer {
  private last = -1;
  /** Sizes of the files by run number (a durable run file never changes). */
  private readonly sizes = new Map<number, number>();

  constructor(private readonly engine: Engine, private readonly given: number | undefined,
              private readonly machineBytes: number) {}

  /** Sets the capacity for the store's runs `live` (those a manifest lists); `sizeOf` gives
   *  the byte size of a run's file, undefined for a run without an open file (it adds
   *  nothing), and is asked once per run. */
  resize(live: readonly number[], sizeOf: (run: number) => number | undefined): void {
    let bytes = this.given;
    if (bytes === undefined) {
      const keep = new Set(live);
      for (const run of this.sizes.keys()) if (!keep.has(run)) this.sizes.delete(run);
      let data = 0;
      for (const run of live) {
        let size = this.sizes.get(run);
        if (size === undefined) {
          size = sizeOf(run);
          if (size === undefined) continue;
          this.sizes.set(run, size);
        }
        data += size;
      }
      bytes = defaultCacheBytes(data, this.machineBytes);
    }
    if (bytes === this.last) return;
    if (this.engine.setBlockCacheBytes(bytes) !== Status.OK) {
      throw new StrataError('INVALID_ARGUMENT', `blockCacheBytes ${bytes} is out of range`);
    }
    this.last = bytes;
  }
}
