// Retention in a WindowStore (`node bench/window-retention.bench.mjs [windows]`, docs/WINDOWS.md):
// N windows (1,000 keys x N/1,000 window starts, 1 ms apart, 8-byte values) in memory, all
// in expired segments, dropped (a) by advancing the stream time, which writes one range
// tombstone, and (b) by deleting each window (a null put per window), as a store without
// segments must. Then a scan of what is left (10,000 windows put after), and of the same
// windows in a store that never held the N. Uses the built package
// (npm run build). Prints; asserts nothing.
import { WindowStore, codecs } from '../dist/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const KEYS = 1000;
const PER_KEY = N / KEYS;
const key = (i) => `user-${String(i).padStart(6, '0')}`;
const value = codecs.utf8.encode('12345678');

async function filled() {
  // Every window starts below 2 * PER_KEY; retention PER_KEY, segments of PER_KEY / 4.
  const w = await WindowStore.open({ windowMs: 1, retentionMs: PER_KEY, segmentMs: Math.max(1, PER_KEY / 4), keyCodec: codecs.utf8 });
  for (let t = 0; t < PER_KEY; t++) for (let k = 0; k < KEYS; k++) w.put(key(k), t, value);
  return w;
}

/** Puts 10,000 later windows, then times a full scan (they are all that is live): the
 *  fastest of 5, past the JIT's warm-up. */
function scanAfter(w) {
  const from = PER_KEY + 1; // live in both: (a) at stream time 2 * PER_KEY, (b) with no range tombstone
  for (let i = 0; i < 10_000; i++) w.put(key(i % KEYS), from + Math.floor(i / KEYS), value);
  let n = 0, best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    n = 0;
    for (const _ of w.all()) n++;
    best = Math.min(best, performance.now() - t);
  }
  return { n, ms: best };
}

const a = await filled();
let t = performance.now();
a.advanceStreamTime(2 * PER_KEY); // every window started below PER_KEY + 1: all expired
const rangeMs = performance.now() - t;
const ra = a.stats().retentionDeletes;
const sa = scanAfter(a);

const b = await filled();
t = performance.now();
for (let s = 0; s < PER_KEY; s++) for (let k = 0; k < KEYS; k++) b.put(key(k), s, null);
const deleteMs = performance.now() - t;
const sb = scanAfter(b);
const fresh = await WindowStore.open({ windowMs: 1, retentionMs: PER_KEY, segmentMs: Math.max(1, PER_KEY / 4), keyCodec: codecs.utf8 });
const sc = scanAfter(fresh);

console.log(`drop ${N} windows: one deleteRange (advanceStreamTime, ${ra} range tombstone) ${rangeMs.toFixed(3)} ms; a delete per window ${deleteMs.toFixed(1)} ms (${Math.round(deleteMs / rangeMs)}x)`);
console.log(`then a scan of the ${sa.n} / ${sb.n} / ${sc.n} live windows: after the range tombstone ${sa.ms.toFixed(1)} ms, after the deletes ${sb.ms.toFixed(1)} ms, in a store that never held the N ${sc.ms.toFixed(1)} ms`);
await a.close();
await b.close();
await fresh.close();
