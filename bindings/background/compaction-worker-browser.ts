// A background worker's script in browsers (dist/compaction-worker-browser.js, a dedicated
// module Worker; worker-executor-browser.ts starts it): each store attached to it sends the
// engine's compiled module and a MessagePort of its own; each job that arrives on that port
// runs in this thread's engine for its tuning (merge-job.ts, as in Node's worker) and its
// result goes back on the port with the job's ticket. Jobs of all its stores run one at a time.
import { runMergeJob, failureOf } from './merge-job.js';
import { transferables, type CompactionJob, type JobResult } from './job.js';

interface Attach { module: WebAssembly.Module; port: MessagePort }
interface Ticketed { ticket: number; job: CompactionJob }

(globalThis as unknown as { onmessage: (ev: MessageEvent<Attach>) => void }).onmessage = ({ data: { module, port } }) => {
  port.onmessage = ({ data: { ticket, job } }: MessageEvent<Ticketed>) => {
    let result: JobResult;
    try {
      result = runMergeJob(job, module);
    } catch (err) {
      result = failureOf(job.id, 0, err);
    }
    port.postMessage({ ticket, result }, transferables(result));
  };
};
