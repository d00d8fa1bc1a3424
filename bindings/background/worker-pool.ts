// The process's background worker threads, shared by its stores: a PartitionedStore of 16
// partitions, or many stores, must not start a thread each on a machine of 2 cores (RocksDB
// shares one background pool per Env the same way). At most min(4, cores - 1) workers, at
// least one; a store's executor is attached to the one serving the fewest stores. A worker
// runs the jobs of its stores one at a time, each store through its own MessagePort.
// A worker ends when its last store detaches; one that fails or exits tells every store
// attached to it, whose compactions then go back to slices on their own threads.
import { Worker, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { builtScript } from '../storage/built-script.js';
import { goneFlag, isGone } from '../storage/worker-gone.js';

/** A thread, its stores' callbacks for its end, and the flag it raises as it exits
 *  (storage/worker-gone.ts: a store blocked on it cannot see the 'exit' event). */
interface PooledWorker { worker: Worker; stores: Set<(why: string) => void>; gone: Int32Array }

const pool: PooledWorker[] = [];

/** How many workers the process may run. */
export const poolSize = (): number => Math.max(1, Math.min(4, availableParallelism() - 1));

/**
 * Attaches a store's channel (the worker's end of it, and the flag it raises after posting a
 * result) to a worker; `gone` is told if that worker fails or exits. Returns the worker (its
 * thread, for tests that end it) and the detach function.
 */
export function attach(module: WebAssembly.Module, port: MessagePort, flag: Int32Array, gone: (why: string) => void): { worker: Worker; gone: Int32Array; detach: () => void } {
  // A worker that raised its flag has exited; its 'exit' event may not have come yet.
  for (const w of pool.filter((p) => isGone(p.gone))) drop(w);
  const w = pool.length < poolSize() ? start(module) : pool.reduce((a, b) => (b.stores.size < a.stores.size ? b : a));
  w.stores.add(gone);
  w.worker.postMessage({ port, flag }, [port]);
  const detach = () => {
    if (!w.stores.delete(gone) || w.stores.size > 0) return;
    drop(w);
    void w.worker.terminate();
  };
  return { worker: w.worker, gone: w.gone, detach };
}

function start(module: WebAssembly.Module): PooledWorker {
  // No script: the worker fails at once, and its stores go back to slices (end, below).
  const gone = goneFlag();
  const worker = new Worker(builtScript('compaction-worker.js') ?? new URL('./compaction-worker.js', import.meta.url), { workerData: { module, gone } });
  // It does not keep the process alive: a job cut short by exit leaves only an unlisted file.
  worker.unref();
  const w: PooledWorker = { worker, stores: new Set(), gone };
  const end = (why: string) => {
    drop(w);
    for (const gone of [...w.stores]) gone(why);
    w.stores.clear();
  };
  worker.on('error', (err) => end(`the background worker failed: ${err?.message ?? err}`));
  worker.on('exit', (code) => end(`the background worker exited (code ${code})`));
  pool.push(w);
  return w;
}

function drop(w: PooledWorker): void {
  const i = pool.indexOf(w);
  if (i >= 0) pool.splice(i, 1);
}
