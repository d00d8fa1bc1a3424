// A stand-in for the browser's compaction Worker (bindings/background/compaction-worker-browser.ts)
// whose steps a test schedules: it is handed a store's MessagePort as the real one is, keeps
// the jobs that arrive there, merges one when told (the same runMergeJob) and posts the result
// back (in the job's mailbox, when it has one, as the real one does); it fails, as a script
// that does not load does, when told. Messages cross
// real MessagePorts, so they arrive only when the event loop turns, as in a browser.
import { serveJob, type JobMessage } from '../../bindings/background/result-mailbox.js';

type ErrorListener = (ev: { message: string; preventDefault(): void }) => void;

export class ScheduledBrowserWorker {
  private port: MessagePort | undefined;
  private readonly errorListeners: ErrorListener[] = [];
  /** Jobs arrived and not merged yet, oldest first. */
  readonly held: JobMessage[] = [];
  merged = 0;
  terminated = false;

  constructor(private readonly module: WebAssembly.Module) {}

  /** The executor's attach message: the store's port (and the module, which this has). */
  postMessage(m: { port: MessagePort }): void {
    this.port = m.port;
    this.port.onmessage = ({ data }: MessageEvent<JobMessage>) => { this.held.push(data); };
    this.port.postMessage({ attached: true });
  }

  addEventListener(type: string, listener: ErrorListener): void {
    if (type === 'error') this.errorListeners.push(listener);
  }

  terminate(): void {
    this.terminated = true;
    this.port?.close();
  }

  /** Merges the oldest job that has arrived and posts its result; false when none has. */
  mergeOne(): boolean {
    const m = this.held.shift();
    if (m === undefined || this.terminated) return false;
    serveJob(this.module, m, (r, transfer) => this.port!.postMessage(r, transfer));
    this.merged++;
    return true;
  }

  /** The worker fails (its 'error' event), as one whose script did not load. */
  fail(message: string): void {
    for (const l of this.errorListeners) l({ message, preventDefault() {} });
  }
}

/** Lets queued messages cross their ports (each hop is a turn of the event loop). */
export async function turnEventLoop(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}
