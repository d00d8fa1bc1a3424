// Jobs on a dedicated Worker in browsers (compaction-worker-browser.ts), shared by the
// stores of this page or worker as Node's threads are (worker-pool.ts): at most
// min(4, cores − 1) workers, each store attached to the one serving the fewest, through a
// MessagePort of its own.
// A browser hands a message over only when the receiving thread turns its event loop; there
// is no receiveMessageOnPort to take it synchronously. So a result reaches the store between
// its calls (poll, or onReady while it is idle), and wait() — back-pressure, compact(),
// close() — cannot block for one: the store then copies the job's inputs out again and has
// it merged on its own thread (runHere), and the worker's result, coming later, is dropped
// by its ticket. A store whose caller never yields thus gets its compactions merged on its
// own thread, as with slices (stats().background.mergedHere).
import { Status } from '../engine/abi.js';
import { runMergeJob } from './merge-job.js';
import { transferables, type CompactionJob, type JobResult, type MergeExecutor } from './job.js';

interface PooledWorker { worker: Worker; stores: Set<(why: string) => void> }
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
  /** The job out (its id) and its ticket, until its result comes. */
  private jobId: number | undefined;
  private ticket = 0;
  private result: JobResult | undefined;
  private lost: string | undefined;
  private ready: (() => void) | undefined;
  /** `start`: makes the worker (tests give one of their own). */
  constructor(private readonly module: WebAssembly.Module, private readonly start: () => Worker = startWorker) {}

  submit(job: CompactionJob): void {
    this.jobId = job.id;
    this.result = undefined;
    if (this.port === undefined) {
      const { port1, port2 } = new MessageChannel();
      this.port = port1;
      this.port.onmessage = ({ data }: MessageEvent<{ ticket: number; result: JobResult }>) => this.arrived(data.ticket, data.result);
      this.detach = attach(this.module, port2, (why) => { this.lost ??= why; this.fire(); }, this.start);
    }
    this.port.postMessage({ ticket: ++this.ticket, job }, transferables(job));
  }

  private arrived(ticket: number, result: JobResult): void {
    if (ticket !== this.ticket || this.jobId === undefined) return; // merged here meanwhile
    this.jobId = undefined;
    this.result = result;
    this.fire();
  }

  poll(): JobResult | undefined {
    const r = this.result;
    if (r !== undefined) { this.result = undefined; return r; }
    if (this.lost === undefined || this.jobId === undefined) return undefined;
    const id = this.jobId;
    this.jobId = undefined;
    return { id, ok: false, status: Status.IO_ERROR, run: 0, at: 0, what: 0, message: this.lost, workerLost: true };
  }

  /** The result if it has come: a browser cannot block for a message. */
  wait(): JobResult | undefined { return this.poll(); }

  /** Merges `job` (the one out, its inputs copied again) on this thread; the worker's result
   *  for it will be dropped. */
  runHere(job: CompactionJob): JobResult {
    this.ticket++;
    this.jobId = undefined;
    return runMergeJob(job, this.module);
  }

  onReady(ready: () => void): void {
    this.ready = ready;
    if (this.result !== undefined || this.lost !== undefined) queueMicrotask(() => this.fire());
  }

  private fire(): void {
    const ready = this.ready;
    this.ready = undefined;
    ready?.();
  }

  close(): void {
    this.ready = undefined;
    this.jobId = undefined;
    this.port?.close();
    this.detach?.();
  }
}
