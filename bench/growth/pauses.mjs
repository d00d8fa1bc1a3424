// Where a put's pause comes from, beside what bench/growth/run.mjs measures end to end:
//   1. the memtable flush, with compaction off: a whole flush (flush() of a nearly full
//      4 MiB memtable), and the slices puts pay since flushes run in slices (docs/LSM.md,
//      "Flush in slices"): the longest put that advanced a flush;
//   2. the merge rate: bytes of entries a compaction reads per ms (compact() over the runs
//      of step 1), which turns a slice's byte budget into time;
//   3. back-pressure: the puts that did a stop slice, after a restore filled level 0 while a
//      compaction was in progress (docs/LSM.md, "Compaction in slices").
// Every store here opens with `background: false`: these are the pauses of compaction in
// slices on the store's thread (with the background worker, bench/growth/run.mjs shows the
// puts' pauses and the worker's stalls).
// Usage: npm run build && node bench/growth/pauses.mjs [entries, default 1000000] (or --entries N)
import { Store } from '../../dist/index.js';
import { parseArgs } from '../lib/args.mjs';
import { key } from './keys.mjs';

const n = parseArgs(process.argv.slice(2), { entries: { type: 'int', default: 1_000_000, min: 1 } },
  { usage: 'node bench/growth/pauses.mjs [entries]', positional: ['entries'] }).entries;
const value = new Uint8Array(100).fill(7);
const ms = (x) => x.toFixed(1);
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `n=${s.length} p50 ${ms(s[Math.floor(s.length / 2)] ?? 0)} ms, max ${ms(s[s.length - 1] ?? 0)} ms`;
};

// 1. Flushes, compaction off.
const store = await Store.open({ autoCompaction: false, background: false });
const slices = [];
for (let i = 0; i < n; i++) {
  const flushing = store.stats().flush.running === 1;
  const t = performance.now();
  store.put(key(i), value);
  const d = performance.now() - t;
  if (flushing || store.stats().flush.running === 1) slices.push(d);
}
const whole = [];
for (let r = 0; r < 5; r++) {
  const s1 = await Store.open({ autoCompaction: false, background: false });
  let i = 0;
  while (s1.stats().memtable.bytes < 0.95 * (4 << 20)) s1.put(key(i++), value);
  const t = performance.now();
  await s1.flush();
  whole.push(performance.now() - t);
  await s1.close();
}
console.log(`memtable flush (4 MiB → level-0 run) whole: ${whole.map(ms).join(', ')} ms; in slices, puts that advanced one: ${summary(slices)}`);

// 2. Merge rate.
const before = store.stats();
let t = performance.now();
await store.compact();
const compactMs = performance.now() - t;
const read = before.runBytes + before.memtable.bytes;
console.log(`merge rate (compact() of ${(read / 2 ** 20).toFixed(0)} MiB in ${ms(compactMs)} ms): ${(read / 2 ** 20 / (compactMs / 1000)).toFixed(0)} MiB/s, so a 1 MiB slice ≈ ${ms(compactMs / (read / 2 ** 20))} ms`);
await store.close();

// 3. Back-pressure: a restore fills level 0 while a compaction is in progress.
const s = await Store.open({ background: false });
let i = 0;
while (i < 2_000_000 && !(i > 200_000 && s.stats().compaction.running === 1)) s.put(key(i++), value);
let seq = s.stats().sequence;
const records = [];
for (let j = 0; j < 12 * 30_000; j++) records.push({ partition: 0, seq: ++seq, key: key(10_000_000 + j), value });
await s.restore(records, { chunkRecords: 30_000 });
const l0 = s.stats().levels[0].runs;
const stalls = [];
const others = [];
for (let j = 0; j < 200_000; j++) {
  const stalled = s.stats().counters.compactionStalls;
  t = performance.now();
  s.put(key(20_000_000 + j), value);
  const d = performance.now() - t;
  (s.stats().counters.compactionStalls > stalled ? stalls : others).push(d);
}
console.log(`back-pressure after a restore left ${l0} level-0 runs: stalled puts ${summary(stalls)}; other puts max ${ms(others.reduce((a, b) => Math.max(a, b), 0))} ms`);
await s.close();
