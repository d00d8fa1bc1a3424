// Counting with merge operators (`node bench/merge.bench.mjs`, issue #20's target: merge at
// least 2x the throughput of get + put): 1M increments of counters drawn at random from 1M
// keys (16-byte hex, codecs.json numbers), in memory and on disk (`path`, no sync), each
// way in a fresh store: get + put, and merge(k, 1, 'add'). Then the reads the merges leave:
// gets of every counter before compaction (operand chains to fold) and after compact().
// Medians of 3 rounds; every count is checked against a plain Map. Uses the built package
// (npm run build). Prints; asserts nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs } from '../dist/index.js';

const N = Number(process.env.MERGE_BENCH_N ?? 1_000_000);
const ROUNDS = 3;
const keys = Array.from({ length: N }, (_, i) => i.toString(16).padStart(16, '0'));
let x = 0x9e3779b9;
const picks = Uint32Array.from({ length: N }, () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % N; });
const expected = new Map();
for (const i of picks) expected.set(keys[i], (expected.get(keys[i]) ?? 0) + 1);

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

async function open(disk) {
  const path = disk ? mkdtempSync(join(tmpdir(), 'strata-merge-bench-')) : undefined;
  const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.json, path });
  return { s, done: async () => { await s.close(); if (path) rmSync(path, { recursive: true, force: true }); } };
}

function check(s) {
  for (const [k, n] of expected) if (s.get(k) !== n) throw new Error(`${k}: ${s.get(k)} != ${n}`);
}

/** ops/s of a full pass of gets over every counter. */
function getsPerSecond(s) {
  const t = performance.now();
  for (const [k] of expected) s.get(k);
  return expected.size / (performance.now() - t) * 1000;
}

async function run(disk, how) {
  const { s, done } = await open(disk);
  const t = performance.now();
  if (how === 'merge') for (const i of picks) s.merge(keys[i], 1, 'add');
  else for (const i of picks) { const k = keys[i]; s.put(k, (s.get(k) ?? 0) + 1); }
  const rate = N / (performance.now() - t) * 1000;
  const before = getsPerSecond(s);
  await s.compact();
  const after = getsPerSecond(s);
  check(s);
  await done();
  return { rate, before, after };
}

for (const disk of [false, true]) {
  const res = { 'get + put': [], merge: [] };
  for (let r = 0; r < ROUNDS; r++) for (const how of ['get + put', 'merge']) res[how].push(await run(disk, how === 'merge' ? 'merge' : 'rmw'));
  const m = (how, f) => median(res[how].map(f));
  const rmw = m('get + put', (o) => o.rate), mg = m('merge', (o) => o.rate);
  console.log(`${disk ? 'on disk' : 'in memory'}: ${N} increments over ${N} keys (${expected.size} distinct), medians of ${ROUNDS}`);
  console.log(`  get + put: ${Math.round(rmw)} increments/s; merge: ${Math.round(mg)} increments/s (${(mg / rmw).toFixed(2)}x)`);
  console.log(`  gets/s of every counter, before compact: after get + put ${Math.round(m('get + put', (o) => o.before))}, after merge ${Math.round(m('merge', (o) => o.before))}`);
  console.log(`  gets/s of every counter, after compact:  after get + put ${Math.round(m('get + put', (o) => o.after))}, after merge ${Math.round(m('merge', (o) => o.after))}`);
}
