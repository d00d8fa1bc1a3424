// The OPFS side of a Store opened with `path` in a browser (docs/FORMAT.md, "OPFS (browsers)"):
// the same run files, log records and manifest text as a Node directory (persistence.ts), in
// an Origin Private File System directory, from a dedicated Worker.
//
// OPFS gives synchronous I/O only on a FileSystemSyncAccessHandle (read, write, truncate,
// getSize, flush, close); creating a file or a handle, listing and deleting are async. The
// engine calls the log synchronously, so:
//   - Sync, on the write path: each logged write is a record for the active WAL slot, written
//     through its pre-opened handle (opfs-log.ts). A slot is emptied (truncated) once a
//     durable manifest covers its last sequence. Each slot holds consecutive sequences, so
//     recovery replays both in the order of their first sequence; records the runs hold
//     already are skipped, as in Node.
//   - Async, in one serial queue of tasks after the write returns: creating and writing new
//     run files, then the manifest, then deleting run files no manifest needs. flush(), the
//     checkpoint steps and close() queue behind and await these tasks.
//   - Larger than memory, as on Node: once a run's file is written and flushed its data
//     blocks leave linear memory and the block cache reads them back through the file's
//     handle, kept open until the engine frees the run (opfs-run-files.ts). Runs listed at
//     open are imported from their tails (footer, index, bloom) only.
//   - The manifest has no rename: two pre-opened slots, MANIFEST-0 and MANIFEST-1, each a
//     whole manifest text (checksummed) with a `generation`; generation g is written into
//     slot g % 2, so a torn write leaves the other slot's generation g - 1. The valid slot
//     with the higher generation is the manifest.
//   - The lock: the LOCK file's sync access handle, held while the store is open. OPFS
//     allows one such handle per file, so a second open in another worker or tab fails
//     (NoModificationAllowedError) and is LOCKED; a worker that dies releases it.
// INVARIANT (as in Node): every run the newest valid manifest lists is durable in its file;
// every acknowledged write with a sequence above its flushedSeq is in a WAL slot.
// The file layer (handles, whole reads and writes, WAL slots, opening the directory under its
// LOCK) is storage/opfs-files.ts; this file holds OpfsPersistence, the Disk on top of it.
import { Status, statusError, type Engine } from '../engine/abi.js';
import { StrataError } from '../errors.js';
import { io, ioAsync } from './io-error.js';
import { encodeManifest, decodeManifest, type Manifest, type CheckpointMark } from './manifest-format.js';
import { decodeWal, WAL_BATCH, WAL_RESTORE, type WalRecord } from './wal-format.js';
import {
  fileName, numbered, checkTtl, checkLevels, recoverSeq, replayWalRecord, currentLevels, runImage,
  IoFailure, type Disk, type PendingCheckpoint, type PersistenceOptions,
} from './persistence-core.js';
import {
  MANIFESTS, WALS, openHere, readWhole, writeWhole, nameOf, WalSlot, openDirectory, held, openSyncHandle,
  type SyncAccessHandle, type OpfsDirectory,
} from './opfs-files.js';
import { OpfsRunFiles } from './opfs-run-files.js';
import { OpfsLog, type LogMark } from './opfs-log.js';
import { CacheSizer } from './cache-size.js';

/** The machine's memory for the cache's default capacity: navigator.deviceMemory (GiB,
 *  Chromium's, rounded and capped at 8), or 4 GiB where the browser does not say. */
function deviceBytes(): number {
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  return (typeof gib === 'number' && gib > 0 ? gib : 4) * 2 ** 30;
}

export class OpfsPersistence implements Disk {
  readonly logged: boolean;
  private readonly ttl: boolean;
  /** The last checkpoint committed, kept in every manifest written. */
  lastCheckpoint: CheckpointMark | undefined;
  /** The first I/O failure: from then on writes are refused until reopen. */
  private readonly failure = new IoFailure();
  /** Run file numbers that are durable in the directory. */
  private readonly onDisk = new Set<number>();
  /** The handles the block cache reads file-backed runs through (opfs-run-files.ts). */
  private readonly runs: OpfsRunFiles;
  /** The block cache's capacity: blockCacheBytes, or sized from the run files (cache-size.ts). */
  private readonly cache: CacheSizer;
  /** Files to delete after the next manifest: run files made for runs compacted away before
   *  they were written, and a crash's leftovers. */
  private readonly strays = new Set<string>();
  private readonly manifests: SyncAccessHandle[] = [];
  /** Generation of the newest manifest (0: none yet). */
  private generation = 0;
  /** The log slots (opfs-log.ts); none without a log. */
  private readonly log: OpfsLog;
  /** The engine's version stamp when a persist was last scheduled. */
  private stamp = -1;
  /** A persist is queued and has not started: another change needs no second one. */
  private persistQueued = false;
  /** The serial queue of async tasks (persists, checkpoint steps); never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private released = false;

  private constructor(readonly path: string, private readonly dir: OpfsDirectory, private readonly engine: Engine,
                      options: PersistenceOptions, private readonly lock: SyncAccessHandle) {
    this.logged = options.logged;
    this.ttl = options.ttl;
    this.log = new OpfsLog(options.sync, options.memtableBytes ?? 4 << 20, this.failure);
    this.runs = new OpfsRunFiles(engine, path, (name) => this.removeLater(name));
    this.cache = new CacheSizer(engine, options.blockCacheBytes, deviceBytes());
    engine.files = this.runs;
    engine.enableFileBacking();
  }

  /** Opens (creating if needed) the OPFS directory `path` ('a/b' nests), takes its LOCK and
   *  recovers its state into the freshly initialised `engine`. */
  static async open(path: string, engine: Engine, options: PersistenceOptions): Promise<OpfsPersistence> {
    const { key, dir, lock } = await openDirectory(path);
    try {
      const p = new OpfsPersistence(key, dir, engine, options, lock);
      try {
        await p.recover();
      } catch (err) {
        p.release();
        throw err;
      }
      return p;
    } catch (err) {
      try { lock.close(); } catch { /* released with the worker anyway */ }
      openHere.delete(key);
      throw err;
    }
  }

  // ---- the write path (synchronous) -----------------------------------------------------

  /** REQUIRES: prepare_batch succeeded for this image. Logs it before it is applied. */
  logBatch(image: Uint8Array, count: number): LogMark {
    this.checkWritable();
    const first = this.engine.lastSeq() + 1;
    return this.log.append(WAL_BATCH, first, count, first + count - 1, image);
  }

  /** Logs a restore chunk before it is applied (its replay skips what is already in). */
  logRestore(image: Uint8Array, count: number, firstSeq: number, lastSeq: number): LogMark {
    this.checkWritable();
    return this.log.append(WAL_RESTORE, firstSeq, count, lastSeq, image);
  }

  /** Takes back the records logged from `mark` on (their write failed after logging). */
  unlog(mark: unknown): void { this.log.unlog(mark as LogMark); }

  /** After any engine call that may have flushed or compacted: with a log, switches the
   *  log slot if it can and schedules writing the new runs and a manifest. */
  /** A background job's input runs, read from their files (background.ts ImageRunFiles). */
  runFileSize(id: number): number | undefined { return this.runs.fileSize(id); }
  readRunFile(id: number, at: number, into: Uint8Array): void { this.runs.readAt(id, at, into); }

  /** Its run files are written on this thread: none to wait for. */
  drainFiles(): boolean { return false; }

  afterChange(): void {
    if (!this.logged || this.released) return;
    const stamp = this.engine.versionStamp();
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.log.switchIfDue(this.engine.flushedSeq());
    } catch {
      return; // kept as the store's failure (the write that got here is committed)
    }
    if (this.persistQueued) return;
    this.persistQueued = true;
    this.enqueue(() => { this.persistQueued = false; return this.persist(); }).catch(() => {
      // Recorded by enqueue when it is an I/O failure; otherwise the next persist retries.
    });
  }

  /** With a log: every acknowledged write is durable when this resolves (the engine has
   *  flushed the memtable first). Without one durability comes from checkpoints. */
  async flush(): Promise<void> {
    if (!this.logged) return;
    this.checkWritable();
    this.log.switchIfDue(this.engine.flushedSeq());
    await this.enqueue(() => this.persist());
    this.failure.guard(() => this.log.flushAll());
  }

  // ---- checkpoints (docs/API.md "Checkpoints"; the steps of persistence.ts) ------------

  /** Step 1: every run of the state through the returned seq is durable in its file. */
  beginCheckpoint(): Promise<PendingCheckpoint> {
    this.checkWritable();
    return this.enqueue(async () => {
      for (;;) {
        const levels = currentLevels(this.engine);
        const missing = levels.flat().filter((id) => !this.onDisk.has(id));
        if (missing.length === 0) {
          this.failure.guard(() => this.log.flushAll());
          // Taken with `levels` in one synchronous step: exactly the writes those runs hold.
          return { seq: this.engine.flushedSeq(), levels };
        }
        await this.writeRuns(missing);
      }
    });
  }

  /** Step 3, after the sinks are durable through `pending.seq`: the manifest names the
   *  checkpoint, then run files it no longer needs are deleted. */
  commitCheckpoint(pending: PendingCheckpoint, time: number): Promise<CheckpointMark> {
    this.checkWritable();
    const mark = { seq: pending.seq, time };
    return this.enqueue(async () => {
      this.lastCheckpoint = mark;
      if (this.logged) {
        await this.persist(); // with a log the manifest always lists the current runs
        return mark;
      }
      this.writeManifest({ flushedSeq: pending.seq, nextRun: this.engine.nextRunId(), log: 0, levels: pending.levels, checkpoint: mark, ttl: this.ttl || undefined });
      this.cache.resize(pending.levels.flat(), this.runs.sizeOf);
      await this.removeRunsExcept(new Set(pending.levels.flat()));
      return mark;
    });
  }

  async close(): Promise<void> {
    if (this.released) return;
    let failure: unknown = this.failure.error;
    try {
      if (failure === undefined) await this.flush();
      else {
        // Best effort, as persistence.ts: a reopen recovers what it can. The failure still fails it.
        this.log.flushBestEffort();
      }
    } catch (err) {
      failure ??= err;
    } finally {
      await this.tail;
      this.release();
    }
    // As in persistence.ts: after an I/O failure acknowledged writes may not be durable.
    if (failure !== undefined) {
      throw new StrataError('IO_ERROR', `close could not make every acknowledged write durable: ${(failure as Error)?.message ?? String(failure)}`, { cause: failure });
    }
  }

  checkWritable(): void { this.failure.check(); }

  // ---- internals -----------------------------------------------------------------------

  private file(name: string): string { return `${this.path}/${name}`; }

  /** Runs `task` after every task queued before it. An I/O failure makes the store read-only. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      this.checkWritable();
      return task();
    });
    this.tail = run.then(() => {}, (err) => this.failure.record(err));
    return run;
  }

  /**
   * Writes the runs not yet in files; then, from one synchronous look at the engine, the
   * manifest listing the current runs; then empties the log slots it covers and deletes the
   * run files it no longer lists.
   */
  private async persist(): Promise<void> {
    const e = this.engine;
    for (;;) {
      const levels = currentLevels(e);
      const missing = levels.flat().filter((id) => !this.onDisk.has(id));
      if (missing.length > 0) {
        await this.writeRuns(missing); // runs may come and go meanwhile: look again
        continue;
      }
      const flushedSeq = e.flushedSeq();
      this.failure.guard(() => {
        this.log.writeOut(); // the active slot's records in its file before it may be emptied
        this.writeManifest({ flushedSeq, nextRun: e.nextRunId(), log: this.log.active, levels, checkpoint: this.lastCheckpoint, ttl: this.ttl || undefined });
        this.log.resetCovered(flushedSeq);
      });
      this.cache.resize(levels.flat(), this.runs.sizeOf);
      await this.removeRunsExcept(new Set(levels.flat()));
      return;
    }
  }

  /** Creates the files of runs `ids` and writes each run's image, taken at once after its
   *  handle is ready (a run compacted away meanwhile leaves an empty file, deleted later);
   *  then the engine reads the run from its file, through the handle kept open. */
  private async writeRuns(ids: number[]): Promise<void> {
    for (const id of ids) {
      const name = fileName(id, 'run');
      const h = await this.openHandle(name, true);
      const image = runImage(this.engine, id);
      if (!image) {
        h.close();
        this.strays.add(name);
        continue;
      }
      try {
        this.failure.guard(() => writeWhole(h, this.file(name), image));
      } catch (err) {
        h.close();
        throw err;
      }
      this.onDisk.add(id);
      this.runs.adopt(id, h);
    }
  }

  /** Writes the manifest into the slot of its generation (synchronous: the slots' handles
   *  are open). A torn write leaves the other slot, one generation older. */
  private writeManifest(m: Manifest): void {
    const generation = this.generation + 1;
    const slot = generation % 2;
    const bytes = new TextEncoder().encode(encodeManifest({ ...m, generation }));
    const h = this.manifests[slot];
    writeWhole(h, this.file(MANIFESTS[slot]), bytes);
    this.generation = generation;
  }

  /** Deletes the run files not in `keep` (only once a durable manifest does not list them)
   *  and the strays. */
  private async removeRunsExcept(keep: Set<number>): Promise<void> {
    const gone = [...this.onDisk].filter((id) => !keep.has(id));
    for (const id of gone) this.onDisk.delete(id);
    // A file still read through its handle goes when the engine frees its run.
    const names = [...gone.filter((id) => this.runs.release(id)).map((id) => fileName(id, 'run')), ...this.strays];
    this.strays.clear();
    for (const name of names) await this.remove(name);
  }

  private async remove(name: string): Promise<void> {
    await held(this.dir, (d) => d.removeEntry(name)).catch((err) => {
      if (nameOf(err) === 'NotFoundError') return; // gone already
      const failure = new StrataError('IO_ERROR', `delete ${this.file(name)} failed: ${nameOf(err)} (${(err as Error)?.message})`, { cause: err });
      this.failure.record(failure);
      throw failure;
    });
  }

  /** Deletes `name` after the tasks queued before (a run file the engine has just freed). */
  private removeLater(name: string): void {
    if (this.released) return; // the next open deletes it as a stray
    this.enqueue(() => this.remove(name)).catch(() => { /* kept as the store's failure */ });
  }

  private openHandle(name: string, create: boolean): Promise<SyncAccessHandle> {
    return ioAsync('open', this.file(name), () => openSyncHandle(this.dir, name, create));
  }

  /** Closes every handle (the LOCK's last) and forgets the directory. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.runs.closeAll();
    for (const h of [...this.log.close(), ...this.manifests, this.lock]) {
      try { h.close(); } catch { /* closing is best effort; the worker's end releases them too */ }
    }
    openHere.delete(this.path);
  }

  // ---- recovery --------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const e = this.engine;
    const names = new Set<string>();
    await ioAsync('list', this.path, async () => { for await (const name of this.dir.keys()) names.add(name); });
    for (const name of MANIFESTS) this.manifests.push(await this.openHandle(name, true));
    // A store that no longer logs still replays the slots a logged one left, then deletes them.
    for (const name of WALS) {
      if (this.logged || names.has(name)) this.log.slots.push(new WalSlot(this.file(name), await this.openHandle(name, true)));
    }
    const { manifest, file: manifestFile, damage } = this.readManifests();
    if (!manifest) {
      const stray = [...names].find((n) => numbered(n, 'run') !== undefined)
        ?? this.log.slots.find((w) => io('size', w.file, () => w.h.getSize()) > 0)?.file;
      if (stray) throw damage ?? new StrataError('CORRUPTION', `${this.path} has ${stray} but no valid MANIFEST-0 or MANIFEST-1`);
    } else {
      checkTtl(manifest, this.ttl, this.path);
      await this.importRuns(manifest, manifestFile!, names);
      this.generation = manifest.generation ?? 0;
      this.lastCheckpoint = manifest.checkpoint;
    }
    // Each slot holds consecutive sequences: replay them in the order of their first one.
    const logs = this.log.slots.map((w) => ({ w, records: this.readWal(w) }))
      .filter((l) => l.records.length > 0)
      .sort((a, b) => a.records[0].firstSeq - b.records[0].firstSeq);
    // No compaction during the replay, as on Node: one meeting a damaged run block would
    // refuse the rest of these acknowledged writes. The flush below starts it.
    e.pauseCompaction(true);
    try {
      for (const { w, records } of logs) for (const r of records) replayWalRecord(e, w.file, r);
    } finally {
      e.pauseCompaction(false);
    }
    // Recovery ends with everything in run files, a new manifest and empty log slots.
    const st = e.flush();
    if (st !== Status.OK) throw statusError(st, 'flush after recovery');
    for (const w of this.log.slots) w.lastSeq = e.lastSeq();
    this.stamp = e.versionStamp();
    await this.persist();
    if (!this.logged && this.log.slots.length > 0) {
      for (const h of this.log.close()) h.close();
      for (const name of WALS) if (names.has(name)) await this.remove(name);
    }
    for (const name of names) {
      const id = numbered(name, 'run');
      if (id !== undefined && !this.onDisk.has(id)) this.strays.add(name); // never listed: a crash's leftover
    }
    for (const name of [...this.strays]) await this.remove(name);
    this.strays.clear();
  }

  /** The newest valid manifest slot; `damage` is a damaged slot's CORRUPTION, if any. */
  private readManifests(): { manifest?: Manifest; file?: string; damage?: StrataError } {
    let manifest: Manifest | undefined, file: string | undefined, damage: StrataError | undefined;
    this.manifests.forEach((h, slot) => {
      const name = this.file(MANIFESTS[slot]);
      const bytes = readWhole(h, name);
      if (bytes.length === 0) return;
      try {
        const m = decodeManifest(new TextDecoder().decode(bytes), name);
        if (!manifest || (m.generation ?? 0) > (manifest.generation ?? 0)) { manifest = m; file = name; }
      } catch (err) {
        if (!(err instanceof StrataError && err.code === 'CORRUPTION')) throw err;
        damage ??= err; // a torn write of the newer generation: the other slot holds the one before
      }
    });
    return { manifest, file, damage };
  }

  /** Imports the listed runs file-backed, from their tails. The handles are created
   *  together (each is a round trip to the browser's file system backend). */
  private async importRuns(m: Manifest, manifestFile: string, names: Set<string>): Promise<void> {
    checkLevels(m, manifestFile);
    const listed = m.levels.flatMap((ids, level) => ids.map((id) => ({ id, level, name: fileName(id, 'run') })));
    const missing = listed.find((r) => !names.has(r.name));
    if (missing) throw new StrataError('CORRUPTION', `${this.file(missing.name)}: listed in ${manifestFile} but missing`);
    const opened = await Promise.allSettled(listed.map((r) => this.openHandle(r.name, false)));
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) {
      for (const o of opened) if (o.status === 'fulfilled') o.value.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    const handles = opened.map((o) => (o as PromiseFulfilledResult<SyncAccessHandle>).value);
    for (let i = 0; i < listed.length; i++) {
      try {
        this.runs.importTail(listed[i].id, listed[i].level, handles[i]); // it owns handles[i] now
      } catch (err) {
        for (const h of handles.slice(i + 1)) h.close(); // the runs not handed over
        throw err;
      }
      this.onDisk.add(listed[i].id);
    }
    recoverSeq(this.engine, m, manifestFile);
  }

  /** The records of a log slot, read whole (a torn tail ends them); sets the slot's size. */
  private readWal(w: WalSlot): WalRecord[] {
    const bytes = readWhole(w.h, w.file);
    w.size = bytes.length;
    const records: WalRecord[] = [];
    decodeWal(bytes, w.file, (r) => records.push(r));
    return records;
  }
}
