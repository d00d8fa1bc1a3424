// A background worker's script in browsers (dist/compaction-worker-browser.js, a dedicated
// module Worker; worker-executor-browser.ts starts it): each store attached to it sends the
// engine's compiled module and a MessagePort of its own; each job that arrives on that port
// runs in this thread's engine for its tuning (merge-job.ts, as in Node's worker) and its
// result goes back with the job's ticket, in the job's mailbox when it has one
// (result-mailbox.ts), else on the port. Jobs of all its stores run one at a time.
import { serveJob, type JobMessage } from './result-mailbox.js';

interface Attach { module: WebAssembly.Module; port: MessagePort }

(globalThis as unknown as { onmessage: (ev: MessageEvent<Attach>) => void }).onmessage = ({ data: { module, port } }) => {
  port.onmessage = ({ data }: MessageEvent<JobMessage>) => serveJob(module, data, (r, transfer) => port.postMessage(r, transfer));
  port.postMessage({ attached: true }); // the store's prepare() waits for this
};
