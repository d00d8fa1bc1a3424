// Preloaded (`node --require`) into the benchmark child processes, and so into every Node
// Worker they start (a Worker inherits the process's execArgv, preloads included): names
// each Worker's OS thread `node-worker` (/proc/thread-self/comm), which Node 20 leaves as
// "node" like its V8 and libuv helper threads. lib/threads.mjs then tells the Worker threads
// (in strata-kv's processes: the background compaction worker) from the helpers. Linux only;
// elsewhere, and where the name cannot be written, it does nothing.
const { isMainThread } = require('node:worker_threads');

if (!isMainThread && process.platform === 'linux') {
  try {
    require('node:fs').writeFileSync('/proc/thread-self/comm', 'node-worker');
  } catch {
    // Left unnamed: the thread counts as "other" in lib/threads.mjs.
  }
}
