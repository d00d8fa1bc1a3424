// A background worker's script (dist/compaction-worker.js; worker-pool.ts starts it): each
// store attached to it sends its channel (a MessagePort and the flag it waits on); the
// worker runs each job that arrives there in a fresh engine, posts the result back on that
// port, then raises that store's flag. Jobs of all its stores run one at a time.
// If the thread itself ends, it raises `gone` and every store's flag on the way out
// (storage/worker-gone.ts): a store blocked waiting for its job learns at once.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { runMergeJob, failureOf } from './merge-job.js';
import { transferables, type CompactionJob, type JobResult } from './job.js';
import { raiseOnExit } from '../storage/worker-gone.js';

const { module, gone } = workerData as { module: WebAssembly.Module; gone: Int32Array };
const flags = raiseOnExit(gone, 1);

parentPort!.on('message', ({ port, flag }: { port: MessagePort; flag: Int32Array }) => {
  flags.push(flag);
  port.on('message', (job: CompactionJob) => {
    let result: JobResult;
    try {
      result = runMergeJob(job, module);
    } catch (err) {
      result = failureOf(job.id, 0, err);
    }
    port.postMessage(result, transferables(result));
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
});
