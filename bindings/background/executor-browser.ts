// The browser build's twin of executor.ts: compactions on a dedicated Worker where one can
// start (worker-executor-browser.ts), opt-in (StoreOptions.background): a result reaches the
// store only when its thread yields to the event loop, so a caller that never yields gains
// nothing. No file worker: an OPFS store writes its run files on its own thread.
import { BrowserWorkerExecutor } from './worker-executor-browser.js';
import type { MergeExecutor } from './job.js';

export const workerAvailable = typeof Worker === 'function';
/** Whether Store.open starts the worker (and waits for it) rather than the first job: in
 *  browsers, where a Worker starts only while the thread that made it yields. */
export const prepareAtOpen = true;
/** Whether a store with a directory and its log gets a worker without asking for one. */
export const onByDefault = false;

export function defaultExecutor(module: WebAssembly.Module): MergeExecutor {
  return new BrowserWorkerExecutor(module);
}

export function defaultFileTasks(): undefined {
  return undefined;
}
