// Batched gets A/B across builds (issue #18): `node bench/get-many.bench.mjs [dist dir …]`
// (default dist/). On bench:peers' data (16-hex-character utf8 keys, 100-byte values, put in
// random key order), N keys put, then the same seeded random sample of keys read by single
// get and by getAll in batches of --batch, each pass timed --reps times (median kept):
// present keys, and a half-present mix (every other key absent). `--disk`: the store has a
// `path` (its runs file-backed) and a block cache large enough to hold them, read once
// untimed first so the timed passes find the data cached. Each round runs one child process
// per build, alternating, so a busy second core loads them alike; prints per-build medians
// of keys/s and their ratios to the first build. Asserts only that getAll and get agree.
//   --entries N (1,000,000)  --reads K (100,000)  --batch B (1,000)  --rounds R (3)  --reps P (3)  --disk
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { compareBuilds } from './lib/ab-builds.mjs';
import { parseArgs } from './lib/args.mjs';
import { median } from './lib/dist.mjs';
import { makeData, makeValue } from './lib/data.mjs';

const o = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 1_000_000, min: 1 },
  reads: { type: 'int', default: 100_000, min: 1 },
  batch: { type: 'int', default: 1000, min: 1 },
  rounds: { type: 'int', default: 3, min: 1 },
  reps: { type: 'int', default: 3, min: 1 },
  disk: { type: 'on' },
  child: { type: 'string', default: undefined },
}, { usage: 'node bench/get-many.bench.mjs [--entries N] [--reads K] [--batch B] [--rounds R] [--reps P] [--disk] [dist dir …]', rest: true });
const { entries, reads, batch, reps } = o;

if (o.child !== undefined) {
  const { Store, codecs } = await import(pathToFileURL(resolve(o.child, 'index.js')).href);
  const d = makeData(entries);
  const dir = o.disk ? mkdtempSync(join(tmpdir(), 'strata-get-many-')) : undefined;
  const store = await Store.open({
    keyCodec: codecs.utf8, valueCodec: codecs.bytes,
    ...(dir === undefined ? {} : { path: dir, blockCacheBytes: 256 << 20, maxMemoryBytes: 4 * 2 ** 30 }),
  });
  for (let i = 0; i < entries; i++) store.put(d.keys[i], makeValue(i));
  if (dir !== undefined) await store.flush();
  const n = Math.min(reads, entries) - (Math.min(reads, entries) % batch || 0);
  const hits = Array.from({ length: n }, (_, i) => d.keys[d.getOrder[i]]);
  const mixed = hits.map((k, i) => (i % 2 ? k : d.missing[i]));
  const out = {};
  const time = (label, keys) => {
    const batches = [];
    for (let i = 0; i < keys.length; i += batch) batches.push(keys.slice(i, i + batch));
    const single = () => { const r = new Array(keys.length); for (let i = 0; i < keys.length; i++) r[i] = store.get(keys[i]); return r; };
    const many = () => batches.flatMap((b) => store.getAll(b));
    // Same answers both ways (and the untimed pass that warms the block cache).
    const a = single(), b = many();
    for (let i = 0; i < a.length; i++) {
      if ((a[i] === undefined) !== (b[i] === undefined) || (a[i] !== undefined && a[i][0] !== b[i][0])) throw new Error(`getAll disagrees with get at ${i}`);
    }
    const rate = (f) => { const t = performance.now(); f(); return keys.length / ((performance.now() - t) / 1000); };
    const s = [], m = [];
    for (let r = 0; r < reps; r++) { s.push(rate(single)); m.push(rate(many)); }
    out[`get ${label}`] = median(s);
    out[`getAll(${batch}) ${label}`] = median(m);
  };
  time('hits', hits);
  time('½ hits', mixed);
  await store.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out));
} else {
  const extra = o.disk ? ['--disk'] : [];
  const medians = compareBuilds(fileURLToPath(import.meta.url), o._, { entries, rounds: o.rounds, args: ['--reads', String(reads), '--batch', String(batch), '--reps', String(reps), ...extra] });
  // The issue's measure: getAll's keys/s over single gets', per build.
  medians.forEach((m, b) => {
    const ratios = ['hits', '½ hits'].map((l) => `${l} ${(m[`getAll(${batch}) ${l}`] / m[`get ${l}`]).toFixed(2)}×`);
    console.log(`build ${b}: getAll/get ${ratios.join(', ')}`);
  });
}
