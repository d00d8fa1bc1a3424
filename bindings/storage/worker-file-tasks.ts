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

interface FileWorker { worker: Worker; stores: Set<(why: string) => void> }
let shared: FileWorker | undefined;

function start(script: URL): FileWorker {
  const worker = new Worker(script);
  // It does not keep the process alive: a task cut short by exit leaves a file no manifest
  // names yet (deleted at the next open), and the log still holds every acknowledged write.
  worker.unref();
  const w: FileWorker = { worker, stores: new Set() };
  const end = (why: string) => {
    if (shared === w) shared = undefined;
    for (const gone of [...w.stores]) gone(why);
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
  private readonly gone = (why: string) => {
    this.lost ??= why;
    Atomics.notify(this.doneTicket, 0);
  };

  /** The file worker's tasks for a new store; undefined where its script is missing. */
  static create(): WorkerFileTasks | undefined {
    if (shared !== undefined) return new WorkerFileTasks(shared);
    const script = builtScript('file-worker.js');
    return script === undefined ? undefined : new WorkerFileTasks(shared = start(script));
  }

  private constructor(thread: FileWorker) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref();
    this.thread = thread;
    this.thread.stores.add(this.gone);
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
      const left = until - performance.now();
      if (left <= 0) throw fileWorkerLost(`the file worker did not finish a task in ${timeoutMs} ms`);
      Atomics.wait(this.doneTicket, 0, d, left);
    }
  }

  close(): void {
    try { this.waitFor(this.last); } finally {
      this.port.close();
      const w = this.thread;
      if (w.stores.delete(this.gone) && w.stores.size === 0) {
        if (shared === w) shared = undefined;
        void w.worker.terminate();
      }
    }
  }
}
