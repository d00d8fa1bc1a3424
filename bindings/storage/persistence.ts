// The on-disk side of a Store opened with `path` (docs/FORMAT.md): recovery at open, the
// write-ahead log on every write, and writing run files and the manifest whenever the
// engine's set of runs changes.
//
// Write path: the engine validates and reserves memory for a batch (prepare_batch), the
// batch is appended to the log, then applied; so the log never holds a write the engine
// refused, and an acknowledged write is in the log (fsynced first with `sync`).
// Flush path: after any engine call the engine's version stamp is compared; when runs came
// or went, new runs are written as files and fsynced, the manifest is replaced atomically,
// and only then are obsolete run files and fully flushed logs deleted. The writes are file
// tasks (file-tasks.ts): run here as submitted, or by the file worker while the store goes
// on, each step that needs them durable taken once their tickets are done.
// Larger than memory: once a run's file is durable the engine is told to detach it
// (run_detach): its data blocks leave linear memory and are read back from the file through
// the block cache (env.read_block). Runs imported at open are file-backed from the start:
// only their index and bloom are read. Each such file keeps an open descriptor
// (run-file-descriptors.ts) until the engine frees the run (env.run_freed), so deleting a file the manifest no longer lists is
// safe whatever iterators or snapshots still read it: the descriptor keeps it readable.
// INVARIANT: every run the manifest lists is durable in its file; every write with a
// sequence above the manifest's flushedSeq that was acknowledged is in a log numbered at or
// above the manifest's `log`.
//
// Without a log (`logged: false`, a store whose changelog is its log, docs/FORMAT.md
// "Checkpoints"): writes touch no file; the directory changes only at a checkpoint, whose
// manifest lists the runs holding exactly the writes up to its sequence. Reopening loads
// those runs and the changelog supplies the rest.
import { mkdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { Status, STAGED_LEVEL, statusError, type Engine } from '../engine/abi.js';
import { StrataError } from '../errors.js';
import { io, ioError } from './io-error.js';
import { acquireLock } from './lock-file.js';
import { writeManifest, syncDir, type CheckpointMark } from './manifest.js';
import { CacheSizer } from './cache-size.js';
import { RunFileDescriptors } from './run-file-descriptors.js';
import { WalWriter, WAL_BATCH, WAL_RESTORE, type LogMark } from './wal.js';
import { RunFileWriter, sliceBytesFor, RUN_BYTES_PER_BYTE } from './run-file-writer.js';
import { InlineFileTasks, removeFile as remove, TASK_SLICE_BYTES, BEHIND_MEMTABLES, MIN_SLICES_BEHIND, BACKLOG_MEMTABLES, type FileTasks } from './file-tasks.js';
import { recoverDirectory } from './recovery.js';
import { encodeManifest } from './manifest-format.js';
import {
  fileName, numbered, currentLevels, IoFailure, type Disk, type DiskFactory, type PendingCheckpoint, type PersistenceOptions,
} from './persistence-core.js';

export type { PendingCheckpoint, PersistenceOptions } from './persistence-core.js';

/** A state of the engine to make durable: its runs, the sequence they hold up to, and the
 *  first log recovery must replay. Its manifest is written once all its run files are. */
interface Target { levels: number[][]; flushedSeq: number; log: number }

/** A target whose manifest is submitted (its ticket), and the run files it stops naming:
 *  deleted, with the logs it covers, once its ticket is done. */
interface Commit { target: Target; ticket: number; unlisted: number[] }

export class Persistence implements Disk {
  /** The log writes go to; undefined without a log. */
  private wal: WalWriter | undefined;
  /** Number of the log in use, or that the next log would take. */
  private logNumber = 0;
  /** The last checkpoint committed, kept in every manifest written. */
  lastCheckpoint: CheckpointMark | undefined;
  private stamp = -1;
  /** Run file numbers that are durable in the directory. */
  private readonly onDisk = new Set<number>();
  /** Open descriptors of the files of file-backed runs, until the engine frees the run: the
   *  engine's reader of run files (env.read_block). */
  private readonly runFiles: RunFileDescriptors;
  /** The block cache's capacity: blockCacheBytes, or sized from these files (cache-size.ts). */
  private readonly cache: CacheSizer;
  /** The newest engine state not yet in the manifest, and the run file being written for it. */
  private target: Target | undefined;
  /** The state changed since the target was taken: the next target is taken at its commit. */
  private behind = false;
  private writer: RunFileWriter | undefined;
  /** A manifest submitted and not yet known durable. */
  private committing: Commit | undefined;
  /** Where run files and manifests are written (file-tasks.ts): on this thread until a
   *  background worker takes them (useFileTasks). */
  private tasks: FileTasks = new InlineFileTasks();
  /** Logs whose every record is in runs: deleted once a manifest naming a later log is durable. */
  private retiredLogs: WalWriter[] = [];
  /** Files no durable manifest needs any more, deleted a few per call. */
  private doomed: string[] = [];
  /** Bytes of the target's run files still to write (runs held in memory meanwhile), and
   *  how many may wait before a call writes them all. */
  private backlog = 0;
  private backlogCliff: number;
  /** Log bytes after which the next new target starts a new log. */
  private readonly logRotateBytes: number;
  /** Bytes logged by the current store call (logBatch, logRestore). */
  private callBytes = 0;
  private releaseLock: () => void;
  /** The first I/O failure: from then on writes are refused until reopen. */
  private readonly failure = new IoFailure();

  private readonly sync: boolean;
  private sliceBytes: number;
  private behindBytes = Infinity; // queued for the file worker before a call waits for it
  private readonly memtableBytes: number;
  readonly logged: boolean;
  private readonly ttl: boolean;

  private constructor(readonly dir: string, private readonly engine: Engine, options: PersistenceOptions, releaseLock: () => void) {
    this.sync = options.sync;
    this.sliceBytes = sliceBytesFor(options.memtableBytes ?? 4 << 20);
    this.memtableBytes = options.memtableBytes ?? 4 << 20;
    this.backlogCliff = Math.max(256 << 20, 4 * this.memtableBytes);
    this.logRotateBytes = options.memtableBytes ?? 4 << 20;
    this.logged = options.logged;
    this.ttl = options.ttl;
    this.releaseLock = releaseLock;
    this.cache = new CacheSizer(engine, options.blockCacheBytes, totalmem());
    this.runFiles = new RunFileDescriptors(engine, dir);
  }

  /** Opens (creating if needed) the directory, takes its lock and recovers its state into
   *  the freshly initialised `engine`. */
  static open(dir: string, engine: Engine, options: PersistenceOptions): Persistence {
    io('create directory', dir, () => mkdirSync(dir, { recursive: true }));
    const release = acquireLock(dir);
    const p = new Persistence(dir, engine, options, release);
    engine.files = p.runFiles;
    engine.enableFileBacking();
    try {
      p.cache.resize([], p.fileSize);
      p.recover();
      p.cache.resize([...p.onDisk], p.fileSize);
    } catch (err) {
      p.runFiles.closeAll();
      release();
      throw err;
    }
    return p;
  }

  /** The size of run `run`'s open file, for the cache's default capacity (CacheSizer). */
  private readonly fileSize = (run: number): number | undefined => this.runFiles.size(run);

  // ---- a background compaction's files (background/background.ts, BackgroundDisk) --------

  durableRunBytes(id: number): number | undefined { return this.onDisk.has(id) ? this.fileSize(id) : undefined; }
  stageRunFile(id: number): void {
    this.runFiles.importTail(id, STAGED_LEVEL);
  }
  adoptRunFiles(ids: number[]): void { for (const id of ids) this.onDisk.add(id); }
  discardRunFiles(ids: number[]): void {
    for (const id of ids) try { remove(this.dir, fileName(id, 'run')); } catch { /* a stray: deleted at the next open */ }
  }
  recordFailure(err: StrataError): void { this.failure.record(err); }

  /** From now on run files and manifests are written by `tasks` (a worker's): this thread
   *  submits a smaller slice a call, a copy, and goes on. REQUIRES: nothing is in flight
   *  (right after open, whose recovery wrote everything). */
  useFileTasks(tasks: FileTasks): void {
    if (this.writer || this.committing) throw new Error('strata-kv: file tasks switched mid-write (bug)');
    this.tasks.close();
    this.tasks = tasks;
    this.sliceBytes = Math.min(this.sliceBytes, TASK_SLICE_BYTES);
    // Writes no longer pay for their run files as they go: a backlog of a few memtables
    // waits for the disk (a drain, then the manifest), or the disk could fall behind for
    // good, the logs growing and no manifest committed.
    this.behindBytes = Math.max(BEHIND_MEMTABLES * this.memtableBytes, MIN_SLICES_BEHIND * this.sliceBytes);
    this.backlogCliff = Math.max(BACKLOG_MEMTABLES * this.memtableBytes, this.behindBytes);
  }

  // ---- the write path ------------------------------------------------------------------

  /** REQUIRES: prepare_batch succeeded for this image. Logs it before it is applied; the
   *  mark returned takes it back (unlog) if the write then fails. */
  logBatch(image: Uint8Array, count: number): LogMark {
    this.checkWritable();
    const wal = this.wal!;
    const first = this.engine.lastSeq() + 1;
    const mark = this.failure.guard(() => wal.append(WAL_BATCH, first, count, first + count - 1, image));
    this.callBytes += image.length;
    return mark;
  }

  /** Logs a restore chunk before it is applied; `lastSeq` is the store's last sequence once
   *  it is (replaying a restore record skips what is already in, so logging it whole is
   *  safe). */
  logRestore(image: Uint8Array, count: number, firstSeq: number, lastSeq: number): LogMark {
    this.checkWritable();
    const wal = this.wal!;
    const mark = this.failure.guard(() => wal.append(WAL_RESTORE, firstSeq, count, lastSeq, image));
    this.callBytes += image.length;
    return mark;
  }

  /** Takes back the records logged from `mark` on: the write they log failed after all. A
   *  log that cannot be cut back makes the store read-only (FORMAT.md says what a reopen may
   *  then replay). */
  unlog(mark: LogMark): void {
    const wal = this.wal!;
    this.callBytes = 0;
    wal.undo(mark);
    if (wal.torn) this.failure.record(new StrataError('IO_ERROR', `${wal.file}: a refused write could not be cut off the log`));
  }

  /** After any engine call that may have flushed or compacted: with a log, writes about
   *  sliceBytes more of the new run files (so logs can go, and runs can leave memory);
   *  without one, files change only at checkpoints. Never throws: the call that drives it
   *  has committed its write (logged and applied), so a failure here is a background error,
   *  kept and reported by the next write, flush, checkpoint or close (RocksDB's bg error). */
  afterChange(): void {
    if (!this.logged || this.failure.error) return;
    const written = this.callBytes;
    this.callBytes = 0;
    try {
      const changed = this.engine.versionStamp() !== this.stamp;
      if (changed) this.capture();
      if (this.backlog > this.backlogCliff) { this.advance(Infinity); this.removeDoomed(Infinity); return; }
      // A small call that flushed or compacted (the state changed) has paid its pause.
      if (changed && written < this.sliceBytes) return;
      // A slice, plus what this call's own bytes will cost in run files: a large batch must
      // not outrun the writing. (A compaction's output arrives all at once when it ends;
      // small calls drain it a slice each, about a hundred of them for 88 MiB.)
      const large = written >= this.sliceBytes;
      if (this.target || this.committing) this.advance(this.sliceBytes + RUN_BYTES_PER_BYTE * written, large);
      if (large) this.removeDoomed(Infinity);
      else if (!this.target && this.doomed.length > 0) this.removeDoomed(1);
    } catch (err) {
      this.failure.record(err instanceof StrataError && err.code === 'IO_ERROR' ? err
        : new StrataError('IO_ERROR', `writing run files failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
    }
  }

  /** Tasks handed off this thread so far (0 while they run on it). */
  fileTaskStats(): { tasks: number; bytes: number } { return this.tasks.submitted; }

  /** Waits for the run files being written off this thread, so their runs leave memory
   *  (a write refused for memory tries again after). False when none were. */
  drainFiles(): boolean {
    if (!this.logged || this.failure.error || !this.tasks.offThread) return false;
    if (!this.writer && !this.committing && this.backlog === 0) return false;
    this.failure.guard(() => this.persist());
    return true;
  }

  /** With a log: makes every acknowledged write durable (the engine has flushed the
   *  memtable first). Without one durability comes from checkpoints, so this does nothing. */
  flush(): void {
    if (!this.logged) return;
    this.checkWritable();
    // Every log a durable manifest does not cover: persist() may just have sealed one.
    this.failure.guard(() => { this.persist(); for (const w of this.retiredLogs) w.flush(); this.wal!.flush(); });
  }

  // ---- checkpoints -----------------------------------------------------------------------
  // Step 1 of Store.checkpoint (the engine has just flushed its memtable): every current run
  // is durable in its file, and with a log so is the log. Nothing names the new files yet,
  // so a crash here leaves the previous checkpoint in force (recovery deletes the strays).

  beginCheckpoint(): PendingCheckpoint {
    this.checkWritable();
    return this.failure.guard(() => {
      if (this.logged) this.persist(); // with a log, runs are written only through targets
      const levels = currentLevels(this.engine);
      for (const id of levels.flat()) if (!this.onDisk.has(id)) this.writeRun(id);
      this.wal?.flush();
      return { seq: this.engine.flushedSeq(), levels };
    });
  }

  /** Step 3, after the sinks are durable through `pending.seq`: the manifest names the
   *  checkpoint (atomically), then run files it no longer needs are deleted. */
  commitCheckpoint(pending: PendingCheckpoint, time: number): CheckpointMark {
    this.checkWritable();
    const mark = { seq: pending.seq, time };
    this.failure.guard(() => {
      this.lastCheckpoint = mark;
      if (this.logged) {
        this.persist(); // with a log the manifest always lists the current runs
        return;
      }
      const x = this.engine;
      writeManifest(this.dir, { flushedSeq: pending.seq, nextRun: x.nextRunId(), log: this.logNumber, levels: pending.levels, checkpoint: mark, ttl: this.ttl || undefined });
      this.removeRunsExcept(new Set(pending.levels.flat()));
      this.cache.resize(pending.levels.flat(), this.fileSize);
      this.removeDoomed(Infinity);
    });
    return mark;
  }

  /** Makes every acknowledged write durable and releases the directory. After an I/O
   *  failure it still writes out what the log buffered (best effort: a reopen recovers what
   *  the log holds) and then fails, since an fsync that succeeds after a failed one proves
   *  nothing (the kernel may have dropped the pages that failed): a close that resolves has
   *  lost nothing. Every descriptor is closed and the LOCK released either way. */
  close(): void {
    let failure: StrataError | undefined = this.failure.error;
    try {
      if (failure === undefined) this.flush();
      else {
        for (const w of new Set([...this.retiredLogs, this.wal])) { // every record no manifest covers, each tried
          try { if (w && !w.torn) w.flush(); } catch (err) { failure ??= ioError('flush', w!.file, err); }
        }
      }
    } catch (err) {
      failure ??= ioError('close', this.dir, err);
    } finally {
      // Tasks still running write through descriptors about to close.
      try { this.tasks.close(); } catch (err) { failure ??= err instanceof StrataError ? err : ioError('close', this.dir, err); }
      try { this.writer?.abandon(); } catch { /* its file is a stray, deleted at the next open */ }
      this.writer = undefined;
      for (const w of [this.wal, ...this.retiredLogs]) {
        try { w?.discard(); } catch { /* closing is best effort after a failure */ }
      }
      this.runFiles.closeAll();
      this.releaseLock();
    }
    if (failure) {
      throw new StrataError('IO_ERROR', `close could not make every acknowledged write durable: ${failure.message}`, { cause: failure });
    }
  }

  checkWritable(): void { this.failure.check(); }

  // ---- run files and the manifest ------------------------------------------------------

  /** Makes the engine's current state durable now: every run file, then the manifest. */
  private persist(): void {
    this.capture();
    this.advance(Infinity);
    this.removeDoomed(Infinity);
    this.tasks.waitAll(); // flush() and compact() resolve with the obsolete files gone too
  }

  /** Takes the engine's current state as the target. When every logged write is in runs, or
   *  the log holds about a memtable of them, writes go to a new log from now on; a retired
   *  log goes once a durable target covers its last write. (Flushes run in slices, so
   *  writes newer than flushedSeq are nearly always logged: waiting for every logged write
   *  to be in runs would let one log grow for as long as writes continue.) */
  private capture(): void {
    const x = this.engine;
    const stamp = x.versionStamp();
    const levels = currentLevels(this.engine);
    const flushedSeq = x.flushedSeq();
    const wal = this.wal;
    if (wal && wal.lastSeq > 0 && (flushedSeq >= wal.lastSeq || wal.bytes >= this.logRotateBytes)) {
      // Written out even when its records are all in runs: those runs may never reach their
      // files (a failing disk), and until a manifest covers them the log is their only copy.
      this.retiredLogs.push(wal);
      wal.seal();
      this.logNumber = wal.number + 1;
      this.wal = new WalWriter(join(this.dir, fileName(this.logNumber, 'wal')), this.logNumber, this.sync);
    }
    this.stamp = stamp;
    let backlog = 0;
    for (const id of levels.flat()) if (!this.onDisk.has(id)) backlog += x.runImageSize(id);
    if (this.writer && !this.onDisk.has(this.writer.id)) backlog -= this.writer.offset;
    this.backlog = Math.max(0, backlog);
    // A target stays until its manifest is submitted, and the newest state is taken then:
    // replaced at every change, a target could stay unfinished for as long as runs appear
    // faster than their files are written (off this thread), and no manifest would commit.
    if (this.target) { this.behind = true; return; }
    this.behind = false;
    // Recovery replays from the oldest log holding a write above flushedSeq.
    const oldestNeeded = this.retiredLogs.find((w) => w.lastSeq > flushedSeq);
    this.target = { levels, flushedSeq, log: oldestNeeded ? oldestNeeded.number : this.logNumber };
  }

  /** Writes about `budget` bytes of the target's run files (Infinity: all of them, and
   *  waits until they and the manifest are durable); once all are durable, writes its
   *  manifest, and once that is durable deletes what it no longer needs. */
  private advance(budget: number, commitNow = budget === Infinity): void {
    const wait = budget === Infinity;
    let spent = 0;
    for (;;) {
      if (this.committing && !this.committed(wait)) return;
      const t = this.target;
      if (!t) return;
      if (this.writer?.submitted) {
        const w = this.writer;
        if (wait) w.waitDurable();
        else if (!w.durable()) return;
        this.writer = undefined;
        this.fileDone(w);
        continue;
      }
      if (!this.writer) {
        const id = t.levels.flat().find((r) => !this.onDisk.has(r));
        if (id === undefined) {
          // After a slice the manifest waits for the next call, unless this call is long
          // anyway (a large batch, a drain): one that always brought a new target would
          // otherwise never write a manifest.
          if (spent === 0 || commitNow) { this.commit(t); continue; }
          return;
        }
        if (spent >= budget) return;
        this.writer = new RunFileWriter(this.engine, this.tasks, id, join(this.dir, fileName(id, 'run')));
      }
      this.tasks.waitBelow(this.behindBytes); // a disk slower than the writes slows them
      const w = this.writer;
      const r = w.step(Math.min(this.sliceBytes, Math.max(4096, budget - spent)));
      if (r === 'gone') {
        // Compacted away since the target was taken: a newer state is the target now. (A
        // run still live that cannot be written would be taken again and again.)
        w.abandon();
        if (currentLevels(this.engine).flat().includes(w.id)) throw new Error(`strata-kv: run ${w.id} is live but cannot be written (bug)`);
        this.writer = undefined;
        this.target = undefined;
        this.capture();
        continue;
      }
      spent += w.lastBytes;
      this.backlog = Math.max(0, this.backlog - w.lastBytes);
      if (r === 'done') continue; // durable at once when written on this thread
      if (spent >= budget) return;
    }
  }

  /** A run file is durable: the engine may read the run from it from now on. */
  private fileDone(w: RunFileWriter): void {
    this.onDisk.add(w.id);
    this.runFiles.keep(w.id, w.fd);
    const st = this.engine.runDetach(w.id);
    if (st !== Status.OK && st !== Status.NOT_FOUND) throw statusError(st, `detach of run ${w.id}`);
  }

  /** Every run file of `t` is durable: its manifest is submitted, naming them. */
  private commit(t: Target): void {
    const x = this.engine;
    // `logged` only with a log: recovery commits here too, and a store on its changelog has none.
    const text = encodeManifest({ flushedSeq: t.flushedSeq, nextRun: x.nextRunId(), log: t.log, levels: t.levels, checkpoint: this.lastCheckpoint, ttl: this.ttl || undefined, logged: this.logged || undefined });
    // Not a run of the state now either: `t` may be older than runs a background job
    // installed since, whose files are durable but named by the next manifest only.
    const listed = new Set([...t.levels.flat(), ...currentLevels(x).flat()]);
    const unlisted = [...this.onDisk].filter((id) => !listed.has(id));
    this.target = undefined;
    this.committing = { target: t, ticket: this.tasks.submit({ op: 'manifest', dir: this.dir, text }), unlisted };
    if (this.behind) this.capture();
  }

  /** Whether no manifest is in flight any more (`wait`: blocks until so). Once the one
   *  submitted is durable, the files and logs it no longer needs go. */
  private committed(wait: boolean): boolean {
    const c = this.committing!;
    if (wait) this.tasks.waitFor(c.ticket);
    else if (this.tasks.done() < c.ticket) return false;
    this.committing = undefined;
    const t = c.target;
    for (const id of c.unlisted) if (this.onDisk.delete(id)) this.doomed.push(fileName(id, 'run'));
    this.cache.resize(t.levels.flat(), this.fileSize);
    const kept: WalWriter[] = [];
    for (const old of this.retiredLogs) {
      if (old.lastSeq > t.flushedSeq) { kept.push(old); continue; } // still needed for recovery
      old.discard();
      this.doomed.push(fileName(old.number, 'wal'));
    }
    this.retiredLogs = kept;
    return true;
  }

  /** Deletes the run files not in `keep`: only once a manifest that does not list them is durable. */
  private removeRunsExcept(keep: Set<number>): void {
    for (const id of [...this.onDisk]) if (!keep.has(id) && this.onDisk.delete(id)) this.doomed.push(fileName(id, 'run'));
  }

  /** Deletes up to `count` files that no durable manifest needs (all: the file worker's),
   *  a crash before leaving them to recovery (unlisted run files, logs no longer needed). */
  private removeDoomed(count: number): void {
    const n = this.tasks.offThread ? Infinity : count;
    for (let i = 0; i < n && this.doomed.length > 0; i++) this.tasks.submit({ op: 'delete', dir: this.dir, name: this.doomed.shift()! });
  }

  /** Writes run `id` to its file durably in one go (checkpoints without a log), then lets
   *  the engine read it from there. */
  private writeRun(id: number): void {
    const w = new RunFileWriter(this.engine, this.tasks, id, join(this.dir, fileName(id, 'run')));
    let ok = false;
    try {
      ok = w.writeAll();
    } finally {
      if (!ok) w.abandon();
    }
    if (!ok) throw new Error(`strata-kv: run ${id} is not live (bug)`);
    this.fileDone(w);
  }

  // ---- recovery --------------------------------------------------------------------------

  private recover(): void {
    const { names, logs, firstLog, checkpoint } = recoverDirectory(this.dir, this.engine, this.runFiles, this.onDisk, this.ttl);
    this.logNumber = Math.max(firstLog, ...logs, 0) + 1;
    this.lastCheckpoint = checkpoint;
    if (this.logged) this.wal = new WalWriter(join(this.dir, fileName(this.logNumber, 'wal')), this.logNumber, this.sync);
    syncDir(this.dir);
    this.persist();
    for (const n of logs) remove(this.dir, fileName(n, 'wal'));
    for (const name of names) {
      const id = numbered(name, 'run');
      if (id !== undefined && !this.onDisk.has(id)) remove(this.dir, name); // never listed: a crash's leftover
    }
    remove(this.dir, 'MANIFEST.tmp');
  }
}

Persistence satisfies DiskFactory;
