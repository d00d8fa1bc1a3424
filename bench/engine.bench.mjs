// strata-kv engine benchmark (`npm run bench`): tinybench 6 over the public API of the built
// package, on in-memory stores with the default tuning. Prints a table; asserts nothing —
// numbers belong in this report, not in tests.
//
// Calls that take about a microsecond are timed 100 to a sample (tinybench's
// overriddenDuration): one timer read per call would cost about as much as the call. Their
// median and p99 are therefore of 100-call means, not of single calls.
//
//   node bench/engine.bench.mjs [--entries 500000] [--time 1500]
import os from 'node:os';
import { Bench, hrtimeNow } from 'tinybench';
import { Store, codecs } from '../dist/index.js';
import { parseArgs } from './lib/args.mjs';
import { fmix32, hex8 } from './lib/keys.mjs';

const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 500_000, min: 1000 },
  time: { type: 'int', default: 1500, min: 1 },
}, { usage: 'node bench/engine.bench.mjs [--entries N (read store)] [--time ms (per point task)]' });
const PRELOAD = opts.entries; // entries in the read store; at 500k a full scan takes about a second
const VALUE_BYTES = 100;
const INNER = 100;          // calls per sample for the sub-microsecond-scale tasks
const BATCH = 1_000;        // putAll batch
const RANGE_LEN = 100;
const POOL = 1_000_000;     // write keys; puts cycle through them, so later passes overwrite

// ---- data ------------------------------------------------------------------------------

/** 16 hex chars (fmix32 is a bijection, so keys built on it never repeat); distinct for every i < 2^32. Indices ≥ PRELOAD are absent from the read store. */
const keyOf = (i) => hex8(fmix32(Math.imul(i, 0x9e3779b9) ^ 0xbe7c)) + hex8(fmix32(i ^ 0x5eed5eed));

let seed = 0x5eed;
/** mulberry32, fixed seed: the same keys are read in every run. */
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const value = new Uint8Array(VALUE_BYTES).map(() => Math.floor(rand() * 256));
const readKeys = Array.from({ length: PRELOAD }, (_, i) => keyOf(i));
const sortedKeys = [...readKeys].sort();   // fixed-width hex: string order = byte order
const hitKeys = Array.from({ length: 100_000 }, () => readKeys[Math.floor(rand() * PRELOAD)]);
const missKeys = Array.from({ length: 100_000 }, (_, j) => keyOf(PRELOAD + j));
const rangeStarts = Uint32Array.from({ length: 10_000 }, () => Math.floor(rand() * (PRELOAD - RANGE_LEN)));
// Write keys come from a range of indices disjoint from the read keys.
const writeKeys = Array.from({ length: POOL }, (_, j) => keyOf(2 ** 31 + j));
const writeBatches = [];
for (let b = 0; b < POOL; b += BATCH) writeBatches.push(writeKeys.slice(b, b + BATCH).map((k) => [k, value]));

// ---- stores ------------------------------------------------------------------------------

const open = () => Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });
const readStore = await open();
const loadStart = hrtimeNow();
for (let b = 0; b < PRELOAD; b += BATCH) {
  const batch = [];
  for (let i = b; i < Math.min(b + BATCH, PRELOAD); i++) batch.push([readKeys[i], value]);
  readStore.putAll(batch);
}
const loadMs = hrtimeNow() - loadStart;
// Separate stores for the write tasks: the read store keeps a fixed shape while it is measured.
const putStore = await open();
const putAllStore = await open();

// ---- tasks -------------------------------------------------------------------------------

/** Runs `call(j)` INNER times and reports the mean per call as the sample. */
function inner(call) {
  let j = 0;
  return (next) => () => {
    const t0 = hrtimeNow();
    for (let n = 0; n < INNER; n++) call(next(j++));
    const ms = hrtimeNow() - t0;
    return { overriddenDuration: ms / INNER, overriddenIterationCost: ms };
  };
}
const cycle = (arr) => (j) => arr[j % arr.length];

let sink = 0;   // results feed this so no call can be optimised away
const fast = new Bench({ name: 'point and batch operations', time: opts.time, timestampProvider: 'hrtimeNow' });
const tasks = [];   // [name, entries per call, calls per sample]
function add(bench, name, fn, entriesPerCall, callsPerSample) {
  bench.add(name, fn, { async: false });
  tasks.push([bench, name, entriesPerCall, callsPerSample]);
}

add(fast, 'put (single)', inner((k) => putStore.put(k, value))(cycle(writeKeys)), 1, INNER);
let nextBatch = 0;
add(fast, `putAll (${BATCH.toLocaleString('en-US')} entries)`, () => {
  putAllStore.putAll(writeBatches[nextBatch++ % writeBatches.length]);
}, BATCH, 1);
add(fast, 'get (hit)', inner((k) => { sink += readStore.get(k).length; })(cycle(hitKeys)), 1, INNER);
add(fast, 'get (miss)', inner((k) => { if (readStore.get(k) === undefined) sink++; })(cycle(missKeys)), 1, INNER);
let nextRange = 0;
add(fast, `range of ${RANGE_LEN}`, () => {
  const p = rangeStarts[nextRange++ % rangeStarts.length];
  let n = 0;
  for (const [, v] of readStore.range(sortedKeys[p], sortedKeys[p + RANGE_LEN])) n += v.length > 0 ? 1 : 0;
  if (n !== RANGE_LEN) throw new Error(`range returned ${n} entries, expected ${RANGE_LEN}`);
  sink += n;
}, RANGE_LEN, 1);

// A scan of 500k takes ~1 s, so it gets its own bench with a handful of iterations.
const slow = new Bench({ name: 'full scan', time: 0, iterations: 5, warmupIterations: 1, warmupTime: 0, timestampProvider: 'hrtimeNow' });
add(slow, `full scan (${PRELOAD.toLocaleString('en-US')})`, () => {
  let n = 0;
  for (const _ of readStore.all()) n++;
  if (n !== PRELOAD) throw new Error(`scan returned ${n} entries, expected ${PRELOAD}`);
  sink += n;
}, PRELOAD, 1);

// ---- run and report ----------------------------------------------------------------------

const started = hrtimeNow();
const shape = (s) => s.levels.filter((l) => l.runs > 0).map((l) => `L${l.level} ${l.runs}`).join(', ');
const rs = readStore.stats();
console.log(`strata-kv engine benchmark — tinybench 6, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'})`);
console.log(`read store: ${PRELOAD.toLocaleString('en-US')} entries (16-char hex keys, ${VALUE_BYTES}-byte values), ` +
  `loaded in ${(loadMs / 1000).toFixed(1)} s; runs ${shape(rs)}; memtable ${rs.memtable.entries.toLocaleString('en-US')} entries`);
console.log('write tasks run on their own empty stores; keys cycle through a pool of 1,000,000 (later passes overwrite)\n');

await fast.run();
await slow.run();

function fmtTime(ms) {
  if (ms < 1e-3) return `${(ms * 1e6).toFixed(0)} ns`;
  if (ms < 1) return `${(ms * 1e3).toFixed(2)} µs`;
  if (ms < 1000) return `${ms.toFixed(2)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
const fmtRate = (n) => Math.round(n).toLocaleString('en-US');
const cols = [['task', 22], ['ops/s', 12], ['mean', 11], ['median', 11], ['p99', 11], ['max', 11], ['± rme', 8], ['entries/s', 13], ['samples', 9]];
console.log(cols.map(([h, w], c) => (c === 0 ? h.padEnd(w) : h.padStart(w))).join(' '));
console.log(cols.map(([, w]) => '─'.repeat(w)).join(' '));
let failed = false;
for (const [bench, name, entriesPerCall, callsPerSample] of tasks) {
  const r = bench.getTask(name).result;
  if (r.state !== 'completed') {
    failed = true;
    console.log(`${name.padEnd(22)} ${r.state}${r.error ? `: ${r.error.message}` : ''}`);
    continue;
  }
  const l = r.latency;
  const opsPerSec = 1000 / l.mean;   // mean latency per call → calls per second
  const cells = [
    name.padEnd(22), fmtRate(opsPerSec).padStart(12), fmtTime(l.mean).padStart(11), fmtTime(l.p50).padStart(11),
    fmtTime(l.p99).padStart(11), fmtTime(l.max).padStart(11), `${l.rme.toFixed(1)}%`.padStart(8),
    (entriesPerCall > 1 ? fmtRate(opsPerSec * entriesPerCall) : '').padStart(13),
    `${l.samplesCount}${callsPerSample > 1 ? `×${callsPerSample}` : ''}`.padStart(9),
  ];
  console.log(cells.join(' '));
}
const ws = putAllStore.stats();
console.log(`\nops/s = 1 / mean latency. samples ×${INNER}: each sample is the mean of ${INNER} calls, so its median, p99 and max`);
console.log('are of 100-call means. ± rme: relative margin of error of the mean (95%).');
console.log(`after the run: put store ${putStore.stats().sequence.toLocaleString('en-US')} writes, putAll store ${ws.sequence.toLocaleString('en-US')} writes ` +
  `(runs ${shape(ws)}, write amplification ${ws.writeAmplification.toFixed(2)}); ${((hrtimeNow() - started) / 1000).toFixed(1)} s benchmarking`);
if (sink < 0) console.log(sink);   // never true; keeps `sink` observable

await Promise.all([readStore.close(), putStore.close(), putAllStore.close()]);
if (failed) process.exitCode = 1;
