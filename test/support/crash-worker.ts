// Makes one of strata-kv's worker threads (the file worker, a background compaction worker)
// die of an uncaught error, as a bug in it would, and returns once it has — without turning
// the event loop, so the stores attached to it have not received its 'exit' event yet. That
// is the case storage/worker-gone.ts exists for: a store that then blocks on the worker.
import { MessageChannel, type Worker } from 'node:worker_threads';

/** `gone` is the worker's flag (storage/worker-gone.ts), raised by its 'exit' handler. */
export function crashWorker(worker: Worker, gone: Int32Array): void {
  const { port1, port2 } = new MessageChannel();
  // A channel whose counter is not a shared Int32Array: the worker's first message on it
  // ends in Atomics.store throwing, outside the try that guards the task or job itself.
  worker.postMessage({ port: port2, done: {}, flag: {} }, [port2]);
  port1.postMessage({});
  if (Atomics.wait(gone, 0, 0, 10_000) === 'timed-out') throw new Error('the worker did not exit within 10 s');
  port1.close();
}
