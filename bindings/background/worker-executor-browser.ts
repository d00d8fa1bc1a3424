// Jobs on a dedicated Worker in browsers (compaction-worker-browser.ts), shared by the
// stores of this page or worker as Node's threads are (worker-pool.ts): at most
// min(4, cores − 1) workers, each store attached to the one serving the fewest, through a
// MessagePort of its own.
// A browser hands a message over only when the receiving thread turns its event loop; there
// is no receiveMessageOnPort to take it synchronously. So a result reaches the store between
// its calls (poll, or onReady while it is idle), and wait() — back-pressure, compact(),
// close() — cannot block for one: the store then copies the job's inputs out again and has
// it merged on its own thread (runHere), and the worker's result, coming later, is dropped
// by its ticket. Where the page is cross-origin isolated, each job carries a mailbox in
// shared memory (result-mailbox.ts) that the worker writes its result into: the store takes
// it at its next call whether or not its event loop turned, and in a Worker (not a page's
// main thread, where Atomics.wait is refused) a wait blocks for it. Otherwise a store whose
// caller never yields gets its compactions merged on its own thread, as with slices
// (stats().background.mergedHere).
import { Status } from '../engine/abi.js';
import { runMergeJob } from './merge-job.js';
import { transferables, type CompactionJob, type JobResult, type MergeExecutor, ReadyCallback } from './job.js';
import { FILLED, MERGING, WAITING, mailboxFor, mailboxesAvailable, stateOf, takeResult, waitWhile, type ResultMessage } from './result-mailbox.js';

/** A wait gives up on a job its worker has not begun within this long (the worker is busy
 *  with other stores' jobs, or never started) and merges it here instead. */
const START_LIMIT_MS = 2000;
/** A wait blocks in slices this long, to check that the job has begun. */
const WAIT_SLICE_MS = 50;

/** Whether this thread may block in Atomics.wait: a Worker's may, a page's main thread not. */
const mayBlock = (): boolean => typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function';

interface PooledWorker { worker: Worker; stores: Set<(why: string) => void> }
/** How long prepare() waits for the worker to take a store's port. */
const ATTACH_WAIT_MS = 10_000;
const pool: PooledWorker[] = [];

const poolSize = (): number => Math.max(1, Math.min(4, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1));

/** Where the worker's script is: beside this build's entry (dist/). A bundler that copies
 *  workers (Vite, webpack 5) recognises `new Worker(new URL(…, import.meta.url))`. */
const startWorker = (): Worker => new Worker(new URL('./compaction-worker-browser.js', import.meta.url), { type: 'module', name: 'strata-kv compaction' });

function attach(module: WebAssembly.Module, port: MessagePort, gone: (why: string) => void, start: () => Worker): () => void {
  let w = pool.length < poolSize() ? undefined : pool.reduce((a, b) => (b.stores.size < a.stores.size ? b : a));
  if (w === undefined) {
    const worker = start();
    const pw: PooledWorker = { worker, stores: new Set() };
    // A script that fails to load or throws: every store attached goes back to slices.
    worker.addEventListener('error', (ev) => {
      ev.preventDefault?.();
      const i = pool.indexOf(pw);
      if (i >= 0) pool.splice(i, 1);
      for (const g of [...pw.stores]) g(`the background worker failed: ${ev.message || 'its script did not load'}`);
      pw.stores.clear();
      worker.terminate();
    });
    pool.push(pw);
    w = pw;
  }
  const pw = w;
  pw.stores.add(gone);
  pw.worker.postMessage({ module, port }, [port]);
  return () => {
    if (!pw.stores.delete(gone) || pw.stores.size > 0) return;
    const i = pool.indexOf(pw);
    if (i >= 0) pool.splice(i, 1);
    pw.worker.terminate();
  };
}

export class BrowserWorkerExecutor implements MergeExecutor {
  /** This store's channel to its worker, made at the first job (attach). */
  private port: MessagePort | undefined;
  private detach: (() => void) | undefined;
  private attached: Promise<void> | undefined;
  /** The job out (its id) and its ticket, until its result comes. */
  private jobId: number | undefined;
  private ticket = 0;
  private result: JobResult | undefined;
  private lost: string | undefined;
  private readonly ready = new ReadyCallback();
  /** The job out's mailbox (its header words), where results come back in shared memory. */
  private box: Int32Array | undefined;
  private submittedAt = 0;
  private readonly mailboxes: boolean;
  private readonly blocks: boolean;

  /** `start`: makes the worker; `mailboxes`, `blocks`: whether results come back in shared
   *  memory, and whether a wait may block for one (tests choose; by default where possible). */
  constructor(private readonly module: WebAssembly.Module, private readonly start: () => Worker = startWorker,
              options: { mailboxes?: boolean; blocks?: boolean } = {}) {
    this.mailboxes = options.mailboxes ?? mailboxesAvailable();
    this.blocks = this.mailboxes && (options.blocks ?? mayBlock());
  }

  /** Attaches this store to a worker and waits until the worker has taken its port. A
   *  browser hands a Worker its script and its messages only while the thread that made it
   *  turns its event loop, so a store whose caller never yields would otherwise wait on a
   *  worker that never saw its job: Store.open (async) waits here, at most ATTACH_WAIT_MS. */
  async prepare(): Promise<void> {
    const attached = this.channel();
    await Promise.race([attached, new Promise((resolve) => setTimeout(resolve, ATTACH_WAIT_MS))]);
  }

  /** This store's port to its worker, attached at the first use; resolves when the worker
   *  says it has the port. */
  private channel(): Promise<void> {
    if (this.port === undefined) {
      const { port1, port2 } = new MessageChannel();
      this.port = port1;
      this.attached = new Promise((resolve) => {
        this.port!.onmessage = ({ data }: MessageEvent<ResultMessage | { attached: true }>) => {
          if ('attached' in data) resolve();
          else this.arrived(data.ticket, data.result);
        };
      });
      this.detach = attach(this.module, port2, (why) => { this.lost ??= why; this.ready.fire(); }, this.start);
    }
    return this.attached!;
  }

  submit(job: CompactionJob): void {
    void this.channel(); // attached at the first job if prepare() was not awaited
    this.jobId = job.id;
    this.result = undefined;
    this.box = this.mailboxes ? mailboxFor(job) : undefined;
    this.submittedAt = performance.now();
    this.port!.postMessage({ ticket: ++this.ticket, job, box: this.box?.buffer as SharedArrayBuffer | undefined }, transferables(job));
  }

  /** A message from the worker: the result, or (undefined) word that it is in the mailbox. */
  private arrived(ticket: number, result: JobResult | undefined): void {
    if (ticket !== this.ticket || this.jobId === undefined) return; // merged here meanwhile
    if (result !== undefined) {
      this.jobId = undefined;
      this.box = undefined;
      this.result = result;
    }
    this.ready.fire();
  }

  poll(): JobResult | undefined {
    const r = this.result;
    if (r !== undefined) { this.result = undefined; return r; }
    if (this.box !== undefined && this.jobId !== undefined && stateOf(this.box) === FILLED) {
      const filled = takeResult(this.box);
      this.jobId = undefined;
      this.box = undefined;
      return filled;
    }
    if (this.lost === undefined || this.jobId === undefined) return undefined;
    const id = this.jobId;
    this.jobId = undefined;
    return { id, ok: false, status: Status.IO_ERROR, run: 0, at: 0, what: 0, message: this.lost, workerLost: true };
  }

  /** The result if it has come or, with a mailbox in a Worker, once it does (at most
   *  `timeoutMs`, and not for a job its worker has not begun within START_LIMIT_MS). */
  wait(timeoutMs: number): JobResult | undefined {
    const r = this.poll();
    const box = this.box;
    if (r !== undefined || !this.blocks || box === undefined || this.jobId === undefined) return r;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const state = stateOf(box);
      if (state !== WAITING && state !== MERGING) break;
      const now = performance.now();
      if (now >= deadline || (state === WAITING && now - this.submittedAt >= START_LIMIT_MS)) break;
      waitWhile(box, state, Math.min(WAIT_SLICE_MS, deadline - now));
    }
    return this.poll();
  }

  /** Merges `job` (the one out, its inputs copied again) on this thread; the worker's result
   *  for it will be dropped. */
  runHere(job: CompactionJob): JobResult {
    this.ticket++;
    this.jobId = undefined;
    this.box = undefined;
    return runMergeJob(job, this.module);
  }

  onReady(ready: () => void): void {
    this.ready.set(ready);
    if (this.result !== undefined || this.lost !== undefined) queueMicrotask(() => this.ready.fire());
  }

  close(): void {
    this.ready.clear();
    this.jobId = undefined;
    this.box = undefined;
    this.port?.close();
    this.detach?.();
  }
}
