// The executor a store's background compactions get where none is given: a worker thread;
// and where a store with a log writes its run files: the file worker.
// (executor-browser.ts, the browser build's twin: a dedicated Worker, opt-in.)
import { WorkerExecutor } from './worker-executor.js';
import { WorkerFileTasks } from '../storage/worker-file-tasks.js';
import type { FileTasks } from '../storage/file-tasks.js';
import type { MergeExecutor } from './job.js';

export const workerAvailable = true;
/** Whether Store.open starts the worker (and waits for it) rather than the first job: in
 *  browsers, where a Worker starts only while the thread that made it yields. */
export const prepareAtOpen = false;
/** Whether a store with a directory and its log gets a worker without asking for one. */
export const onByDefault = true;

export function defaultExecutor(module: WebAssembly.Module): MergeExecutor {
  return new WorkerExecutor(module);
}

/** Where a store with a log writes its run files where no executor is given: the file
 *  worker; undefined (its own thread) where the worker's script is not there. */
export function defaultFileTasks(): FileTasks | undefined {
  return WorkerFileTasks.create();
}
