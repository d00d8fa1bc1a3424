// The run files of an OPFS store as the block cache reads them (env.read_block): the browser
// twin of persistence.ts's descriptors. A run whose file is durable is detached (run_detach):
// its data blocks leave linear memory and are read back through the file's sync access
// handle, synchronously at an offset, as Node reads them with readSync. Runs listed at open
// are imported from their tails (footer, index, bloom), so opening a large store reads only
// those, and resident memory is bounded by the cache.
// OPFS differs from POSIX in one way that matters here: a file with an open sync access handle
// cannot be removed (NoModificationAllowedError), and a removed file cannot be read through a
// handle kept open, as a Node descriptor can. So a run file that no manifest lists any more is
// removed only once the engine has freed the run (env.run_freed: no iterator or snapshot
// holds it) and its handle is closed.
// INVARIANT: a run number is in `handles` exactly while the engine may read its file; a file
// is handed to `remove` only when no durable manifest lists it and its handle is closed.
import { Status, statusError, type Engine, type RunFileReader } from '../engine/abi.js';
import { io } from './io-error.js';
import { fileName, importRunTail, readFully } from './persistence-core.js';
import type { SyncAccessHandle } from './opfs-files.js';

/** readFully's read through a sync access handle. */
const readHandle = (h: SyncAccessHandle, u8: Uint8Array, pos: number, n: number, at: number): number =>
  h.read(u8.subarray(pos, pos + n), { at });

export class OpfsRunFiles implements RunFileReader {
  /** Open handles of the files of file-backed runs, until the engine frees the run. */
  private readonly handles = new Map<number, SyncAccessHandle>();
  /** Runs whose files no durable manifest lists but whose handles are still open: their
   *  files go when the engine frees them. */
  private readonly doomed = new Set<number>();

  /** `remove(name)` deletes a file of the directory (queued: it is async). */
  constructor(private readonly engine: Engine, private readonly path: string,
              private readonly remove: (name: string) => void) {}

  readBlock(run: number, offset: number, len: number, dst: number): number {
    const h = this.handles.get(run);
    if (h === undefined) return Status.IO_ERROR;
    return readFully(h, this.engine.u8, dst, len, offset, readHandle);
  }

  runFreed(run: number): void {
    const h = this.handles.get(run);
    if (h === undefined) return;
    this.handles.delete(run);
    try { h.close(); } catch { /* nothing left to read through it */ }
    if (this.doomed.delete(run)) this.remove(fileName(run, 'run'));
  }

  fileOf(run: number): string { return `${this.path}/${fileName(run, 'run')}`; }

  /** The size of run `run`'s open file (for the cache's default capacity). */
  readonly sizeOf = (run: number): number | undefined => {
    const h = this.handles.get(run);
    try { return h === undefined ? undefined : h.getSize(); } catch { return 0; }
  };

  /** The size of run `run`'s file (a background job's input: background.ts ImageRunFiles);
   *  undefined when the run is not file-backed. */
  fileSize(run: number): number | undefined {
    const h = this.handles.get(run);
    return h === undefined ? undefined : io('read', this.fileOf(run), () => h.getSize());
  }

  /** Reads `into.length` bytes of run `run`'s file at `at`; IO_ERROR when that fails or
   *  comes up short. */
  readAt(run: number, at: number, into: Uint8Array): void {
    const h = this.handles.get(run);
    const st = h === undefined ? Status.IO_ERROR : readFully(h, into, 0, into.length, at, readHandle);
    if (st !== Status.OK) throw statusError(Status.IO_ERROR, `read of ${this.fileOf(run)} at ${at} for a background job`);
  }

  /** Run `id`'s file is durable through `h`: the engine reads the run from it from now on.
   *  A run compacted away since its image was taken is not detached; its handle is closed. */
  adopt(id: number, h: SyncAccessHandle): void {
    const st = this.engine.runDetach(id);
    if (st === Status.OK) { this.handles.set(id, h); return; }
    h.close();
    if (st !== Status.NOT_FOUND) throw statusError(st, `detach of run ${id}`);
  }

  /** Imports run `id` of `level` file-backed from its file's tail (footer, index, bloom);
   *  the handle stays open for the block cache, closed by runFreed or closeAll. */
  importTail(id: number, level: number, h: SyncAccessHandle): void {
    const file = this.fileOf(id);
    this.handles.set(id, h);
    const size = io('read', file, () => h.getSize());
    importRunTail(this.engine, id, level, file, size, (offset, len, dst) => this.readBlock(id, offset, len, dst));
  }

  /** Run `id`'s file is listed by no durable manifest any more: true when it may be removed
   *  now; otherwise it is removed when the engine frees the run. */
  release(id: number): boolean {
    if (!this.handles.has(id)) return true;
    this.doomed.add(id);
    return false;
  }

  /** Closes every handle (the store is closing or its open failed); doomed files stay, for
   *  the next open to delete as strays. */
  closeAll(): void {
    for (const h of this.handles.values()) {
      try { h.close(); } catch { /* closing is best effort; the worker's end releases them too */ }
    }
    this.handles.clear();
    this.doomed.clear();
  }
}
