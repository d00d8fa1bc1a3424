// BackgroundCompaction: a store's side of compactions merged off its thread (docs/LSM.md,
// "Background compaction"). The engine still picks every compaction; with this attached it
// registers each as a job (bg_delegate) instead of merging it in slices paid by writes.
// Here, at safe points only — right after a store call's engine work (afterCall), or from
// the event loop while the store is idle — a waiting job is handed to the executor (its
// resident inputs copied out a chunk per call), and a finished one is installed: its output
// imported as staged runs, a few per call, then bg_install swaps them for the inputs in one
// version edit. The store's thread still does the memtable, its
// flush, and the reads.
// INVARIANTS: at most one job is out. A job's output files are the store's only once the
// install succeeded (then the next manifest names them); a job dropped or failed has its
// files deleted here, or at the next open if a crash came first. Nothing here throws into
// a store call: the call's write is committed before afterCall runs, so failures are the
// engine's background error (damage or I/O in an input), the directory's failure (writing
// output), or the worker's loss, after which compaction goes back to slices.
import { Status, STAGED_LEVEL, type Engine, type EngineTuning } from '../engine/abi.js';
import { StrataError } from '../errors.js';
import type { FileTasks } from '../storage/file-tasks.js';
import { jobInputs, type CompactionJob, type JobInput, type JobResult, type MergeExecutor } from './job.js';

/** What the store's directory does for background jobs (storage/persistence.ts). */
export interface BackgroundDisk {
  readonly dir: string;
  /** With a log, run files are written as runs appear: a job writes its output as files. */
  readonly logged: boolean;
  /** Run `id`'s file is durable: the worker reads it there. Its size. */
  durableRunBytes(id: number): number | undefined;
  /** Imports job output file `id` as a staged run (engine STAGED_LEVEL); throws when it fails. */
  stageRunFile(id: number): void;
  /** Installed: the files are the store's, as durable as any it wrote. */
  adoptRunFiles(ids: number[]): void;
  /** Deletes a dropped job's output files. */
  discardRunFiles(ids: number[]): void;
  /** Writing a job's output failed: the store stops writing, as when its own run files fail. */
  recordFailure(err: StrataError): void;
  afterChange(): void;
  /** Run files and manifests are written by `tasks` from now on (storage/file-tasks.ts). */
  useFileTasks(tasks: FileTasks): void;
  fileTaskStats(): { tasks: number; bytes: number };
}

/** A directory whose run files a worker cannot open (OPFS: exclusive handles of the store's
 *  own worker): jobs travel as images, an input's read here from its file, and the output
 *  comes back as resident runs that the directory then writes as its own. */
export interface ImageRunFiles {
  /** The size of run `id`'s file, which the engine reads it from; undefined when it has none. */
  runFileSize(id: number): number | undefined;
  /** Reads `into.length` bytes of run `id`'s file at `at`; throws when that fails. */
  readRunFile(id: number, at: number, into: Uint8Array): void;
  afterChange(): void;
}

/** Back-pressure waits this long at most for a job before the worker is given up on. */
const STALL_LIMIT_MS = 120_000;
/** With level 0 filling, a store call waits this long at most for the job: writes slow to
 *  the worker's pace in waits this short, instead of one write waiting out a whole job. A
 *  spin on the result's flag: Atomics.wait wakes 80-100 µs late here (50 µs asked: 131 µs
 *  median), which at 1 ms waits put p99.9 at 574 µs in a 10M fill. */
const SLOWDOWN_WAIT_MS = 0.05;

export interface BackgroundStats {
  /** Jobs installed, and jobs that failed or were dropped. */
  jobs: number;
  failed: number;
  /** A job is out (submitted, not installed). */
  running: boolean;
  /** Input and output bytes of installed jobs, and the worker's time on them (ms). */
  bytesRead: number;
  bytesWritten: number;
  busyMs: number;
  /** Store calls slowed down (level 0 filling: at most SLOWDOWN_WAIT_MS each) or that waited
   *  for the job (memory short, level 0 full), and how long in all (ms). */
  stalls: number;
  stallMs: number;
  /** Run-file and manifest writes handed to the file worker, and their bytes (a store with
   *  a log; 0 where they are written on the store's thread). */
  fileTasks: number;
  fileBytes: number;
  /** Jobs merged on the store's thread after all: in browsers, a wait (back-pressure,
   *  compact(), close()) whose job's result had not come back (background/worker-executor-browser.ts). */
  mergedHere: number;
  /** Why compaction went back to slices on the store's thread, if it did. */
  lost?: string;
}

/** A job being handed out a chunk per call: its image, the inputs copied so far, and the
 *  image of the one being copied (its blocks, then its tail). */
interface Outgoing {
  id: number; image: Uint8Array; inputs: { level: number; id: number }[]; sent: JobInput[]; bytes: number;
  copying?: Copying;
}

/** An input being copied: from the engine's memory (its blocks, then its tail), or read from
 *  its file (ImageRunFiles). */
interface Copying { buf: Uint8Array; filled: number; nextBlock: number; fromFile: boolean }

/** Bytes of run images a store call copies out for a job. At 1 MiB these calls alone set
 *  a 10M fill's p99.9; at 256 KiB they were still half the puts over it (a 2M fill in memory:
 *  p99.9 91-121 µs, 52-57 µs at 64 KiB, the fill's rate unchanged). */
const COPY_SLICE_BYTES = 64 << 10;
/** Output files a store call stages: reading each one's index and bloom. */
const FILES_PER_CALL = 8;
/** A finished job whose output is being staged a run per call. */
interface Incoming { id: number; result: JobResult & { ok: true }; files?: number[]; firstId: number; staged: number }

export class BackgroundCompaction {
  /** The job out: handed to the executor, not yet back. */
  private running: { id: number; outputIds?: number[]; image: Uint8Array } | undefined;
  private outgoing: Outgoing | undefined;
  private incoming: Incoming | undefined;
  private closed = false;
  /** Made at the first job: a store that never compacts never starts a worker. */
  private executor: MergeExecutor | undefined;
  /** A continuation is scheduled for an idle moment (a hand-off or install left half done). */
  private resumeScheduled = false;
  readonly stats: BackgroundStats = { jobs: 0, failed: 0, running: false, bytesRead: 0, bytesWritten: 0, busyMs: 0, stalls: 0, stallMs: 0, fileTasks: 0, fileBytes: 0, mergedHere: 0 };

  constructor(private readonly engine: Engine, private readonly makeExecutor: () => MergeExecutor, private readonly tuning: EngineTuning,
              private readonly disk?: BackgroundDisk, private readonly imageFiles?: ImageRunFiles) {
    engine.bgDelegate(true);
  }

  private get exec(): MergeExecutor { return this.executor ??= this.makeExecutor(); }

  /** Makes the executor now and waits until it is ready (MergeExecutor.prepare), rather than
   *  at the first job: a browser's worker must start while the store's thread yields. */
  async prepare(): Promise<void> {
    try {
      await this.exec.prepare?.();
    } catch (err) {
      this.lose(`no background worker could start: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** After a store call's engine work (a safe point): one step of handing out or
   *  installing a job — a run's image copied, or a run staged — so a call pays a bounded
   *  part of it; and a wait while the job is behind (level 0 full, memory short). */
  afterCall(): void {
    if (this.closed) return;
    this.advance(false);
    if (this.running === undefined && this.outgoing === undefined && this.incoming === undefined) return;
    const state = this.engine.bgState();
    if ((state & 2) !== 0) this.stall();
    else if ((state & 4) !== 0) this.slowDown();
  }

  /** Finishes the job out, if any: hands it out whole, waits for it and installs it
   *  (compact(): the merge it will do would otherwise drop it; close(): its work is kept). */
  settle(timeoutMs = STALL_LIMIT_MS): void {
    if (this.closed) return;
    this.advance(true);
    if (this.running !== undefined) {
      const exec = this.exec;
      let r = exec.wait(timeoutMs);
      if (r === undefined && exec.runHere !== undefined && this.disk === undefined) r = this.mergeHere(exec.runHere.bind(exec));
      if (this.running === undefined) return; // lost meanwhile
      if (r === undefined) { this.lose(`the background worker did not finish a job in ${timeoutMs} ms`); return; }
      this.received(r, true);
    }
  }

  /** The job out merged on this thread after all (an executor that cannot block for its
   *  result: a browser's), its resident inputs copied out again (the job pins them). */
  private mergeHere(runHere: (job: CompactionJob) => JobResult): JobResult | undefined {
    const job = this.running!;
    this.outgoing = { id: job.id, image: job.image, inputs: jobInputs(job.image).inputs, sent: [], bytes: 0 };
    if (!this.collect(true)) { this.running = undefined; this.stats.running = false; return undefined; }
    const inputs = this.outgoing.sent;
    this.outgoing = undefined;
    this.stats.mergedHere++;
    return runHere({ id: job.id, image: job.image, tuning: this.tuning, inputs });
  }

  /** Settles the job out, then stops: compaction is the engine's own again. */
  close(): void {
    if (this.closed) return;
    this.settle();
    this.closed = true;
    this.engine.bgDelegate(false);
    this.executor?.close();
  }

  /** Moves the job along: stages the finished one (all: at once), takes a result that has
   *  come, hands out the waiting one (all: at once). */
  private advance(all: boolean): void {
    if (this.incoming !== undefined) {
      this.stage(all);
      if (!all) { if (this.incoming !== undefined) this.resumeLater(); return; }
    }
    if (this.running !== undefined) {
      const r = this.exec.poll();
      if (r !== undefined) {
        this.received(r, all);
        if (this.incoming !== undefined) { this.resumeLater(); return; }
      }
    }
    if (this.closed) return;
    if (this.outgoing === undefined && this.running === undefined && (this.engine.bgState() & 1) !== 0) this.begin();
    if (this.outgoing !== undefined) { this.send(all); if (this.outgoing !== undefined) this.resumeLater(); }
  }

  /** A hand-off or install left half done goes on while the store is idle. */
  private resumeLater(): void {
    if (this.resumeScheduled || this.closed) return;
    this.resumeScheduled = true;
    later(() => {
      this.resumeScheduled = false;
      if (this.closed) return;
      this.advance(true);
      this.changed();
    });
  }

  /** From the event loop, the job done while the store is idle: installs it, starts the next. */
  private idle(): void {
    if (this.closed || this.running === undefined) return;
    this.advance(true);
    this.changed();
  }

  /** The directory writes what an install made (called from the event loop: no store call
   *  follows to do it). */
  private changed(): void {
    this.disk?.afterChange();
    this.imageFiles?.afterChange();
  }

  /** Level 0 filling: waits a moment for the job out (not past SLOWDOWN_WAIT_MS), and takes
   *  it a step further if it came back. */
  private slowDown(): void {
    const started = performance.now();
    this.stats.stalls++;
    if (this.incoming !== undefined) this.stage(false); // a step more: its install is what level 0 waits for
    else if (this.running !== undefined) {
      const until = started + SLOWDOWN_WAIT_MS;
      let r: JobResult | undefined;
      do r = this.exec.poll(); while (r === undefined && performance.now() < until);
      if (r !== undefined) this.received(r, false);
    }
    this.stats.stallMs += performance.now() - started;
  }

  /** Memory short: finishes the job out (its install frees its inputs) before the next write. */
  private stall(): void {
    const started = performance.now();
    this.stats.stalls++;
    this.settle();
    this.stats.stallMs += performance.now() - started;
  }

  // ---- handing a job out ---------------------------------------------------------------

  private begin(): void {
    const image = this.engine.bgJob();
    if (image === undefined) return;
    const { id, inputs } = jobInputs(image);
    this.outgoing = { id, image, inputs, sent: [], bytes: 0 };
  }

  /** Copies about COPY_SLICE_BYTES more of the resident inputs' images (all: every one),
   *  then submits. */
  private send(all: boolean): void {
    if (!this.collect(all)) return;
    const o = this.outgoing!, e = this.engine;
    this.outgoing = undefined;
    let exec: MergeExecutor;
    try {
      exec = this.exec;
    } catch (err) {
      e.bgFail(o.id, Status.OK);
      this.lose(`no background worker could start: ${(err as Error)?.message ?? String(err)}`);
      return;
    }
    // Output runs are cut at runTargetBytes of data and hold no more than the inputs did,
    // plus one of range tombstones alone.
    const disk = this.disk;
    const outputIds = disk?.logged ? reserveIds(e, Math.floor(o.bytes / this.tuning.runTargetBytes) + 2) : undefined;
    this.running = { id: o.id, outputIds, image: o.image };
    this.stats.running = true;
    exec.submit({ id: o.id, image: o.image, tuning: this.tuning, inputs: o.sent, dir: disk?.dir, outputIds });
    exec.onReady(() => this.idle());
  }

  /** Copies about COPY_SLICE_BYTES more of the outgoing job's resident inputs (all: every
   *  one); true once every input is in `sent`, false when the budget ran out first (the next
   *  call goes on) or the job failed (then `outgoing` is cleared and the job dropped). Inputs
   *  stay in the version meanwhile (the engine pins them), so each is found by its number. */
  private collect(all: boolean): boolean {
    const o = this.outgoing!, e = this.engine;
    let budget = all ? Number.POSITIVE_INFINITY : COPY_SLICE_BYTES;
    while (o.sent.length < o.inputs.length) {
      const { level, id: run } = o.inputs[o.sent.length];
      try {
        if (o.copying === undefined) {
          const onDisk = this.disk?.durableRunBytes(run);
          if (onDisk !== undefined) { o.bytes += onDisk; o.sent.push({ level, id: run }); continue; }
          const size = e.runImageSize(run); // resident: its blocks travel
          o.copying = size > 0 ? { buf: new Uint8Array(size), filled: 0, nextBlock: 0, fromFile: false } : this.fromFile(run);
          if (o.copying === undefined) {
            this.outgoing = undefined;
            e.bgFail(o.id, Status.OK); // neither in a file nor in memory: never expected; merged here instead
            this.lose(`input run ${run} of a background job is neither resident nor in a durable file`);
            return false;
          }
        }
        if (budget <= 0) return false;
        const c = o.copying;
        const room = Math.min(budget, COPY_SLICE_BYTES, c.buf.length - c.filled);
        const n = c.fromFile ? this.readSome(run, c, room) : this.copySome(run, c, room);
        if (n < 0) {
          // Its file became durable meanwhile and its blocks left memory: it goes by number,
          // or as that file's image.
          o.copying = this.fromFile(run);
          if (o.copying !== undefined) continue;
          const onDisk = this.disk?.durableRunBytes(run);
          if (onDisk === undefined) throw new Error(`input run ${run} is neither resident nor in a durable file (bug)`);
          o.bytes += onDisk;
          o.sent.push({ level, id: run });
          continue;
        }
        budget -= n;
      } catch (err) { // never into the store call: its write is committed
        this.outgoing = undefined;
        if (err instanceof InputFileError) { // a failed read of an input file, as a worker's would be: the background error
          e.bgFail(o.id, Status.IO_ERROR, run, 0, 0);
          return false;
        }
        e.bgFail(o.id, Status.OK);
        this.lose(`a background job's input could not be copied: ${(err as Error)?.message ?? String(err)}`);
        return false;
      }
      if (o.copying.filled < o.copying.buf.length) continue;
      o.bytes += o.copying.buf.length;
      o.sent.push({ level, id: run, image: o.copying.buf });
      o.copying = undefined;
    }
    return true;
  }

  /** Run `run`'s file to copy, where jobs travel as images; undefined where it has none. */
  private fromFile(run: number): Copying | undefined {
    const size = inputFile(() => this.imageFiles?.runFileSize(run));
    return size === undefined ? undefined : { buf: new Uint8Array(size), filled: 0, nextBlock: 0, fromFile: true };
  }

  /** Reads `room` more bytes of run `run`'s file into `c`. */
  private readSome(run: number, c: Copying, room: number): number {
    inputFile(() => this.imageFiles!.readRunFile(run, c.filled, c.buf.subarray(c.filled, c.filled + room)));
    c.filled += room;
    return room;
  }

  /** Copies whole blocks of run `run`'s image, about `room` bytes, or (blocks done) its tail,
   *  as RunFileWriter writes a file: the same image run_image gives. Returns the bytes, or
   *  -1 when the run is no longer resident (detached: its file is durable). */
  private copySome(run: number, c: Copying, room: number): number {
    const e = this.engine;
    let p = e.reserve(room);
    let r = e.runImageBlocks(run, c.nextBlock, room, p);
    if (r.blocks === 0 && r.bytes > 0) { // one block larger than the room (a large value)
      p = e.reserve(r.bytes);
      r = e.runImageBlocks(run, c.nextBlock, r.bytes, p);
    }
    if (r.blocks < 0) return -1;
    if (r.blocks > 0) {
      c.buf.set(e.u8.subarray(p, p + r.bytes), c.filled);
      c.filled += r.bytes;
      c.nextBlock += r.blocks;
      return r.bytes;
    }
    const size = e.runImageTailSize(run);
    if (size === 0) return -1;
    const q = e.reserve(size);
    if (e.runImageTail(run, q) !== Status.OK || c.filled + size !== c.buf.length) {
      throw new Error(`strata-kv: input run ${run} changed while it was copied (bug)`);
    }
    c.buf.set(e.u8.subarray(q, q + size), c.filled);
    c.filled += size;
    return size;
  }

  // ---- taking a job back -----------------------------------------------------------------

  private received(r: JobResult, all: boolean): void {
    const job = this.running!;
    this.running = undefined;
    const e = this.engine, disk = this.disk;
    if (r.id !== job.id) { // another job's result (never expected: executors drop stale ones)
      this.stats.running = false;
      this.stats.failed++;
      e.bgFail(job.id, Status.OK);
      if (job.outputIds !== undefined) disk?.discardRunFiles(job.outputIds);
      return;
    }
    if (!r.ok) {
      this.stats.running = false;
      this.stats.failed++;
      if (r.workerLost) { this.lose(r.message); return; }
      if (r.output && disk) { // writing the output failed: the directory's failure, not damage
        disk.recordFailure(new StrataError('IO_ERROR', r.message));
        e.bgFail(job.id, Status.OK);
        return;
      }
      e.bgFail(job.id, r.status, r.run, r.at, r.what);
      return;
    }
    const files = job.outputIds === undefined ? undefined : r.outputs.map((o) => o.id!);
    const firstId = files === undefined ? e.takeRunIds(r.outputs.length) : 0;
    this.incoming = { id: job.id, result: r, files, firstId, staged: 0 };
    this.stage(all);
  }

  /** Imports the next output runs as staged (all: every one) — an image, or up to
   *  FILES_PER_CALL files (only their index and bloom are read) — then installs the job. */
  private stage(all: boolean): void {
    const inc = this.incoming!, e = this.engine, disk = this.disk, r = inc.result;
    const most = all ? Number.POSITIVE_INFINITY : inc.files !== undefined ? FILES_PER_CALL : 1;
    try {
      for (let n = 0; inc.staged < r.outputs.length && n < most; n++, inc.staged++) {
        const o = r.outputs[inc.staged];
        if (inc.files !== undefined) { disk!.stageRunFile(inc.files[inc.staged]); continue; }
        const p = e.reserve(o.bytes);
        e.u8.set(o.image!, p);
        o.image = undefined; // its memory goes as soon as it is in the engine
        const st = e.runImport(p, o.bytes, STAGED_LEVEL, inc.firstId + inc.staged);
        if (st !== Status.OK) throw new StrataError(st === Status.OUT_OF_MEMORY ? 'OUT_OF_MEMORY' : 'CORRUPTION', `a background job's output run could not be imported (status ${st})`);
      }
    } catch {
      // Memory refused, or damage between the worker and here: dropped, as a compaction
      // refused memory is; the inputs stay and a later flush picks again.
      this.incoming = undefined;
      this.stats.running = false;
      this.stats.failed++;
      e.bgFail(inc.id, Status.OK);
      if (inc.files !== undefined) disk!.discardRunFiles(inc.files);
      return;
    }
    if (inc.staged < r.outputs.length) return;
    this.incoming = undefined;
    this.stats.running = false;
    const st = e.bgInstall(inc.id);
    if (st !== Status.OK) { // dropped meanwhile (compact(), a write stop): its runs were freed
      this.stats.failed++;
      if (inc.files !== undefined) disk!.discardRunFiles(inc.files);
      return;
    }
    if (inc.files !== undefined) disk!.adoptRunFiles(inc.files);
    this.stats.jobs++;
    this.stats.bytesRead += r.bytesRead;
    this.stats.bytesWritten += r.outputs.reduce((n, o) => n + o.bytes, 0);
    this.stats.busyMs += r.ms;
  }

  /** The worker is gone or stuck: compaction goes back to slices on this thread. */
  private lose(why: string): void {
    const job = this.running;
    this.running = undefined;
    this.outgoing = undefined;
    if (this.incoming !== undefined) { this.engine.bgFail(this.incoming.id, Status.OK); this.incoming = undefined; }
    this.stats.running = false;
    this.stats.lost = why;
    this.closed = true;
    this.engine.bgDelegate(false); // drops the job; the engine merges the next one itself
    this.executor?.close();
    if (job?.outputIds !== undefined) this.disk?.discardRunFiles(job.outputIds);
  }
}

function reserveIds(e: Engine, n: number): number[] {
  const first = e.takeRunIds(n);
  return Array.from({ length: n }, (_, i) => first + i);
}

/** Runs `fn` from the event loop, soon: setImmediate in Node (unref'd: it keeps no process
 *  alive), a zero timeout in browsers. */
function later(fn: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(fn).unref?.();
  else setTimeout(fn, 0);
}

/** A failure of an input file's size or read (ImageRunFiles), told apart from a failure to
 *  copy out of the engine: the former is the background error, as a worker's read is. */
class InputFileError extends Error {}

function inputFile<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new InputFileError((err as Error)?.message ?? String(err), { cause: err });
  }
}
