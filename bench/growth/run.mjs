// npm run bench:growth — how strata-kv behaves as it grows: for each size (default 100k,
// 1M, 10M entries; 16-byte keys in random order, 100-byte values, in memory) one child
// process fills an empty store with put() and measures, per size:
//   - fill throughput and write pauses: every put is timed, so a put that had to flush the
//     memtable or run a compaction shows as a pause (p50, p99, p99.9, max, count > 10 ms);
//   - random get and missing-key get throughput (100k lookups), full scan throughput;
//   - resident memory per entry after the fill (RSS minus a fresh process's RSS).
// Writes docs/bench-growth.json and .svg (--out: another directory). Medians of --rounds runs
// per size.
//
// With --disk the store has a path (a fresh directory under os.tmpdir()): writes also go to
// the write-ahead log, and the puts that finish a flush or a compaction write its run files
// (fsynced) and the manifest; results go to docs/bench-growth-disk.json.
//
//   node bench/growth/run.mjs [--sizes 100000,1000000,10000000] [--rounds 1] [--disk] [--no-save] [--out DIR]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { root, median } from '../lib/dist.mjs';
import { growthVsLogN, renderGrowthSvg } from './svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const opts = parseArgs(process.argv.slice(2), {
  sizes: { type: 'ints', default: [100_000, 1_000_000, 10_000_000], min: 1000 },
  rounds: { type: 'int', default: 1, min: 1 },
  save: { type: 'no' },
  disk: { type: 'on' },
  out: { type: 'string', default: join(root, 'docs') },
}, { usage: 'node bench/growth/run.mjs [--sizes a,b,c] [--rounds R] [--disk] [--no-save] [--out DIR]' });

const results = [];
for (const n of opts.sizes) {
  const runs = [];
  for (let r = 0; r < opts.rounds; r++) {
    const child = spawnSync(process.execPath, ['--max-old-space-size=8192', join(here, 'child.mjs'), String(n), ...(opts.disk ? ['disk'] : [])], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (child.status !== 0) throw new Error(`child for ${n} entries failed: ${child.stderr}`);
    runs.push(JSON.parse(child.stdout));
  }
  const m = {};
  for (const k of Object.keys(runs[0])) m[k] = median(runs.map((x) => x[k]));
  results.push({ entries: n, ...m });
  console.error(`${n} entries done`);
}

const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const rows = [
  ['entries', ...results.map((r) => fmt(r.entries))],
  ['fill puts/s', ...results.map((r) => fmt(r.fillOpsPerSec))],
  ['put p50 µs', ...results.map((r) => fmt(r.p50Us, 1))],
  ['put p99 µs', ...results.map((r) => fmt(r.p99Us, 1))],
  ['put p99.9 µs', ...results.map((r) => fmt(r.p999Us, 1))],
  ['max pause ms', ...results.map((r) => fmt(r.maxPauseMs, 1))],
  ['puts > 10 ms', ...results.map((r) => fmt(r.pausesOver10Ms))],
  ['get hit/s', ...results.map((r) => fmt(r.getOpsPerSec))],
  ['get miss/s', ...results.map((r) => fmt(r.missOpsPerSec))],
  ['scan entries/s', ...results.map((r) => fmt(r.scanPerSec))],
  ['RSS B/entry', ...results.map((r) => fmt(r.rssBytesPerEntry))],
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
console.log(rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n'));
// The issue's bound: cost per operation grows no faster than log N.
if (results.length > 1) {
  console.log(`\ncost per operation vs the smallest size (log N grows ${results.slice(1).map((r) => `${(Math.log(r.entries) / Math.log(results[0].entries)).toFixed(2)}×`).join(', ')})`);
  for (const w of growthVsLogN(results)) {
    console.log(`  ${w.label.padEnd(16)} ${w.points.slice(1).map((p) => `${p.costRatio.toFixed(2)}× at ${fmt(p.entries)}`).join(', ')}`);
  }
}
if (opts.save) {
  const out = { date: new Date().toISOString(), node: process.version, platform: `${platform()} ${arch()}`, cpus: cpus().length,
    cpu: cpus()[0]?.model, rounds: opts.rounds, valueBytes: 100, keyBytes: 16, store: opts.disk ? 'path (os.tmpdir())' : 'in memory', results };
  const file = opts.disk ? 'bench-growth-disk.json' : 'bench-growth.json';
  const svg = file.replace('.json', '.svg');
  writeFileSync(join(opts.out, file), JSON.stringify(out, null, 2) + '\n');
  writeFileSync(join(opts.out, svg), renderGrowthSvg(out));
  console.log(`wrote ${relative(process.cwd(), join(opts.out, file))}, ${relative(process.cwd(), join(opts.out, svg))}`);
}
