// Full scan and seek + 100 of the in-memory Store, A/B across builds (`node bench/scan.mjs
// [dist dir …]`, default dist/): bench:peers' scan and seek workloads alone, on the same
// data (1M 16-hex-character utf8 keys, 100-byte values, filled by put in random key order).
// Each round runs one child process per build, the builds alternating, so a busy second
// core loads them alike; prints per-build medians and their ratios to the first build.
// `--disk`: the store has a `path` (its runs file-backed, read through the block cache, sized
// to hold them) and is flushed before timing. Asserts nothing.
//   --entries N (1,000,000)  --rounds R (5)  --scans S (3 a process)  --seek-reps R (3 × 10,000)  --disk
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { median } from './lib/dist.mjs';
import { makeData, makeValue, SEEKS, SEEK_LENGTH } from './lib/data.mjs';

const o = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 1_000_000, min: 1 },
  rounds: { type: 'int', default: 5, min: 1 },
  scans: { type: 'int', default: 3, min: 1 },
  seekReps: { type: 'int', default: 3, min: 1 },
  disk: { type: 'on' },
  child: { type: 'string', default: undefined },
}, { usage: 'node bench/scan.mjs [--entries N] [--rounds R] [--scans S] [--seek-reps R] [--disk] [dist dir …]', rest: true });
const { entries, rounds, scans, seekReps } = o;

if (o.child !== undefined) {
  const dist = o.child;
  const { Store, codecs } = await import(pathToFileURL(resolve(dist, 'index.js')).href);
  const d = makeData(entries);
  const dir = o.disk ? mkdtempSync(join(tmpdir(), 'strata-scan-')) : undefined;
  const store = await Store.open({
    keyCodec: codecs.utf8, valueCodec: codecs.bytes,
    ...(dir === undefined ? {} : { path: dir, blockCacheBytes: 256 << 20 }),
  });
  for (let i = 0; i < entries; i++) store.put(d.keys[i], makeValue(i));
  if (dir !== undefined) await store.flush();
  const scanRates = [], seekRates = [];
  let check = '';
  for (let r = 0; r < scans; r++) {
    const t0 = performance.now();
    let n = 0, bytes = 0;
    for (const [, v] of store.all()) { n++; bytes += v.length; }
    scanRates.push(n / ((performance.now() - t0) / 1000));
    check = `${n}/${bytes}`;
  }
  for (let r = 0; r < seekReps; r++) {
    const t0 = performance.now();
    let n = 0, bytes = 0;
    for (let i = 0; i < SEEKS; i++) {
      for (const [, v] of store.range(d.seekKeys[i], '\uffff', { limit: SEEK_LENGTH })) { n++; bytes += v.length; }
    }
    seekRates.push(SEEKS / ((performance.now() - t0) / 1000));
    check += ` ${n}/${bytes}`;
  }
  await store.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ scan: median(scanRates), seek: median(seekRates), check }));
} else {
  const here = fileURLToPath(import.meta.url);
  const dists = o._.length > 0 ? o._ : [fileURLToPath(new URL('../dist', import.meta.url))];
  const results = dists.map(() => ({ scan: [], seek: [] }));
  for (let r = 0; r < rounds; r++) {
    for (let b = 0; b < dists.length; b++) {
      const out = spawnSync(process.execPath, [here, '--child', dists[b], '--entries', String(entries),
        '--scans', String(scans), '--seek-reps', String(seekReps), ...(o.disk ? ['--disk'] : [])], { encoding: 'utf8' });
      if (out.status !== 0) { process.stderr.write(out.stderr); process.exit(1); }
      const res = JSON.parse(out.stdout);
      results[b].scan.push(res.scan);
      results[b].seek.push(res.seek);
      console.log(`round ${r + 1} ${dists[b]}: scan ${(res.scan / 1e6).toFixed(3)}M entries/s, seek+${SEEK_LENGTH} ${(res.seek / 1e3).toFixed(2)}k/s  [${res.check}]`);
    }
  }
  const base = results[0];
  console.log(`\n${entries.toLocaleString('en-US')} entries, ${rounds} rounds; per build the median of its rounds (each round: the median of ${scans} scans, of ${seekReps} × ${SEEKS.toLocaleString('en-US')} seeks)`);
  console.log('build | scan M entries/s | ratio | seek+100 k/s | ratio');
  for (let b = 0; b < dists.length; b++) {
    const s = median(results[b].scan), k = median(results[b].seek);
    console.log(`${dists[b]} | ${(s / 1e6).toFixed(3)} | ${(s / median(base.scan)).toFixed(2)}× | ${(k / 1e3).toFixed(2)} | ${(k / median(base.seek)).toFixed(2)}×`);
  }
}
