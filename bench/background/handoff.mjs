// How a background compaction's run images should cross between the store's thread and its
// worker (issue #17, docs/LSM.md "Background compaction", "Why copies and not shared
// memory"): `node bench/background/handoff.mjs [--mib 2] [--jobs 200] [--rounds 3]`.
//
// Each way moves --jobs images of --mib MiB from one WebAssembly.Memory (the store's
// engine) to another (the worker's engine) and back, as a job's inputs and outputs do:
//   transfer: what strata-kv does today. The store's thread copies the image into a fresh
//             ArrayBuffer (`new Uint8Array(n)` + `set`, as background.ts fills an input), posts
//             it with the buffer in the transfer list; the worker copies it into its memory,
//             and its output comes back the same way (merge-job.ts `copyOut`, a `slice`).
//   shared:   a SharedArrayBuffer both threads keep for good, the image staged in it: the
//             store copies in, posts a notice, the worker copies out into its memory (and the
//             reverse for the output). The same two copies a way, no allocation, no transfer.
// A third way, both engines on one shared WebAssembly.Memory (no copy at all), cannot run:
// each engine is an AssemblyScript instance with its own allocator and runtime, which are
// not thread-safe (docs/LSM.md). Reported: wall time per image round trip, and the CPU of
// the store's thread, the worker and the process's other threads (V8's GC and compiler).
import { Worker } from 'node:worker_threads';
import { parseArgs } from '../lib/args.mjs';
import { median } from '../lib/dist.mjs';
import { cpuSnapshot, cpuSince } from '../lib/threads.mjs';

const o = parseArgs(process.argv.slice(2), {
  mib: { type: 'int', default: 2, min: 1 },
  jobs: { type: 'int', default: 200, min: 1 },
  rounds: { type: 'int', default: 3, min: 1 },
}, { usage: 'node bench/background/handoff.mjs [--mib M] [--jobs J] [--rounds R]' });
const bytes = o.mib << 20;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
try { require('node:fs').writeFileSync('/proc/thread-self/comm', 'node-worker'); } catch {} // lib/threads.mjs
const bytes = workerData.bytes;
const memory = new WebAssembly.Memory({ initial: (bytes * 2 >> 16) + 1 });
const u8 = new Uint8Array(memory.buffer);
if (workerData.way === 'transfer') {
  parentPort.on('message', (image) => {
    u8.set(image, 0);              // the input into the worker's engine
    u8[1] ^= 1;                    // the merge (not timed here)
    const out = u8.slice(0, bytes); // its output copied out (merge-job.ts copyOut)
    parentPort.postMessage(out, [out.buffer]);
  });
} else {
  const stage = new Uint8Array(workerData.sab);
  parentPort.on('message', () => {
    u8.set(stage.subarray(0, bytes), 0);
    u8[1] ^= 1;
    stage.set(u8.subarray(0, bytes), 0);
    parentPort.postMessage(0);
  });
}`;

async function run(way) {
  const memory = new WebAssembly.Memory({ initial: (bytes * 2 >> 16) + 1 });
  const u8 = new Uint8Array(memory.buffer);
  for (let i = 0; i < bytes; i += 4096) u8[i] = i >> 12;
  const sab = way === 'shared' ? new SharedArrayBuffer(bytes) : undefined;
  const stage = sab === undefined ? undefined : new Uint8Array(sab);
  const w = new Worker(WORKER, { eval: true, workerData: { bytes, way, sab } });
  await new Promise((r) => w.once('online', r));
  const roundTrip = () => new Promise((resolve) => {
    w.once('message', (out) => {
      if (way === 'transfer') u8.set(out, bytes); // the output into the store's engine
      else u8.set(stage.subarray(0, bytes), bytes);
      resolve();
    });
    if (way === 'transfer') {
      const image = new Uint8Array(bytes); // background.ts: the input's copy, filled
      image.set(u8.subarray(0, bytes), 0);
      w.postMessage(image, [image.buffer]);
    } else {
      stage.set(u8.subarray(0, bytes), 0);
      w.postMessage(0);
    }
  });
  for (let i = 0; i < 10; i++) await roundTrip(); // warm up
  const before = cpuSnapshot();
  const t = performance.now();
  for (let i = 0; i < o.jobs; i++) await roundTrip();
  const ms = performance.now() - t;
  const cpu = cpuSince(before);
  await w.terminate();
  return { msPerJob: ms / o.jobs, ...cpu };
}

const results = { transfer: [], shared: [] };
for (let r = 0; r < o.rounds; r++) for (const way of r % 2 ? ['shared', 'transfer'] : ['transfer', 'shared']) results[way].push(await run(way));
console.log(`${o.jobs} round trips of a ${o.mib} MiB image (in and out), medians of ${o.rounds} rounds:`);
for (const [way, rs] of Object.entries(results)) {
  const m = (f) => median(rs.map(f));
  console.log(`  ${way.padEnd(8)} ${m((x) => x.msPerJob).toFixed(3)} ms a round trip (${(2 * o.mib / (m((x) => x.msPerJob) / 1000) / 1024).toFixed(2)} GiB/s moved);` +
    ` CPU ms, all jobs: store's thread ${m((x) => x.mainMs)}, worker ${m((x) => x.workerMs)}, other threads ${m((x) => x.otherMs)}`);
}
