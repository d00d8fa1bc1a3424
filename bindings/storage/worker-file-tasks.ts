// File tasks (file-tasks.ts) run on a worker thread: one for the process, shared by its
// stores, each through a channel of its own (a store's tasks stay in order; stores' tasks
// interleave). The store's thread submits a task and goes on; it learns what is done from a
// counter in shared memory at its next call, and blocks on it (Atomics.wait) only when it
// must have its files durable now: flush, close, a checkpoint, or a backlog past its bound.
// INVARIANT: done[0] is the last ticket the worker finished; a failure's message is posted
// before its ticket is stored there.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { StrataError } from '../errors.js';
import { builtScript } from './built-script.js';
import { FILE_TASK_WAIT_MS, fileWorkerLost, type FileTask, type FileTasks } from './file-tasks.js';
import { goneFlag, isGone, waitUnlessGone } from './worker-gone.js';

/** The thread, its stores' callbacks for its end, and the flag it raises as it exits
 *  (worker-gone.ts: a store blocked on it cannot see the 'exit' event). */
interface FileWorker { worker: Worker; stores: Set<(why: string) => void>; gone: Int32Array }
let shared: FileWorker | undefined;
const EXITED = 'the file worker exited';

function start(script: URL): FileWorker {
  const gone = goneFlag();
  const worker = new Worker(script, { workerData: { gone } });
  // It does not keep the process alive: a task cut short by exit leaves a file no manifest
  // names yet (deleted at the next open), and the log still holds every acknowledged write.
  worker.unref();
  const w: FileWorker = { worker, stores: new Set(), gone };
  const end = (why: string) => {
    if (shared === w) shared = undefined;
    for (const tell of [...w.stores]) tell(why);
    w.stores.clear();
  };
  worker.on('error', (err) => end(`the file worker failed: ${err?.message ?? err}`));
  worker.on('exit', (code) => end(`the file worker exited (code ${code})`));
  return w;
}

export class WorkerFileTasks implements FileTasks {
  private readonly port: MessagePort;
  private readonly doneTicket = new Int32Array(new SharedArrayBuffer(4));
  private readonly thread: FileWorker;
  private last = 0;
  private seen = 0;
  /** Submitted write tasks not known done: [ticket, bytes], oldest first. */
  private readonly inFlight: [number, number][] = [];
  pendingBytes = 0;
  readonly offThread = true;
  readonly submitted = { tasks: 0, bytes: 0 };
  private failure: StrataError | undefined;
  private lost: string | undefined;
  private readonly lose = (why: string) => {
    this.lost ??= why;
    Atomics.notify(this.doneTicket, 0);
  };

  /** The file worker's tasks for a new store; undefined where its script is missing. */
  static create(): WorkerFileTasks | undefined {
    if (shared !== undefined && !isGone(shared.gone)) return new WorkerFileTasks(shared);
    const script = builtScript('file-worker.js');
    return script === undefined ? undefined : new WorkerFileTasks(shared = start(script));
  }

  private constructor(thread: FileWorker) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref();
    this.thread = thread;
    this.thread.stores.add(this.lose);
    this.thread.worker.postMessage({ port: port2, done: this.doneTicket }, [port2]);
  }

  /** The worker thread (tests end it to check a store survives losing it). */
  get worker(): Worker { return this.thread.worker; }

  submit(task: FileTask): number {
    const ticket = ++this.last;
    this.submitted.tasks++;
    if (task.op === 'write') {
      // A copy: the bytes are a view of linear memory, which the store's next call reuses.
      const bytes = task.bytes.slice();
      const n = bytes.length; // before the transfer empties it
      this.port.postMessage({ ticket, task: { ...task, bytes } }, [bytes.buffer as ArrayBuffer]);
      this.inFlight.push([ticket, n]);
      this.submitted.bytes += n;
      this.pendingBytes += n;
    } else {
      this.port.postMessage({ ticket, task });
    }
    return ticket;
  }

  done(): number {
    // The flag before the counter: a worker that finished a ticket and then exited is not
    // reported lost for that ticket.
    if (this.lost === undefined && isGone(this.thread.gone)) this.lost = EXITED;
    const d = Atomics.load(this.doneTicket, 0);
    if (d !== this.seen) {
      this.seen = d;
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        this.failure ??= new StrataError('IO_ERROR', (m.message as { message: string }).message);
      }
      while (this.inFlight.length > 0 && this.inFlight[0][0] <= d) this.pendingBytes -= this.inFlight.shift()![1];
    }
    if (this.failure) throw this.failure;
    if (this.lost !== undefined && d < this.last) throw fileWorkerLost(this.lost);
    return d;
  }

  waitAll(): void { this.waitFor(this.last); }

  waitBelow(bytes: number): void {
    if (this.pendingBytes < bytes) return;
    // Past the oldest task that leaves fewer bytes pending.
    let left = this.pendingBytes;
    for (const [ticket, n] of this.inFlight) {
      left -= n;
      if (left < bytes) { this.waitFor(ticket); return; }
    }
  }

  waitFor(ticket: number, timeoutMs = FILE_TASK_WAIT_MS): number {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const d = this.done();
      if (d >= ticket) return d;
      if (performance.now() >= until) throw fileWorkerLost(`the file worker did not finish a task in ${timeoutMs} ms`);
      waitUnlessGone(this.doneTicket, 0, d, until, this.thread.gone);
    }
  }

  close(): void {
    try { this.waitFor(this.last); } finally {
      this.port.close();
      const w = this.thread;
      if (w.stores.delete(this.lose) && w.stores.size === 0) {
        if (shared === w) shared = undefined;
        void w.worker.terminate();
      }
    }
  }
}
