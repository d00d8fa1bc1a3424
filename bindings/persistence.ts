// The on-disk side of a Store opened with `path` (docs/FORMAT.md): recovery at open, the
// write-ahead log on every write, and writing run files and the manifest whenever the
// engine's set of runs changes.
//
// Write path: the engine validates and reserves memory for a batch (prepare_batch), the
// batch is appended to the log, then applied; so the log never holds a write the engine
// refused, and an acknowledged write is in the log (fsynced first with `sync`).
// Flush path: after any engine call the engine's version stamp is compared; when runs came
// or went, new runs are written as files and fsynced, the manifest is replaced atomically,
// and only then are obsolete run files and fully flushed logs deleted. Runs live in linear
// memory, so no reader ever needs a file: deleting one once the manifest no longer lists it
// is safe whatever iterators or snapshots are open.
// INVARIANT: every run the manifest lists is durable in its file; every write with a
// sequence above the manifest's flushedSeq that was acknowledged is in a log numbered at or
// above the manifest's `log`.
//
// Without a log (`logged: false`, a store whose changelog is its log, docs/FORMAT.md
// "Checkpoints"): writes touch no file; the directory changes only at a checkpoint, whose
// manifest lists the runs holding exactly the writes up to its sequence. Reopening loads
// those runs and the changelog supplies the rest.
import { mkdirSync, readdirSync, readFileSync, openSync, writeSync, fsyncSync, closeSync, unlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Status, statusError, type Engine } from './abi.js';
import { StrataError } from './errors.js';
import { io } from './io-error.js';
import { acquireLock } from './lock-file.js';
import { readManifest, writeManifest, syncDir, type Manifest, type CheckpointMark } from './manifest.js';
import { WalWriter, replayWal, WAL_BATCH, WAL_RESTORE } from './wal.js';
import {
  fileName, numbered, checkTtl, importRunImage, recoverSeq, replayWalRecord, currentLevels, runImage,
  IoFailure, type Disk, type DiskFactory, type PendingCheckpoint, type PersistenceOptions,
} from './persistence-core.js';

export type { PendingCheckpoint, PersistenceOptions } from './persistence-core.js';

/** Deletes a file; one already gone is fine (recovery may meet files persist removed). */
function remove(dir: string, name: string): void {
  io('delete', join(dir, name), () => {
    try { unlinkSync(join(dir, name)); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
  });
}

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
  private releaseLock: () => void;
  /** The first I/O failure: from then on writes are refused until reopen. */
  private readonly failure = new IoFailure();

  private readonly sync: boolean;
  readonly logged: boolean;
  private readonly ttl: boolean;

  private constructor(readonly dir: string, private readonly engine: Engine, options: PersistenceOptions, releaseLock: () => void) {
    this.sync = options.sync;
    this.logged = options.logged;
    this.ttl = options.ttl;
    this.releaseLock = releaseLock;
  }

  /** Opens (creating if needed) the directory, takes its lock and recovers its state into
   *  the freshly initialised `engine`. */
  static open(dir: string, engine: Engine, options: PersistenceOptions): Persistence {
    io('create directory', dir, () => mkdirSync(dir, { recursive: true }));
    const release = acquireLock(dir);
    const p = new Persistence(dir, engine, options, release);
    try {
      p.recover();
    } catch (err) {
      release();
      throw err;
    }
    return p;
  }

  // ---- the write path ------------------------------------------------------------------

  /** REQUIRES: prepare_batch succeeded for this image. Logs it before it is applied. */
  logBatch(image: Uint8Array, count: number): void {
    this.checkWritable();
    const wal = this.wal!;
    const first = this.engine.x.last_seq() + 1;
    this.failure.guard(() => wal.append(WAL_BATCH, first, count, first + count - 1, image));
  }

  /** Logs a restore chunk that the engine has just applied. */
  logRestore(image: Uint8Array, count: number, firstSeq: number): void {
    this.checkWritable();
    const wal = this.wal!;
    this.failure.guard(() => wal.append(WAL_RESTORE, firstSeq, count, this.engine.x.last_seq(), image));
  }

  /** After any engine call that may have flushed or compacted: with a log, puts new runs on
   *  disk (so logs can go); without one, files change only at checkpoints. */
  afterChange(): void {
    if (this.logged && this.engine.x.version_stamp() !== this.stamp) this.failure.guard(() => this.persist());
  }

  /** With a log: makes every acknowledged write durable (the engine has flushed the
   *  memtable first). Without one durability comes from checkpoints, so this does nothing. */
  flush(): void {
    if (!this.logged) return;
    this.checkWritable();
    this.failure.guard(() => { this.persist(); this.wal!.flush(); });
  }

  // ---- checkpoints -----------------------------------------------------------------------
  // Step 1 of Store.checkpoint (the engine has just flushed its memtable): every current run
  // is durable in its file, and with a log so is the log. Nothing names the new files yet,
  // so a crash here leaves the previous checkpoint in force (recovery deletes the strays).

  beginCheckpoint(): PendingCheckpoint {
    this.checkWritable();
    return this.failure.guard(() => {
      const levels = currentLevels(this.engine);
      for (const id of levels.flat()) if (!this.onDisk.has(id)) this.writeRun(id);
      this.wal?.flush();
      return { seq: this.engine.x.flushed_seq(), levels };
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
        this.stamp = -1; // with a log the manifest always lists the current runs
        this.persist();
        return;
      }
      const x = this.engine.x;
      writeManifest(this.dir, { flushedSeq: pending.seq, nextRun: x.next_run_id(), log: this.logNumber, levels: pending.levels, checkpoint: mark, ttl: this.ttl || undefined });
      this.removeRunsExcept(new Set(pending.levels.flat()));
    });
    return mark;
  }

  close(): void {
    try {
      if (this.failure.error === undefined) this.flush();
    } finally {
      try { this.wal?.discard(); } catch { /* closing is best effort after a failure */ }
      this.releaseLock();
    }
  }

  checkWritable(): void { this.failure.check(); }

  // ---- run files and the manifest ------------------------------------------------------

  private persist(): void {
    const x = this.engine.x;
    const stamp = x.version_stamp();
    const levels = currentLevels(this.engine);
    const live = new Set(levels.flat());
    for (const id of live) if (!this.onDisk.has(id)) this.writeRun(id);
    const flushedSeq = x.flushed_seq();
    let oldLog: WalWriter | undefined;
    const wal = this.wal;
    if (wal && flushedSeq >= wal.lastSeq && wal.lastSeq > 0) {
      // Everything logged is in runs now: writes go to a new log, the old one goes.
      oldLog = wal;
      this.logNumber = wal.number + 1;
      this.wal = new WalWriter(join(this.dir, fileName(this.logNumber, 'wal')), this.logNumber, this.sync);
    }
    writeManifest(this.dir, { flushedSeq, nextRun: x.next_run_id(), log: this.logNumber, levels, checkpoint: this.lastCheckpoint, ttl: this.ttl || undefined });
    this.removeRunsExcept(live);
    if (oldLog) {
      oldLog.discard();
      remove(this.dir, fileName(oldLog.number, 'wal'));
    }
    this.stamp = stamp;
  }

  /** Deletes the run files not in `keep`: only once a manifest that does not list them is durable. */
  private removeRunsExcept(keep: Set<number>): void {
    for (const id of [...this.onDisk]) {
      if (keep.has(id)) continue;
      remove(this.dir, fileName(id, 'run'));
      this.onDisk.delete(id);
    }
  }

  private writeRun(id: number): void {
    const image = runImage(this.engine, id);
    if (!image) throw new Error(`strata-kv: run ${id} is not live (bug)`);
    const file = join(this.dir, fileName(id, 'run'));
    io('write', file, () => {
      const fd = openSync(file, 'w');
      try {
        let off = 0;
        while (off < image.length) off += writeSync(fd, image, off, image.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    });
    this.onDisk.add(id);
  }

  // ---- recovery --------------------------------------------------------------------------

  private recover(): void {
    const names = io('list', this.dir, () => readdirSync(this.dir));
    const manifest = readManifest(this.dir);
    if (!manifest) {
      const stray = names.find((n) => numbered(n, 'run') !== undefined || numbered(n, 'wal') !== undefined);
      if (stray) throw new StrataError('CORRUPTION', `${this.dir} has ${stray} but no MANIFEST`);
    } else {
      checkTtl(manifest, this.ttl, this.dir);
      this.importRuns(manifest);
    }
    const x = this.engine.x;
    const logs = names.map((n) => numbered(n, 'wal')).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
    const firstLog = manifest?.log ?? 0;
    for (const n of logs) {
      const file = join(this.dir, fileName(n, 'wal'));
      if (n >= firstLog) replayWal(file, (r) => replayWalRecord(this.engine, file, r));
    }
    // Recovery ends with everything in run files and a fresh, empty log.
    const st = x.flush();
    if (st !== Status.OK) throw statusError(st, 'flush after recovery');
    this.logNumber = Math.max(firstLog, ...logs, 0) + 1;
    this.lastCheckpoint = manifest?.checkpoint;
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

  private importRuns(m: Manifest): void {
    const e = this.engine;
    m.levels.forEach((ids, level) => {
      for (const id of ids) {
        const file = join(this.dir, fileName(id, 'run'));
        if (!existsSync(file)) throw new StrataError('CORRUPTION', `${file}: listed in the MANIFEST but missing`);
        const bytes = io('read', file, () => readFileSync(file));
        const p = e.reserve(bytes.length);
        e.u8.set(bytes, p);
        importRunImage(e, p, bytes.length, level, id, file);
        this.onDisk.add(id);
      }
    });
    recoverSeq(e, m, join(this.dir, 'MANIFEST'));
  }
}

Persistence satisfies DiskFactory;
