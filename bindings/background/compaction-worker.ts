// The background worker's script (dist/compaction-worker.js; worker-executor.ts starts it):
// runs each job it is sent in a fresh engine and posts the result back, then raises the
// flag the store's thread polls and waits on.
import { workerData, type MessagePort } from 'node:worker_threads';
import { runMergeJob, failureOf } from './merge-job.js';
import { transferables, type CompactionJob, type JobResult } from './job.js';

const { module, port, flag } = workerData as { module: WebAssembly.Module; port: MessagePort; flag: Int32Array };

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
