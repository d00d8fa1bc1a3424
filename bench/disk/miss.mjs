// What a block-cache miss costs, A/B across builds (docs/PERFORMANCE.md, "A block-cache
// miss"): `node bench/disk/miss.mjs [dist dir …]` (default dist/). Each round is a fresh
// child process that loads every build, fills an on-disk store per build (bench:peers'
// data: 16-hex-character keys in random order, 100-byte values, then a full compaction) and
// closes them. Then, for each block cache size (half the run files' bytes; larger than them,
// all hits; none, every get a miss), it reopens every store with it, reads every key once
// (warm-up), and times G random gets of present keys in slices of 5,000, the builds taking
// turns slice by slice, so a busy machine slows them alike. Per build: medians over the
// rounds of µs per get with each cache, the miss fractions, and the cost of one miss two
// ways: (µs per get with half − µs all hits) / miss fraction, and µs with none − µs all
// hits. Asserts nothing.
//   --entries N (300,000)  --gets G (200,000)  --rounds R (3)
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { makeData, makeValue } from '../lib/data.mjs';
import { root, median } from '../lib/dist.mjs';

const o = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 300_000, min: 1000 },
  gets: { type: 'int', default: 200_000, min: 5000 },
  rounds: { type: 'int', default: 3, min: 1 },
  child: { type: 'on' },
}, { usage: 'node bench/disk/miss.mjs [--entries N] [--gets G] [--rounds R] [dist dir …]', rest: true });
const dists = o._.length > 0 ? o._ : [join(root, 'dist')];
const CACHES = ['half', 'all', 'none'];
const SLICE = 5000;

if (o.child) {
  const d = makeData(o.entries);
  const builds = [];
  try {
    for (const dist of dists) {
      const lib = await import(pathToFileURL(resolve(dist, 'index.js')).href);
      const dir = mkdtempSync(join(tmpdir(), 'strata-miss-'));
      builds.push({ lib, dir });
      const s = await lib.Store.open({ path: dir, keyCodec: lib.codecs.utf8, valueCodec: lib.codecs.bytes });
      for (let i = 0; i < o.entries; i += 1000) s.putAll(d.keys.slice(i, i + 1000).map((k, j) => [k, makeValue(i + j)]));
      await s.compact();
      await s.close();
    }
    const out = dists.map(() => ({}));
    for (const cache of CACHES) {
      for (const b of builds) {
        const runBytes = readdirSync(b.dir).filter((f) => f.endsWith('.run')).reduce((n, f) => n + statSync(join(b.dir, f)).size, 0);
        const blockCacheBytes = cache === 'half' ? Math.floor(runBytes / 2) : cache === 'all' ? 2 * runBytes : 0;
        b.s = await b.lib.Store.open({ path: b.dir, keyCodec: b.lib.codecs.utf8, valueCodec: b.lib.codecs.bytes, blockCacheBytes });
        for (let i = 0; i < o.entries; i++) b.s.get(d.keys[d.getOrder[i]]); // warm-up
        b.before = b.s.stats().blockCache;
        b.ms = 0;
        b.runBytes = runBytes;
      }
      for (let from = 0; from < o.gets; from += SLICE) {
        for (const b of builds) {
          const t = performance.now();
          for (let i = from; i < from + SLICE; i++) if (b.s.get(d.keys[d.getOrder[(i * 7919) % o.entries]]) === undefined) throw new Error('a key is missing');
          b.ms += performance.now() - t;
        }
      }
      for (const [n, b] of builds.entries()) {
        const after = b.s.stats().blockCache;
        out[n][cache] = { us: b.ms * 1000 / o.gets, misses: (after.misses - b.before.misses) / o.gets };
        out[n].runBytes = b.runBytes;
        await b.s.close();
      }
    }
    console.log(JSON.stringify(out));
  } finally {
    for (const b of builds) rmSync(b.dir, { recursive: true, force: true });
  }
} else {
  const rounds = [];
  const script = fileURLToPath(import.meta.url);
  for (let r = 0; r < o.rounds; r++) {
    const p = spawnSync(process.execPath, [script, '--entries', String(o.entries), '--gets', String(o.gets), '--child', ...dists], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(p.stderr);
    rounds.push(JSON.parse(p.stdout.trim().split('\n').pop()));
  }
  dists.forEach((dist, b) => {
    const rs = rounds.map((round) => round[b]);
    const us = (c) => median(rs.map((x) => x[c].us));
    const miss = (c) => median(rs.map((x) => x[c].misses));
    const fromHalf = median(rs.map((x) => (x.half.us - x.all.us) / x.half.misses));
    const fromNone = median(rs.map((x) => x.none.us - x.all.us));
    console.log(`${dist}: runs ${(rs[0].runBytes / 2 ** 20).toFixed(1)} MiB`);
    for (const c of CACHES) console.log(`  cache ${c.padEnd(4)}: ${us(c).toFixed(2)} µs per get (${(1000 / us(c)).toFixed(0)}k gets/s), ${(miss(c) * 100).toFixed(1)}% misses`);
    console.log(`  one miss: ${fromHalf.toFixed(2)} µs (from half), ${fromNone.toFixed(2)} µs (from none)`);
    console.log(`  rounds (µs per get, half / all / none): ${rs.map((x) => CACHES.map((c) => x[c].us.toFixed(2)).join(' / ')).join(', ')}`);
  });
  console.log(`(${o.entries} entries, ${o.gets} timed gets, builds taking turns every ${SLICE}; median of ${o.rounds} rounds)`);
}
