// Jobs run on a worker thread (Node worker_threads), one worker per store. The store's
// thread never awaits it: it submits a job, goes on, and takes the result at a safe point
// of its own — at its next call (poll: a flag in shared memory, then the message received
// synchronously), or from the event loop when it is idle (onReady: Atomics.waitAsync).
// Back-pressure blocks in Atomics.wait, bounded by the caller's timeout.
// INVARIANT: flag[0] is 1 exactly while a result is posted and not yet taken; the worker
// posts the message before it sets the flag, so a set flag means the message is there.
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Status } from '../engine/abi.js';
import { transferables, type CompactionJob, type JobResult, type MergeExecutor } from './job.js';

/** The worker's script: dist/compaction-worker.js beside the bundle that loads this; from
 *  the sources (the test suite) the built one, which the tests' global setup keeps fresh. */
function workerScript(): URL {
  const beside = new URL('./compaction-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../dist/compaction-worker.js', import.meta.url);
}

/** Atomics.waitAsync (Node 16+; in TypeScript's lib from es2024). */
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}

export class WorkerExecutor implements MergeExecutor {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private jobId = 0;
  private lost: string | undefined;
  private ready: (() => void) | undefined;

  constructor(module: WebAssembly.Module) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(workerScript(), { workerData: { module, port: port2, flag: this.flag }, transferList: [port2] });
    // Neither keeps the process alive: a job cut short by exit leaves only an unlisted file.
    this.worker.unref();
    this.port.unref();
    const gone = (why: string) => {
      this.lost ??= why;
      Atomics.store(this.flag, 0, 1);
      this.fire();
    };
    this.worker.on('error', (err) => gone(`the background worker failed: ${err?.message ?? err}`));
    this.worker.on('exit', (code) => gone(`the background worker exited (code ${code})`));
  }

  submit(job: CompactionJob): void {
    this.jobId = job.id;
    // A worker already gone answers at once (poll reports it lost), not after a wait's timeout.
    Atomics.store(this.flag, 0, this.lost === undefined ? 0 : 1);
    this.port.postMessage(job, transferables(job));
  }

  poll(): JobResult | undefined {
    if (Atomics.load(this.flag, 0) !== 1) return undefined;
    const m = receiveMessageOnPort(this.port);
    if (m !== undefined) {
      Atomics.store(this.flag, 0, 0);
      return m.message as JobResult;
    }
    if (this.lost === undefined) return undefined;
    return { id: this.jobId, ok: false, status: Status.IO_ERROR, run: 0, at: 0, what: 0, message: this.lost, workerLost: true };
  }

  wait(timeoutMs: number): JobResult | undefined {
    Atomics.wait(this.flag, 0, 0, timeoutMs);
    return this.poll();
  }

  onReady(ready: () => void): void {
    this.ready = ready;
    const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.flag, 0, 0);
    if (w.async) void (w.value as Promise<string>).then(() => this.fire());
    else queueMicrotask(() => this.fire());
  }

  private fire(): void {
    const ready = this.ready;
    this.ready = undefined;
    ready?.();
  }

  close(): void {
    this.ready = undefined;
    void this.worker.terminate();
  }
}
