// What the two persistences of a Store with `path` share: the interface store.ts uses (`Disk`),
// file names, and every engine call of recovery and of writing runs out, so that a Node
// directory (persistence.ts) and an OPFS directory (persistence-opfs.ts) are recovered by the
// same steps: run_import of each listed run, recover_seq to the manifest's flushedSeq, then
// replay of the logs' write_batch / restore_batch records. No file system here.
import { Status, statusError, MAX_LEVELS, CORRUPTION_WHAT, type Engine } from '../engine/abi.js';
import { StrataError } from '../errors.js';
import { WAL_RESTORE, type WalRecord } from './wal-format.js';
import type { Manifest, CheckpointMark } from './manifest-format.js';

/** A checkpoint whose run files are durable but not yet named by the manifest. */
export interface PendingCheckpoint { seq: number; levels: number[][] }

export interface PersistenceOptions {
  /** fsync every logged write. */
  sync: boolean;
  /** Keep a write-ahead log; false when the changelog is the log (checkpoints only). */
  logged: boolean;
  /** The store has a ttl: its values carry an expiresAt prefix (the manifest records it,
   *  since values of one kind cannot be read as the other). */
  ttl: boolean;
  /** Where runs can live in their files (Node): the block cache's capacity. */
  blockCacheBytes?: number;
  /** The engine's memtable size: run files are written in slices of a quarter of it. */
  memtableBytes?: number;
}

/**
 * The directory side of a Store, as store.ts drives it. The write path (checkWritable,
 * logBatch, logRestore, afterChange) is synchronous everywhere. Node's persistence is
 * synchronous throughout; OPFS's creates and deletes files and writes its manifest in async
 * tasks, so flush, the checkpoint steps and close may return promises, which the Store awaits.
 */
export interface Disk {
  /** Writes go through the write-ahead log (false: the changelog is the log). */
  readonly logged: boolean;
  /** Throws IO_ERROR once an I/O failure has made the store read-only. */
  checkWritable(): void;
  /** REQUIRES: prepare_batch succeeded for this image. Logs it before it is applied and
   *  returns the mark unlog() takes it back with. */
  logBatch(image: Uint8Array, count: number): unknown;
  /** Logs a restore chunk before it is applied; `lastSeq` is the store's last sequence
   *  once it is. Returns the mark unlog() takes it back with. */
  logRestore(image: Uint8Array, count: number, firstSeq: number, lastSeq: number): unknown;
  /** Takes back what was logged from `mark` on: its write failed after it was logged (the
   *  engine or a changelog sink refused it), so the log must not replay it. */
  unlog(mark: unknown): void;
  /** After any engine call that may have flushed or compacted. Never throws: a failure is
   *  kept (checkWritable reports it), since the call has committed its write. */
  afterChange(): void;
  /** Waits for run files written off the store's thread, so their runs leave memory; false
   *  when there were none (a write refused for memory is then refused). */
  drainFiles(): boolean;
  /** With a log: every acknowledged write is durable when it returns (or resolves). */
  flush(): void | Promise<void>;
  /** Checkpoint step 1 (docs/API.md "Checkpoints"): every run of the state is durable. */
  beginCheckpoint(): PendingCheckpoint | Promise<PendingCheckpoint>;
  /** Checkpoint step 3: the manifest names the checkpoint, atomically. */
  commitCheckpoint(pending: PendingCheckpoint, time: number): CheckpointMark | Promise<CheckpointMark>;
  /** Makes everything durable and releases the directory; after an I/O failure it releases
   *  the directory and fails (IO_ERROR), since acknowledged writes may not be durable. */
  close(): void | Promise<void>;
}

/** What persistence.ts and its browser twin export as `Persistence`. */
export interface DiskFactory {
  /** Opens (creating if needed) the directory, takes its lock and recovers its state into
   *  the freshly initialised `engine`. */
  open(dir: string, engine: Engine, options: PersistenceOptions): Disk | Promise<Disk>;
}


/** `000012.run`, `000012.wal`: file numbers are decimal, zero-padded to six digits. */
export const fileName = (n: number, ext: string): string => `${String(n).padStart(6, '0')}.${ext}`;

/** The number of a file named by fileName with extension `ext`, or undefined. */
export const numbered = (name: string, ext: string): number | undefined => {
  const m = new RegExp(`^(\\d{6,})\\.${ext}$`).exec(name);
  return m ? Number(m[1]) : undefined;
};

/** A manifest made with the other ttl setting cannot be opened: its values read differently. */
export function checkTtl(manifest: Manifest, ttl: boolean, dir: string): void {
  if ((manifest.ttl ?? false) === ttl) return;
  throw new StrataError('INVALID_ARGUMENT', manifest.ttl
    ? `${dir} holds a store with ttlMs (values carry an expiry): open it with ttlMs`
    : `${dir} holds a store without ttlMs: it cannot be opened with ttlMs`);
}

/** A manifest listing more levels than the engine has is damage (the engine would refuse the
 *  import as a bad argument). */
export function checkLevels(manifest: Manifest, manifestFile: string): void {
  if (manifest.levels.length > MAX_LEVELS) {
    throw new StrataError('CORRUPTION', `${manifestFile}: ${manifest.levels.length} levels, more than the engine's ${MAX_LEVELS}`);
  }
}

/** Imports the run file image at (p, len) of linear memory as run `id` of `level`; with
 *  `fileSize`, (p, len) is only the file's tail and the run is file-backed (run_import_tail).
 *  A damaged image is CORRUPTION naming `file` and the offset the engine reports. */
export function importRunImage(e: Engine, p: number, len: number, level: number, id: number, file: string, fileSize?: number): void {
  const st = fileSize === undefined ? e.runImport(p, len, level, id) : e.runImportTail(p, len, fileSize, level, id);
  if (st === Status.CORRUPTION) throw new StrataError('CORRUPTION', `${file} ${e.corruptionDetail()}`);
  if (st !== Status.OK) throw statusError(st, `import of ${file}`, e);
}

/** A run file's footer is its last 48 bytes (docs/FORMAT.md, "Footer"). */
const FOOTER_BYTES = 48;

/**
 * Reads `len` bytes at `offset` of `file` into u8[dst …], as env.read_block wants it, with
 * `read(file, u8, pos, n, at)`: it reads up to n bytes at file offset `at` into u8[pos …] and
 * returns how many (0 at the end of the file). OK; CORRUPTION for a file shorter than its
 * index says; IO_ERROR when a read throws. Node reads with readSync, OPFS through a sync
 * access handle. On every block-cache miss: `read` is a module function, not a closure, and
 * takes u8 whole, so Node's read allocates nothing (a miss costs ~2 µs).
 */
export function readFully<F>(file: F, u8: Uint8Array, dst: number, len: number, offset: number,
                             read: (file: F, u8: Uint8Array, pos: number, n: number, at: number) => number): number {
  try {
    for (let done = 0; done < len;) {
      const n = read(file, u8, dst + done, len - done, offset + done);
      if (!(n > 0)) return Status.CORRUPTION;
      done += n;
    }
    return Status.OK;
  } catch {
    return Status.IO_ERROR;
  }
}

/** Imports run `id` of `level` file-backed from the tail of `file` (`size` bytes): its
 *  footer, then its index and bloom, read with `readBlock` (the persistence's
 *  env.read_block); data blocks stay in the file for the block cache. */
export function importRunTail(e: Engine, id: number, level: number, file: string, size: number,
                              readBlock: (offset: number, len: number, dst: number) => number): void {
  const damaged = (at: number) => new StrataError('CORRUPTION', `${file} at offset ${at}: ${CORRUPTION_WHAT[1]}`);
  if (size < FOOTER_BYTES) throw damaged(0);
  const readAt = (p: number, len: number, at: number) => {
    const st = readBlock(at, len, p);
    if (st === Status.IO_ERROR) throw new StrataError('IO_ERROR', `read of ${file} failed`);
    if (st !== Status.OK) throw damaged(at);
  };
  const footer = e.reserve(FOOTER_BYTES);
  readAt(footer, FOOTER_BYTES, size - FOOTER_BYTES);
  const indexOffset = e.runTailOffset(footer, size);
  if (indexOffset < 0) throw damaged(size - FOOTER_BYTES);
  const p = e.reserve(size - indexOffset);
  readAt(p, size - indexOffset, indexOffset);
  importRunImage(e, p, size - indexOffset, level, id, file, size);
}

/** After the runs are imported: the engine's sequences continue from the manifest's. */
export function recoverSeq(e: Engine, m: Manifest, manifestFile: string): void {
  const st = e.recoverSeq(m.flushedSeq);
  if (st !== Status.OK) throw new StrataError('CORRUPTION', `${manifestFile}: bad flushedSeq ${m.flushedSeq}`);
}

/** Applies one log record at recovery: batches at or below the engine's sequence are in the
 *  runs already and skipped (restore_batch skips such records itself); a gap is CORRUPTION. */
export function replayWalRecord(e: Engine, file: string, r: WalRecord): void {
  const last = e.lastSeq();
  if (r.type !== WAL_RESTORE) {
    if (r.firstSeq + r.count - 1 <= last) return; // already in the run files
    if (r.firstSeq !== last + 1) {
      throw new StrataError('CORRUPTION', `${file}: log jumps from sequence ${last} to ${r.firstSeq}`);
    }
  }
  const p = e.reserve(r.image.length);
  e.u8.set(r.image, p);
  // Admitted once already: a replay keeps only the read reserve (assembly/admission.ts).
  e.setReplaying(true);
  let st: number;
  try {
    st = r.type === WAL_RESTORE ? e.restoreBatch(p, r.image.length, r.count).status : e.writeBatch(p, r.image.length, r.count);
  } finally {
    e.setReplaying(false);
  }
  if (st === Status.OUT_OF_MEMORY) throw statusError(st, `replay of ${file}`);
  if (st !== Status.OK) throw new StrataError('CORRUPTION', `${file}: a logged write the engine refuses (status ${st})`);
}

/** The engine's current runs as the manifest lists them. */
export function currentLevels(e: Engine): number[][] {
  let cap = 256;
  for (;;) {
    const out = e.reserve(cap * 8);
    const n = e.versionRuns(out, cap);
    if (n > cap) { cap = n; continue; }
    const levels: number[][] = Array.from({ length: MAX_LEVELS }, () => []);
    const v = e.view;
    for (let i = 0; i < n; i++) levels[v.getUint32(out + i * 8, true)].push(v.getUint32(out + i * 8 + 4, true));
    return levels;
  }
}

/** The file image of live run `id`, written into the argument region: valid until the next
 *  engine call. Undefined when the run is no longer live (compacted away). */
export function runImage(e: Engine, id: number): Uint8Array | undefined {
  const size = e.runImageSize(id);
  if (size === 0) return undefined;
  const p = e.reserve(size);
  const st = e.runImage(id, p);
  if (st === Status.NOT_FOUND) return undefined;
  if (st !== Status.OK) throw statusError(st, `run ${id} image`);
  return e.u8.subarray(p, p + size);
}

/** The first I/O failure of a store's directory: from then on writes are refused until the
 *  store is reopened (the log's tail is in an unknown state). */
export class IoFailure {
  error: StrataError | undefined;

  /** Throws IO_ERROR once a failure has happened. */
  check(): void {
    if (this.error) {
      throw new StrataError('IO_ERROR', `the store is read-only after an I/O failure (${this.error.message}); reopen it`, { cause: this.error });
    }
  }

  /** Keeps `err` when it is the first I/O failure. */
  record(err: unknown): void {
    if (err instanceof StrataError && err.code === 'IO_ERROR') this.error ??= err;
  }

  /** Runs `fn`, keeping an I/O failure it throws. */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.record(err);
      throw err;
    }
  }
}
