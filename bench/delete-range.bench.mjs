// Clearing a range (`node bench/delete-range.bench.mjs`, issue #20's targets): 1M keys
// (11-byte keys, 100-byte values) in memory, cleared by deleteAll (one tombstone a key) and
// by deleteRange (one range tombstone); then gets of 200k keys written after, once
// compacted, in each store and in one that never held the 1M. Uses the built package (npm
// run build). Prints; asserts nothing.
import { Store, codecs } from '../dist/index.js';

const N = 1_000_000;
const key = (i) => `k${String(i).padStart(8, '0')}`;
const keys = Array.from({ length: N }, (_, i) => key(i));

async function filled(n) {
  const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
  for (let i = 0; i < n; i += 1000) s.putAll(keys.slice(i, i + 1000).map((k) => [k, 'v'.repeat(100)]));
  return s;
}

/** Gets per second of 200k keys written after the clear, once compacted (3 passes). */
async function readsAfter(s) {
  const later = Array.from({ length: 200_000 }, (_, i) => key(N + i));
  for (const k of later) s.put(k, 'w');
  await s.compact();
  const t = performance.now();
  for (let r = 0; r < 3; r++) for (const k of later) if (s.get(k) === undefined) throw new Error(`lost ${k}`);
  return Math.round((3 * later.length) / (performance.now() - t) * 1000);
}

const a = await filled(N);
let t = performance.now();
a.deleteAll(keys);
const allMs = performance.now() - t;
const b = await filled(N);
t = performance.now();
b.deleteRange(key(0), key(N));
const rangeMs = performance.now() - t;
console.log(`clear 1M keys: deleteAll ${allMs.toFixed(1)} ms, deleteRange ${rangeMs.toFixed(3)} ms (${Math.round(allMs / rangeMs)}x)`);
console.log(`gets/s of 200k later keys, compacted: after deleteAll ${await readsAfter(a)}, after deleteRange ${await readsAfter(b)}, never filled ${await readsAfter(await filled(0))}`);
