// The host side of the Wasm ABI (docs/ABI.md): loading the module, the exports' types,
// status codes, and views over linear memory. Mirrors assembly/index.ts and
// assembly/status.ts; change them together.
import { WASM_BASE64 } from './wasm-binary.js';
import { StrataError, type StrataErrorCode } from '../errors.js';

export const Status = {
  OK: 0, NOT_FOUND: 1, INVALID_ARGUMENT: 2, KEY_TOO_LARGE: 3, VALUE_TOO_LARGE: 4, OUT_OF_MEMORY: 5,
  CORRUPTION: 6, IO_ERROR: 7, CONDITION_FAILED: 8, BAD_HANDLE: 9,
  /** A lookup found merge operands: the result's value is a chain image to fold. */
  MERGED: 10,
} as const;

export { MAX_KEY_BYTES } from '../key-range.js'; // the key space's limit, defined with its ranges
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;
export const MAX_LEVELS = 7;
/** The level runImport and runImportTail take for a background compaction's output. */
export const STAGED_LEVEL = MAX_LEVELS;

const STATUS_CODES: Record<number, StrataErrorCode> = {
  [Status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [Status.KEY_TOO_LARGE]: 'KEY_TOO_LARGE',
  [Status.VALUE_TOO_LARGE]: 'VALUE_TOO_LARGE',
  [Status.OUT_OF_MEMORY]: 'OUT_OF_MEMORY',
  [Status.CORRUPTION]: 'CORRUPTION',
  [Status.IO_ERROR]: 'IO_ERROR',
  [Status.BAD_HANDLE]: 'ITERATOR_CLOSED',
};

/** The error for a failed engine call. With the engine, a CORRUPTION or IO_ERROR that a
 *  block read caused names the run file and offset (Engine.readError); a call refused for
 *  the background error (docs/API.md, "Background errors") says so, and names where. */
export function statusError(status: number, what: string, engine?: Engine): StrataError {
  const code = STATUS_CODES[status] ?? 'INVALID_ARGUMENT';
  if (engine && (status === Status.CORRUPTION || status === Status.IO_ERROR)) {
    const where = engine.readError(status);
    if (engine.view.getUint32(engine.resultPtr + 16, true) === 1) return new StrataError(code, `${what} refused: ${BACKGROUND}: ${where}`);
    return new StrataError(code, `${what} failed: ${where}`);
  }
  return new StrataError(code, `${what} failed (engine status ${status})`);
}

/** How a background error's message starts (Engine.backgroundError, statusError). */
const BACKGROUND = 'the store stopped writing when a compaction met a damaged or unreadable run file (reopen it)';

/** What is damaged in a run file, by assembly/run-file.ts CORRUPT_* code. */
export const CORRUPTION_WHAT = ['', 'bad footer', 'bad index block', 'bad bloom block', 'bad data block', 'entries out of order', 'bad range-del block'];

/** The module's exports (assembly/index.ts). Pointers and lengths are u32; sequences f64. */
export interface EngineExports {
  memory: WebAssembly.Memory;
  result_ptr(): number;
  batch_ptr(): number;
  batch_capacity(): number;
  stats_ptr(): number;
  io_reserve(size: number): number;
  init(memtableBytes: number, blockBytes: number, bloomBitsPerKey: number, level0Trigger: number,
       levelBaseBytes: number, levelMultiplier: number, runTargetBytes: number,
       autoCompaction: number, maxMemoryBytes: number): number;
  put(kp: number, kl: number, vp: number, vl: number): number;
  del(kp: number, kl: number): number;
  del_range(fp: number, fl: number, tp: number, tl: number): number;
  merge(kp: number, kl: number, vp: number, vl: number): number;
  write_batch(p: number, len: number, count: number): number;
  restore_batch(p: number, len: number, count: number): number;
  /** The chunk size restores should stay under (docs/ABI.md). */
  restore_chunk_bytes(): number;
  /** io_reserve that keeps the region's first `keep` bytes; 0 when out of memory. */
  io_grow(size: number, keep: number): number;
  /** Frees the argument region when it is larger than `keep` bytes. */
  io_release(keep: number): void;
  get(kp: number, kl: number, snapSeq: number): number;
  get_many(p: number, count: number, out: number, snapSeq: number): number;
  put_if_version(kp: number, kl: number, vp: number, vl: number, expected: number): number;
  del_if_version(kp: number, kl: number, expected: number): number;
  last_seq(): number;
  snapshot_acquire(): number;
  snapshot_release(seq: number): void;
  iter_open(lp: number, ll: number, up: number, ul: number, flags: number, snapSeq: number): number;
  iter_next(handle: number, max: number): number;
  iter_close(handle: number): number;
  flush(): number;
  compact(): number;
  /** 1 while a log is replayed at open: no compaction starts or advances (docs/ABI.md). */
  pause_compaction(on: number): void;
  stats(): void;
  /** Expiry clock for compaction in stores with ttlMs (docs/ABI.md); 0 = off. */
  set_expiry_clock(now: number): void;
  // persistence (docs/FORMAT.md)
  /** OK leaves RESULT +0 = the batch's token, for apply_prepared. */
  prepare_batch(p: number, len: number, count: number): number;
  /** Applies the batch prepared last, by its token; INVALID_ARGUMENT when it is stale. */
  apply_prepared(token: number): number;
  version_stamp(): number;
  flushed_seq(): number;
  next_run_id(): number;
  version_runs(out: number, cap: number): number;
  run_image_size(id: number): number;
  run_image(id: number, out: number): number;
  /** Data blocks of run `id` from block `from`, up to maxBytes: count, RESULT +0 = bytes. */
  run_image_blocks(id: number, from: number, maxBytes: number, out: number): number;
  run_image_tail_size(id: number): number;
  run_image_tail(id: number, out: number): number;
  run_import(p: number, len: number, level: number, id: number): number;
  recover_seq(seq: number): number;
  // larger than memory: file-backed runs and the block cache (docs/ABI.md)
  enable_file_backing(): void;
  set_block_cache_bytes(bytes: number): number;
  set_memory_reserve(bytes: number): void;
  set_replaying(on: number): void;
  run_detach(id: number): number;
  run_tail_offset(p: number, fileSize: number): number;
  run_footer(p: number, fileSize: number, out: number): number;
  run_import_tail(p: number, len: number, fileSize: number, level: number, id: number): number;
  read_error(): void;
  /** The latched background error's status (0: none); RESULT as read_error. */
  bg_error(): number;
  // background compaction (docs/ABI.md, "Background compaction")
  bg_delegate(on: number): void; bg_state(): number; bg_job(out: number, cap: number): number;
  bg_merge(p: number, len: number): number; bg_clear(): void; bg_install(id: number): number; take_run_ids(n: number): number;
  bg_fail(id: number, st: number, run: number, at: number, what: number): void;
}

/** A run file's footer (docs/FORMAT.md, "Footer"), as the engine read it. */
export interface RunFooter {
  indexOffset: number;
  indexLength: number;
  bloomOffset: number;
  bloomLength: number;
  entries: number;
  tombstones: number;
  /** 1 to 4: the format version, which says the checksum kind (CRC-32C in 1 and 2, XXH64 in 3 and 4). */
  version: number;
}

/**
 * What the engine imports (env.read_block, env.run_freed): reads of run files for the block
 * cache. A store whose runs never leave memory (in memory, OPFS) keeps the default, which
 * refuses every read.
 */
export interface RunFileReader {
  /** Reads `len` bytes at `offset` of run file `run` into linear memory at `dst`; returns a
   *  Status (OK, IO_ERROR, CORRUPTION for a short file). Must not call into the engine. */
  readBlock(run: number, offset: number, len: number, dst: number): number;
  /** The engine dropped file-backed run `run`: its file may be closed. */
  runFreed(run: number): void;
  /** The file of run `run`, for error messages. */
  fileOf(run: number): string;
}

const NO_FILES: RunFileReader = {
  readBlock: () => Status.IO_ERROR,
  runFreed: () => {},
  fileOf: (run) => `run ${run}`,
};

let compiled: Promise<WebAssembly.Module> | undefined;

function decodeBase64(b64: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The embedded module, compiled once per process; each store instantiates its own copy. */
export const engineModule = (): Promise<WebAssembly.Module> => (compiled ??= WebAssembly.compile(decodeBase64(WASM_BASE64) as BufferSource));
export const instantiateEngine = async (): Promise<Engine> => engineFrom(await engineModule());

/** A fresh instance of the compiled module (a background worker makes one per job). */
export function engineFrom(module: WebAssembly.Module): Engine {
  let engine: Engine | undefined;
  const env = {
    read_block: (run: number, offset: number, len: number, dst: number) => engine!.files.readBlock(run, offset, len, dst),
    run_freed: (run: number) => engine!.files.runFreed(run),
    merge_fold: (ptr: number, len: number) => engine!.foldForCompaction(ptr, len),
    merge_take: (dst: number) => engine!.takeFolded(dst),
  };
  const instance = new WebAssembly.Instance(module, { env });
  engine = new Engine(instance.exports as unknown as EngineExports);
  return engine;
}

/** iter_open's flags (docs/ABI.md): bounds, direction, what a batch packs (iterator.ts packFlags). */
export const ITER_LOWER = 1, ITER_UPPER = 2, ITER_REVERSE = 4, ITER_PACK_VALUES = 8, ITER_PACK_KEYS = 16;
/** The snapshot argument of get / get_many / iter_open that reads the store as it is now. */
export const READ_NOW = -1;
/** The flags of iter_next's batch trailer (assembly/abi-reads.ts). */
export const TRAILER_ENDED = 1, TRAILER_ASCII = 2;

/** A store's tuning as the engine takes it (store/options.ts resolves it from StoreOptions). */
export interface EngineTuning {
  memtableBytes: number;
  blockBytes: number;
  bloomBitsPerKey: number;
  level0CompactionTrigger: number;
  levelBaseBytes: number;
  levelSizeMultiplier: number;
  runTargetBytes: number;
  autoCompaction: boolean;
  maxMemoryBytes: number;
  blockCacheBytes: number;
}

/** How a store folds merge chains for its engine's compactions (docs/ABI.md, env.merge_fold
 *  and env.merge_take). Neither may call into the engine. */
export interface CompactionFolder {
  /** Folds the chain image at [at, at + len) of u8: the folded value's length, or -1 to
   *  keep the operands. */
  compactionFold(u8: Uint8Array, at: number, len: number): number;
  /** Writes the value the last compactionFold produced at u8[dst]. */
  compactionTake(u8: Uint8Array, dst: number): void;
}

/**
 * One engine instance with cached views over its memory.
 * INVARIANT: views are re-made whenever memory has grown (growth detaches the old buffer,
 * which shows as byteLength 0), so callers must fetch `u8`/`view` after every Wasm call.
 */
export class Engine {
  readonly x: EngineExports;
  /** The buffer the views were made over; growth detaches it (byteLength becomes 0). */
  private buffer: ArrayBuffer;
  private _u8: Uint8Array;
  private _u32: Uint32Array;
  private _view: DataView;
  readonly resultPtr: number;
  readonly batchPtr: number;
  readonly batchCapacity: number;
  /** Reads run files for the block cache; set by a persistence that detaches runs. */
  files: RunFileReader = NO_FILES;
  /** Folds merge chains for compactions (env.merge_fold, env.merge_take). Set by a store;
   *  none folds nothing. */
  compactionFolder: CompactionFolder | undefined;

  constructor(x: EngineExports) {
    this.x = x;
    this.buffer = x.memory.buffer;
    this._u8 = new Uint8Array(x.memory.buffer);
    this._u32 = new Uint32Array(x.memory.buffer);
    this._view = new DataView(x.memory.buffer);
    this.resultPtr = x.result_ptr();
    this.batchPtr = x.batch_ptr();
    this.batchCapacity = x.batch_capacity();
  }

  get u8(): Uint8Array {
    if (this.buffer.byteLength === 0) this.refresh();
    return this._u8;
  }

  /** Linear memory as u32 words (word i = bytes 4i … 4i + 3), for aligned regions such as
   *  the iterator batch. Host byte order, like Wasm's own: little-endian hosts assumed. */
  get u32(): Uint32Array {
    if (this.buffer.byteLength === 0) this.refresh();
    return this._u32;
  }

  get view(): DataView {
    if (this.buffer.byteLength === 0) this.refresh();
    return this._view;
  }

  private refresh(): void {
    this.buffer = this.x.memory.buffer;
    this._u8 = new Uint8Array(this.x.memory.buffer);
    this._u32 = new Uint32Array(this.x.memory.buffer);
    this._view = new DataView(this.x.memory.buffer);
  }

  /** A region of at least `size` bytes for arguments; valid until the next reserve. */
  reserve(size: number): number {
    const p = size > 0xffffffff ? 0 : this.x.io_reserve(size); // (a u32: larger sizes would wrap)
    if (p === 0) throw new StrataError('OUT_OF_MEMORY', `cannot reserve ${size} bytes for arguments`);
    return p;
  }

  /** env.merge_fold: the folded value's length (kept for takeFolded), or -1. */
  foldForCompaction(ptr: number, len: number): number {
    const f = this.compactionFolder;
    if (f === undefined) return -1;
    const n = f.compactionFold(this.u8, ptr, len);
    return n > MAX_VALUE_BYTES ? -1 : n;
  }

  /** env.merge_take: writes the last fold's value at dst. */
  takeFolded(dst: number): void { this.compactionFolder?.compactionTake(this.u8, dst); }

  /** Copies `len` bytes at `ptr` out of linear memory. */
  copyOut(ptr: number, len: number): Uint8Array {
    return this.u8.slice(ptr, ptr + len);
  }

  /** Where the last failed block read was: "<file> at offset N: what". */
  readError(status: number): string {
    this.x.read_error();
    return this.location(status);
  }

  /** RESULT as read_error / bg_error leave it, for a message: "<file> at offset N: what". */
  private location(status: number): string {
    return `${this.files.fileOf(this.view.getUint32(this.resultPtr + 4, true))} ${this.detail(status)}`;
  }

  /** "at offset N: what" from RESULT (what: the CORRUPTION_WHAT code, or a failed read). */
  private detail(status: number): string {
    const v = this.view;
    const what = status === Status.IO_ERROR ? 'read failed' : CORRUPTION_WHAT[v.getUint32(this.resultPtr, true)] ?? 'damaged';
    return `at offset ${v.getFloat64(this.resultPtr + 8, true)}: ${what}`;
  }

  /** The background error (docs/API.md, "Background errors"), or undefined when there is none. */
  backgroundError(): { code: StrataErrorCode; message: string } | undefined {
    const st = this.x.bg_error();
    if (st === Status.OK) return undefined;
    return { code: STATUS_CODES[st] ?? 'IO_ERROR', message: `${BACKGROUND}: ${this.location(st)}` };
  }

  // ---- typed calls (issue #15: the rest of bindings/ goes through these, not `x`) ----------

  /** Sets the engine up (`init`) with a store's resolved tuning; a status. */
  init(t: EngineTuning): number {
    return this.x.init(t.memtableBytes, t.blockBytes, t.bloomBitsPerKey, t.level0CompactionTrigger,
      t.levelBaseBytes, t.levelSizeMultiplier, t.runTargetBytes, t.autoCompaction ? 1 : 0, t.maxMemoryBytes);
  }

  /** The sequence number of the last write applied. */
  lastSeq(): number { return this.x.last_seq(); }
  /** Bytes a restore chunk should stay under (smaller under a small memory cap). */
  restoreChunkBytes(): number { return this.x.restore_chunk_bytes(); }
  /** Applies a restore image (docs/ABI.md): its status, and how many records it applied
   *  (the others were at or below the last sequence). */
  restoreBatch(p: number, len: number, count: number): { status: number; applied: number } {
    const status = this.x.restore_batch(p, len, count);
    return { status, applied: status === Status.OK ? this.view.getUint32(this.resultPtr, true) : 0 };
  }

  /** Grows the argument region to `size` bytes keeping its first `keep`: its new address, or
   *  OUT_OF_MEMORY (the old region stays). */
  growArguments(size: number, keep: number): number {
    const p = size > 0xffffffff ? 0 : this.x.io_grow(size, keep);
    if (p === 0) throw new StrataError('OUT_OF_MEMORY', `cannot reserve ${size} bytes for arguments`);
    return p;
  }

  /** Gives back an argument region grown above `keep` bytes. */
  releaseArguments(keep: number): void { this.x.io_release(keep); }

  /** Copies the data blocks of run `run` from block `first` on into `out` (`room` bytes), with
   *  their checksums: how many blocks and bytes. `blocks` 0 with `bytes` > 0: the next block
   *  alone needs `bytes` of room; -1: the run is gone (compacted away). */
  runImageBlocks(run: number, first: number, room: number, out: number): { blocks: number; bytes: number } {
    const blocks = this.x.run_image_blocks(run, first, room, out);
    return { blocks, bytes: blocks >= 0 ? this.view.getUint32(this.resultPtr, true) : 0 };
  }

  /** Bytes of run `run`'s index, bloom and footer; 0 when the run is gone. */
  runImageTailSize(run: number): number { return this.x.run_image_tail_size(run); }
  /** Writes run `run`'s index, bloom and footer at `out`; a status (NOT_FOUND: gone). */
  runImageTail(run: number, out: number): number { return this.x.run_image_tail(run, out); }

  // ---- a Store's calls (store/): arguments at (ptr, len) in the argument region ---------
  // Results: put/del/conditional writes leave the write's sequence, get its value and
  // version (resultValuePtr, resultValueLen, resultSeq); statuses as in status.ts.

  put(kp: number, kl: number, vp: number, vl: number): number { return this.x.put(kp, kl, vp, vl); }
  del(kp: number, kl: number): number { return this.x.del(kp, kl); }
  /** Deletes the keys in [from, to) with one range tombstone (docs/LSM.md, "Range
   *  deletions"); INVALID_ARGUMENT unless from < to. A status; the write's sequence as put's. */
  deleteRange(fp: number, fl: number, tp: number, tl: number): number { return this.x.del_range(fp, fl, tp, tl); }
  merge(kp: number, kl: number, vp: number, vl: number): number { return this.x.merge(kp, kl, vp, vl); }
  putIfVersion(kp: number, kl: number, vp: number, vl: number, expected: number): number {
    return this.x.put_if_version(kp, kl, vp, vl, expected);
  }
  delIfVersion(kp: number, kl: number, expected: number): number { return this.x.del_if_version(kp, kl, expected); }
  /** Validates a batch image and reserves its memory, applying nothing: its token (> 0),
   *  which applyPrepared takes, or a negated status. (Named apart from the
   *  prepare_batch export: it returns a token, not a status.) */
  prepare(p: number, len: number, count: number): number {
    const st = this.x.prepare_batch(p, len, count);
    return st === Status.OK ? this.view.getUint32(this.resultPtr, true) : -st;
  }
  /** Applies the batch `prepare` prepared, without checking it again; a status. It cannot
   *  fail while the preparation stands: no argument region reserved, no write, no flush
   *  since (docs/ABI.md); otherwise INVALID_ARGUMENT and nothing is applied. */
  applyPrepared(token: number): number { return this.x.apply_prepared(token); }
  get(kp: number, kl: number, snapSeq: number): number { return this.x.get(kp, kl, snapSeq); }
  /** `count` keys (u32 length, bytes) at `p`; (ptr, len) pairs at `out` (len 0xffffffff: absent)
   *  for the keys it answered, from the first: how many (call again for the rest), or -status. */
  getMany(p: number, count: number, out: number, snapSeq: number): number { return this.x.get_many(p, count, out, snapSeq); }
  /** An iterator handle, or a negated status. */
  iterOpen(lp: number, ll: number, up: number, ul: number, flags: number, snapSeq: number): number {
    return this.x.iter_open(lp, ll, up, ul, flags, snapSeq);
  }
  /** Up to `max` entries into the batch region: how many (fewer, even 0, before the end:
   *  iterEnded() tells), or a negated status. */
  iterNext(handle: number, max: number): number { return this.x.iter_next(handle, max); }
  /** Whether the last iterNext reached its iterator's end (its batch trailer's flag). */
  iterEnded(): boolean { return (this.u32[(this.batchPtr >>> 2) + this.batchCapacity * 4] & TRAILER_ENDED) !== 0; }
  iterClose(handle: number): number { return this.x.iter_close(handle); }
  snapshotAcquire(): number { return this.x.snapshot_acquire(); }
  snapshotRelease(seq: number): void { this.x.snapshot_release(seq); }
  compact(): number { return this.x.compact(); }
  /** The clock expired values are dropped by in compactions (stores with ttlMs). */
  setExpiryClock(now: number): void { this.x.set_expiry_clock(now); }
  /** Fills the stats block and returns where it is (stats.ts decodes it). */
  statsPtr(): number { this.x.stats(); return this.x.stats_ptr(); }

  // ---- a store's directory (storage/): the LSM shape, run images, recovery ---------------

  /** Changes whenever runs come or go (a flush, a compaction, an ingest). */
  versionStamp(): number { return this.x.version_stamp(); }
  /** Every write at or below it is in runs. */
  flushedSeq(): number { return this.x.flushed_seq(); }
  /** The number the next run will take. */
  nextRunId(): number { return this.x.next_run_id(); }
  /** Writes (level u32, run u32) pairs of the current runs at `out`, up to `cap` of them;
   *  returns how many there are (more than `cap`: call again with room for them). */
  versionRuns(out: number, cap: number): number { return this.x.version_runs(out, cap); }
  /** Turns both memtables into level-0 runs; a status. */
  flush(): number { return this.x.flush(); }
  /** Validates and applies a batch image in one call (nothing to log or hand to sinks in
   *  between: a store without either, a log's replay); a status. */
  writeBatch(p: number, len: number, count: number): number { return this.x.write_batch(p, len, count); }
  /** While set, compactions wait (a log replay must not meet damage through them). */
  pauseCompaction(on: boolean): void { this.x.pause_compaction(on ? 1 : 0); }
  /** While set, writes are admitted against the read reserve only (a log replay at open). */
  setReplaying(on: boolean): void { this.x.set_replaying(on ? 1 : 0); }
  /** Runs may live in their files from now on (Node); blocks come through `files`. */
  enableFileBacking(): void { this.x.enable_file_backing(); }
  setBlockCacheBytes(bytes: number): number { return this.x.set_block_cache_bytes(bytes); }
  /** Memory to grow to in one step past 8 MiB of allocations (memory-reserve.ts); 0: none. */
  setMemoryReserve(bytes: number): void { this.x.set_memory_reserve(bytes); }
  /** Bytes of run `id`'s whole file image, 0 when the run is gone. */
  runImageSize(id: number): number { return this.x.run_image_size(id); }
  /** Writes run `id`'s whole file image at `out`; a status. */
  runImage(id: number, out: number): number { return this.x.run_image(id, out); }
  /** The run's file is durable: its data blocks may leave memory; a status. */
  runDetach(id: number): number { return this.x.run_detach(id); }
  /** Where the index starts, from a run file's 48-byte footer at `p` (negative: damaged). */
  runTailOffset(p: number, fileSize: number): number { return this.x.run_tail_offset(p, fileSize); }
  /** A run file's footer (its last 48 bytes), read and checked by the engine's own reader,
   *  the one an import uses; undefined when it is damaged. Uses the argument region. */
  runFooter(footer: Uint8Array, fileSize: number): RunFooter | undefined {
    const p = this.reserve(104); // the footer, then the seven f64 run_footer writes
    this.u8.set(footer.subarray(0, 48), p);
    if (this.x.run_footer(p, fileSize, p + 48) !== Status.OK) return undefined;
    const v = this.view, f = (i: number) => v.getFloat64(p + 48 + 8 * i, true);
    return { indexOffset: f(0), indexLength: f(1), bloomOffset: f(2), bloomLength: f(3), entries: f(4), tombstones: f(5), version: f(6) };
  }
  /** Imports a whole run file image as run `id` of `level`; a status. */
  runImport(p: number, len: number, level: number, id: number): number { return this.x.run_import(p, len, level, id); }
  /** Imports a run file's tail (index, bloom, footer): the run stays in its file; a status. */
  runImportTail(p: number, len: number, fileSize: number, level: number, id: number): number {
    return this.x.run_import_tail(p, len, fileSize, level, id);
  }
  /** After the runs are imported: sequences continue from `seq`; a status. */
  recoverSeq(seq: number): number { return this.x.recover_seq(seq); }
  /** "at offset N: what", from the result region a CORRUPTION status of an import left. */
  corruptionDetail(): string { return this.detail(Status.CORRUPTION); }

  // ---- background compaction (background/): the store's engine, then a worker's ---------

  /** Compactions go to the host's worker (true) or are merged here in slices. */
  bgDelegate(on: boolean): void { this.x.bg_delegate(on ? 1 : 0); }
  /** Bit 1: a job waits (bgJob); bit 2: writes should wait for the job in the worker. */
  bgState(): number { return this.x.bg_state(); }
  /** A copy of the waiting job's image, or undefined when none waits. */
  bgJob(): Uint8Array | undefined {
    for (let cap = 4096; ;) {
      const p = this.reserve(cap);
      const n = this.x.bg_job(p, cap);
      if (n <= cap) return n === 0 ? undefined : this.copyOut(p, n);
      cap = n;
    }
  }
  /** Installs the runs imported at STAGED_LEVEL as job `id`'s output (NOT_FOUND: dropped). */
  bgInstall(id: number): number { return this.x.bg_install(id); }
  /** Job `id` failed with `status` (at run `run`, offset `at`, CORRUPTION_WHAT `what`). */
  bgFail(id: number, status: number, run = 0, at = 0, what = 0): void { this.x.bg_fail(id, status, run, at, what); }
  /** Reserves `n` run numbers; the first. A worker's engine: bgClear drops a job's runs. */
  takeRunIds(n: number): number { return this.x.take_run_ids(n); }
  bgClear(): void { this.x.bg_clear(); }
  /** A worker's engine: merges the job whose inputs it holds; where a block read failed. */
  bgMerge(job: Uint8Array): { status: number; run: number; at: number; what: number } {
    const p = this.reserve(job.length);
    this.u8.set(job, p);
    const status = this.x.bg_merge(p, job.length);
    const v = this.view, r = this.resultPtr;
    return status === Status.OK ? { status, run: 0, at: 0, what: 0 }
      : { status, what: v.getUint32(r, true), run: v.getUint32(r + 4, true), at: v.getFloat64(r + 8, true) };
  }

  resultValuePtr(): number { return this.view.getUint32(this.resultPtr, true); }
  resultValueLen(): number { return this.view.getUint32(this.resultPtr + 4, true); }
  resultSeq(): number { return this.view.getFloat64(this.resultPtr + 8, true); }
}
