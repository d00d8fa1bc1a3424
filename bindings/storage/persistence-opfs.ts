// The OPFS side of a Store opened with `path` in a browser (docs/FORMAT.md, "OPFS (browsers)"):
// the same run files, log records and manifest text as a Node directory (persistence.ts), in
// an Origin Private File System directory, from a dedicated Worker.
//
// OPFS gives synchronous I/O only on a FileSystemSyncAccessHandle (read, write, truncate,
// getSize, flush, close); creating a file or a handle, listing and deleting are async. The
// engine calls the log synchronously, so:
//   - Sync, on the write path: each logged write is a record for the active WAL slot, written
//     through its pre-opened handle: with `sync`, written and flushed before the write
//     returns; without, collected in a buffer that a microtask writes out when the task that
//     made the writes ends (or sooner, at 1 MiB). One write call per task, not per put: OPFS
//     writes cost tens of microseconds each. Two slots, WAL-0 and WAL-1: when every logged
//     write is in runs (a memtable flush), writes go on in the other slot if it is empty, and
//     a slot is emptied (truncated) once a durable manifest covers its last sequence. Each
//     slot holds consecutive sequences, so recovery replays both in the order of their first
//     sequence; records the runs hold already are skipped, as in Node.
//   - Async, in one serial queue of tasks after the write returns: creating and writing new
//     run files, then the manifest, then deleting run files no manifest needs. Runs live in
//     linear memory, so nothing ever reads them back except recovery. flush(), the
//     checkpoint steps and close() queue behind and await these tasks.
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
import { WalBuffer, decodeWal, WAL_BATCH, WAL_RESTORE, type WalRecord } from './wal-format.js';
import {
  fileName, numbered, checkTtl, importRunImage, recoverSeq, replayWalRecord, currentLevels, runImage,
  IoFailure, type Disk, type PendingCheckpoint, type PersistenceOptions,
} from './persistence-core.js';
import {
  MANIFESTS, WALS, openHere, readAll, readWhole, writeWhole, nameOf, WalSlot, openDirectory, type SyncAccessHandle, type OpfsDirectory,
} from './opfs-files.js';

/** Log records collect in memory up to this many bytes within a task. */
const BUFFER_BYTES = 1 << 20;

/** Where the log ended before an append: its slot and the byte offset in it. */
interface LogMark { slot: number; at: number }

export class OpfsPersistence implements Disk {
  readonly logged: boolean;
  private readonly sync: boolean;
  private readonly ttl: boolean;
  /** The last checkpoint committed, kept in every manifest written. */
  lastCheckpoint: CheckpointMark | undefined;
  /** The first I/O failure: from then on writes are refused until reopen. */
  private readonly failure = new IoFailure();
  /** Run file numbers that are durable in the directory. */
  private readonly onDisk = new Set<number>();
  /** Files to delete after the next manifest: run files made for runs compacted away before
   *  they were written, and a crash's leftovers. */
  private readonly strays = new Set<string>();
  private readonly manifests: SyncAccessHandle[] = [];
  /** Generation of the newest manifest (0: none yet). */
  private generation = 0;
  /** The log slots; empty without a log. */
  private wals: WalSlot[] = [];
  /** The slot writes are logged to. */
  private active = 0;
  /** Records logged in this task, not yet written to the active slot. */
  private readonly log = new WalBuffer(BUFFER_BYTES);
  /** A microtask will write the buffered records out. */
  private writeOutQueued = false;
  /** The engine's version stamp when a persist was last scheduled. */
  private stamp = -1;
  /** A persist is queued and has not started: another change needs no second one. */
  private persistQueued = false;
  /** The serial queue of async tasks (persists, checkpoint steps); never rejects. */
  private tail: Promise<void> = Promise.resolve();
  private released = false;

  private constructor(readonly path: string, private readonly dir: OpfsDirectory, private readonly engine: Engine,
                      options: PersistenceOptions, private readonly lock: SyncAccessHandle) {
    this.sync = options.sync;
    this.logged = options.logged;
    this.ttl = options.ttl;
    this.logRotateBytes = options.memtableBytes ?? 4 << 20;
  }

  /** Log bytes after which writes move to the other slot once it is empty (switchLog). */
  private readonly logRotateBytes: number;

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
    return this.append(WAL_BATCH, first, count, first + count - 1, image);
  }

  /** Logs a restore chunk before it is applied (its replay skips what is already in). */
  logRestore(image: Uint8Array, count: number, firstSeq: number, lastSeq: number): LogMark {
    this.checkWritable();
    return this.append(WAL_RESTORE, firstSeq, count, lastSeq, image);
  }

  /** Takes back the records logged from `mark` on (their write failed after logging). */
  unlog(mark: unknown): void {
    const m = mark as LogMark;
    const slot = this.wals[m.slot];
    try {
      if (slot.size > m.at) {
        io('truncate', slot.file, () => { slot.h.truncate(m.at); slot.h.flush(); });
        slot.size = m.at;
      }
      if (m.slot === this.active) this.log.dropFrom(Math.max(0, m.at - slot.size));
    } catch (err) {
      this.failure.record(err);
    }
  }

  /** After any engine call that may have flushed or compacted: with a log, switches the
   *  log slot if it can and schedules writing the new runs and a manifest. */
  afterChange(): void {
    if (!this.logged || this.released) return;
    const stamp = this.engine.versionStamp();
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.switchLog();
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
    this.switchLog();
    await this.enqueue(() => this.persist());
    this.failure.guard(() => {
      this.writeOut();
      for (const w of this.wals) w.flush();
    });
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
          this.failure.guard(() => {
            this.writeOut();
            for (const w of this.wals) w.flush();
          });
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
        // Best effort, as persistence.ts: the buffered records into their slot, every slot
        // flushed (each tried), so a reopen recovers what it can. The failure still fails it.
        try { this.writeOut(); } catch { /* the slots may still hold earlier records */ }
        for (const w of this.wals) { try { w.flush(); } catch { /* the next slot, still */ } }
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

  /** Logs one record: into the file and flushed before returning with `sync`; otherwise
   *  into the buffer, which a microtask writes out when the current task ends (or sooner,
   *  when it fills). */
  private append(type: number, firstSeq: number, count: number, lastSeq: number, image: Uint8Array): LogMark {
    const slot = this.wals[this.active];
    const mark: LogMark = { slot: this.active, at: slot.size + this.log.pending };
    try {
      this.failure.guard(() => {
        this.log.add(type, firstSeq, count, image, (b) => slot.write(b));
        if (this.sync) {
          this.writeOut();
          io('flush', slot.file, () => slot.h.flush());
        }
      });
    } catch (err) {
      this.unlog(mark); // a failed append leaves the log as it was
      throw err;
    }
    slot.lastSeq = lastSeq;
    if (!this.sync && !this.writeOutQueued) {
      this.writeOutQueued = true;
      queueMicrotask(this.writeOutSoon);
    }
    return mark;
  }

  /** Writes the buffered records to the active slot (they are its records). */
  private writeOut(): void {
    if (this.log.pending > 0) this.log.drain((b) => this.wals[this.active].write(b));
  }

  private readonly writeOutSoon = (): void => {
    this.writeOutQueued = false;
    if (this.released) return;
    try {
      this.failure.guard(() => this.writeOut());
    } catch {
      // Kept as the store's failure: the next write or flush reports it.
    }
  };

  /** Once every logged write is in runs, or this slot holds about a memtable of them, writes
   *  go on in the other slot if it is empty, so that this one can be emptied when a manifest
   *  covers it (persist). (Flushes run in slices, so some logged writes are nearly always
   *  newer than flushedSeq: waiting for none would let one slot grow while writes go on.) */
  private switchLog(): void {
    const current = this.wals[this.active];
    const other = this.wals[this.active ^ 1];
    if (current && other && current.lastSeq > 0 && other.size === 0
        && (this.engine.flushedSeq() >= current.lastSeq || current.size >= this.logRotateBytes)) {
      this.failure.guard(() => this.writeOut());
      this.active ^= 1;
    }
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
        this.writeOut(); // the active slot's records in its file before it may be emptied
        this.writeManifest({ flushedSeq, nextRun: e.nextRunId(), log: this.active, levels, checkpoint: this.lastCheckpoint, ttl: this.ttl || undefined });
        for (const w of this.wals) if (w.size > 0 && w.lastSeq <= flushedSeq) w.reset();
      });
      await this.removeRunsExcept(new Set(levels.flat()));
      return;
    }
  }

  /** Creates the files of runs `ids` and writes each run's image, taken at once after its
   *  handle is ready (a run compacted away meanwhile leaves an empty file, deleted later). */
  private async writeRuns(ids: number[]): Promise<void> {
    for (const id of ids) {
      const name = fileName(id, 'run');
      const file = this.file(name);
      const h = await this.openHandle(name, true);
      try {
        const image = runImage(this.engine, id);
        if (!image) { this.strays.add(name); continue; }
        this.failure.guard(() => writeWhole(h, file, image));
        this.onDisk.add(id);
      } finally {
        h.close();
      }
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
    const names = [...gone.map((id) => fileName(id, 'run')), ...this.strays];
    this.strays.clear();
    for (const name of names) await this.remove(name);
  }

  private async remove(name: string): Promise<void> {
    await this.dir.removeEntry(name).catch((err) => {
      if (nameOf(err) === 'NotFoundError') return; // gone already
      const failure = new StrataError('IO_ERROR', `delete ${this.file(name)} failed: ${nameOf(err)} (${(err as Error)?.message})`, { cause: err });
      this.failure.record(failure);
      throw failure;
    });
  }

  private openHandle(name: string, create: boolean): Promise<SyncAccessHandle> {
    return ioAsync('open', this.file(name), async () => (await this.dir.getFileHandle(name, { create })).createSyncAccessHandle());
  }

  /** Closes every handle (the LOCK's last) and forgets the directory. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    for (const h of [...this.wals.map((w) => w.h), ...this.manifests, this.lock]) {
      try { h.close(); } catch { /* closing is best effort; the worker's end releases them too */ }
    }
    this.wals = [];
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
      if (this.logged || names.has(name)) this.wals.push(new WalSlot(this.file(name), await this.openHandle(name, true)));
    }
    const { manifest, file: manifestFile, damage } = this.readManifests();
    if (!manifest) {
      const stray = [...names].find((n) => numbered(n, 'run') !== undefined)
        ?? this.wals.find((w) => io('size', w.file, () => w.h.getSize()) > 0)?.file;
      if (stray) throw damage ?? new StrataError('CORRUPTION', `${this.path} has ${stray} but no valid MANIFEST-0 or MANIFEST-1`);
    } else {
      checkTtl(manifest, this.ttl, this.path);
      await this.importRuns(manifest, manifestFile!, names);
      this.generation = manifest.generation ?? 0;
      this.lastCheckpoint = manifest.checkpoint;
    }
    // Each slot holds consecutive sequences: replay them in the order of their first one.
    const logs = this.wals.map((w) => ({ w, records: this.readWal(w) }))
      .filter((l) => l.records.length > 0)
      .sort((a, b) => a.records[0].firstSeq - b.records[0].firstSeq);
    for (const { w, records } of logs) for (const r of records) replayWalRecord(e, w.file, r);
    // Recovery ends with everything in run files, a new manifest and empty log slots.
    const st = e.flush();
    if (st !== Status.OK) throw statusError(st, 'flush after recovery');
    for (const w of this.wals) w.lastSeq = e.lastSeq();
    this.stamp = e.versionStamp();
    await this.persist();
    if (!this.logged && this.wals.length > 0) {
      for (const w of this.wals) w.h.close();
      this.wals = [];
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

  private async importRuns(m: Manifest, manifestFile: string, names: Set<string>): Promise<void> {
    const e = this.engine;
    for (let level = 0; level < m.levels.length; level++) {
      for (const id of m.levels[level]) {
        const name = fileName(id, 'run');
        const file = this.file(name);
        if (!names.has(name)) throw new StrataError('CORRUPTION', `${file}: listed in ${manifestFile} but missing`);
        const h = await this.openHandle(name, false);
        try {
          const size = io('read', file, () => h.getSize());
          const p = e.reserve(size);
          io('read', file, () => readAll(h, e.u8.subarray(p, p + size)));
          importRunImage(e, p, size, level, id, file);
        } finally {
          h.close();
        }
        this.onDisk.add(id);
      }
    }
    recoverSeq(e, m, manifestFile);
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
