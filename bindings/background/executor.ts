// The executor a store's background compactions get where none is given: a worker thread.
// (executor-browser.ts, the browser build's twin, has none yet: compaction there stays in
// slices on the store's thread.)
import { WorkerExecutor } from './worker-executor.js';
import type { MergeExecutor } from './job.js';

export const workerAvailable = true;

export function defaultExecutor(module: WebAssembly.Module): MergeExecutor {
  return new WorkerExecutor(module);
}
