// The browser build's twin of executor.ts: no background worker yet. An OPFS store's run
// files are open in its own worker through exclusive sync access handles, which a second
// worker could not read, so compaction stays in slices on the store's thread.
import type { MergeExecutor } from './job.js';

export const workerAvailable = false;

export function defaultExecutor(_module: WebAssembly.Module): MergeExecutor {
  throw new Error('strata-kv: no background worker in this build');
}

export function defaultFileTasks(): never {
  throw new Error('strata-kv: no file worker in this build');
}
