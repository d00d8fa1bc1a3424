// Counting with merge operators (`node bench/merge.bench.mjs`, issue #20's target: merge at
// least 2x the throughput of get + put): 1M increments of counters drawn at random from 1M
// keys (16-byte hex, codecs.json numbers), in memory and on disk (`path`, no sync). Each
// measurement runs in a process of its own (as the peer comparisons do), alternating:
// get + put, merge(k, 1, 'add'), and a blind put(k, 1) (not a count: the bound a merge,
// itself a blind write, can approach); then, in the same process, a pass of gets over every
// counter before compact() (merge chains to fold) and one after. Medians of 3 rounds; every
// count is checked against a plain Map. Uses the built package (npm run build). Prints;
// asserts nothing. MERGE_BENCH_N sets the size.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.MERGE_BENCH_N ?? 1_000_000);
const ROUNDS = 3;
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];

async function child(how, disk) {
  const { Store, codecs } = await import('../dist/index.js');
  const keys = Array.from({ length: N }, (_, i) => i.toString(16).padStart(16, '0'));
  let x = 0x9e3779b9;
  const picks = Uint32Array.from({ length: N }, () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % N; });
  const expected = new Map();
  for (const i of picks) expected.set(keys[i], (expected.get(keys[i]) ?? 0) + 1);
  const path = disk ? mkdtempSync(join(tmpdir(), 'strata-merge-bench-')) : undefined;
  const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.json, path });
  const gets = () => {
    const t = performance.now();
    for (const [k] of expected) s.get(k);
    return expected.size / (performance.now() - t) * 1000;
  };
  const t = performance.now();
  if (how === 'merge') for (const i of picks) s.merge(keys[i], 1, 'add');
  else if (how === 'put') for (const i of picks) s.put(keys[i], 1);
  else for (const i of picks) { const k = keys[i]; s.put(k, (s.get(k) ?? 0) + 1); }
  const rate = N / (performance.now() - t) * 1000;
  const before = gets();
  await s.compact();
  const after = gets();
  if (how !== 'put') for (const [k, n] of expected) if (s.get(k) !== n) throw new Error(`${k}: ${s.get(k)} != ${n}`);
  await s.close();
  if (path) rmSync(path, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ rate, before, after, distinct: expected.size }));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4] === 'disk');
} else {
  const self = fileURLToPath(import.meta.url);
  for (const disk of [false, true]) {
    const res = { rmw: [], merge: [], put: [] };
    let distinct = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const how of ['rmw', 'merge', 'put']) {
        const out = spawnSync(process.execPath, [self, '--child', how, disk ? 'disk' : 'memory'], { encoding: 'utf8', env: process.env });
        if (out.status !== 0) throw new Error(out.stderr);
        const o = JSON.parse(out.stdout);
        res[how].push(o);
        distinct = o.distinct;
      }
    }
    const m = (how, f) => Math.round(median(res[how].map(f)));
    const rmw = m('rmw', (o) => o.rate), mg = m('merge', (o) => o.rate);
    console.log(`${disk ? 'on disk' : 'in memory'}: ${N} increments over ${N} keys (${distinct} distinct), medians of ${ROUNDS}, a process each`);
    console.log(`  get + put: ${rmw} increments/s; merge: ${mg} increments/s (${(mg / rmw).toFixed(2)}x); blind put(k, 1): ${m('put', (o) => o.rate)}/s (${(m('put', (o) => o.rate) / rmw).toFixed(2)}x)`);
    console.log(`  gets/s of every counter, before compact: after get + put ${m('rmw', (o) => o.before)}, after merge ${m('merge', (o) => o.before)}`);
    console.log(`  gets/s of every counter, after compact:  after get + put ${m('rmw', (o) => o.after)}, after merge ${m('merge', (o) => o.after)}`);
  }
}
