// Jobs run on a worker thread (Node worker_threads, shared by the process's stores:
// worker-pool.ts), each store through a channel of its own. The store's
// thread never awaits it: it submits a job, goes on, and takes the result at a safe point
// of its own — at its next call (poll: a flag in shared memory, then the message received
// synchronously), or from the event loop when it is idle (onReady: Atomics.waitAsync).
// Back-pressure blocks in Atomics.wait, bounded by the caller's timeout.
// INVARIANT: flag[0] is 1 exactly while a result is posted and not yet taken; the worker
// posts the message before it sets the flag, so a set flag means the message is there.
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { Status } from '../engine/abi.js';
import { transferables, type CompactionJob, type JobResult, type MergeExecutor, ReadyCallback } from './job.js';
import { attach } from './worker-pool.js';
import { isGone, waitUnlessGone } from '../storage/worker-gone.js';

/** Atomics.waitAsync (Node 16+; in TypeScript's lib from es2024). */
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}

export class WorkerExecutor implements MergeExecutor {
  /** The pool's worker this store's jobs run on (worker-pool.ts). */
  readonly worker: Worker;
  /** Raised by the worker as it exits (storage/worker-gone.ts). */
  private readonly gone: Int32Array;
  private readonly detach: () => void;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private jobId = 0;
  private lost: string | undefined;
  private readonly ready = new ReadyCallback();

  constructor(module: WebAssembly.Module) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref();
    const attached = attach(module, port2, this.flag, (why) => {
      this.lost ??= why;
      Atomics.store(this.flag, 0, 1);
      this.ready.fire();
    });
    this.worker = attached.worker;
    this.gone = attached.gone;
    this.detach = attached.detach;
  }

  submit(job: CompactionJob): void {
    this.jobId = job.id;
    // A worker already gone answers at once (poll reports it lost), not after a wait's timeout.
    Atomics.store(this.flag, 0, this.lost === undefined && !isGone(this.gone) ? 0 : 1);
    this.port.postMessage(job, transferables(job));
  }

  poll(): JobResult | undefined {
    if (Atomics.load(this.flag, 0) !== 1) return undefined;
    const m = receiveMessageOnPort(this.port);
    if (m !== undefined) {
      Atomics.store(this.flag, 0, 0);
      return m.message as JobResult;
    }
    if (this.lost === undefined && isGone(this.gone)) this.lost = 'the background worker exited';
    if (this.lost === undefined) return undefined;
    return { id: this.jobId, ok: false, status: Status.IO_ERROR, run: 0, at: 0, what: 0, message: this.lost, workerLost: true };
  }

  wait(timeoutMs: number): JobResult | undefined {
    waitUnlessGone(this.flag, 0, 0, performance.now() + timeoutMs, this.gone);
    return this.poll();
  }

  onReady(ready: () => void): void {
    this.ready.set(ready);
    const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.flag, 0, 0);
    if (w.async) void (w.value as Promise<string>).then(() => this.ready.fire());
    else queueMicrotask(() => this.ready.fire());
  }

  close(): void {
    this.ready.clear();
    this.port.close();
    this.detach();
  }
}
