// npm run bench:growth — how strata-kv behaves as it grows: for each size (default 100k,
// 1M, 10M entries; 16-byte keys in random order, 100-byte values, in memory) and each
// compaction mode, one child process fills an empty store with put() and measures:
//   - fill throughput and write pauses: every put is timed, so a put that had to flush the
//     memtable, run a compaction slice, install a background job or wait for one shows as a
//     pause (p50, p99, p99.9, max, count > 2 ms and > 10 ms);
//   - the fill's CPU time by thread (bench/lib/threads.mjs, Linux: /proc/self/task): the
//     main thread, Node Worker threads (the compaction worker: the child is started with
//     lib/name-workers.cjs, which names them), every other thread (V8's GC and compiler
//     threads, libuv's pool), and the process total (process.cpuUsage());
//   - stats().background after the fill (background mode): jobs installed, the worker's
//     busy ms, stalls (puts that waited for a job with level 0 full) and their ms;
//   - random get and missing-key get throughput (100k lookups), full scan throughput;
//   - resident memory per entry after the fill (RSS minus a fresh process's RSS).
// --background on: Store.open({ background: true }) (the default in Node: compactions merged
// on a worker thread); off: background: false (compactions in slices paid by the puts, as in
// browsers); both (the default): each size in both modes, in alternating processes, so one
// run prints the two side by side ("bg" and "slices" columns). Medians of --rounds runs per
// size and mode.
// Writes docs/bench-growth.json and .svg (--out: another directory): the JSON has every mode
// (byMode), the chart the background mode (when measured).
//
// With --disk the store has a path (a fresh directory under os.tmpdir()): writes also go to
// the write-ahead log, and flushes and compactions write run files (fsynced) and the
// manifest; results go to docs/bench-growth-disk.json.
//
//   node bench/growth/run.mjs [--sizes 100000,1000000,10000000] [--rounds 1] [--background both|on|off] [--disk] [--no-save] [--out DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { root, median, NAME_WORKERS } from '../lib/dist.mjs';
import { growthVsLogN, renderGrowthSvg } from './svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const usage = 'node bench/growth/run.mjs [--sizes a,b,c] [--rounds R] [--background both|on|off] [--disk] [--no-save] [--out DIR]';

const opts = parseArgs(process.argv.slice(2), {
  sizes: { type: 'ints', default: [100_000, 1_000_000, 10_000_000], min: 1000 },
  rounds: { type: 'int', default: 1, min: 1 },
  background: { type: 'string', default: 'both' },
  save: { type: 'no' },
  disk: { type: 'on' },
  out: { type: 'string', default: join(root, 'docs') },
}, { usage });
/** The modes measured: `on` (background worker) first, the chart's and the comparison's subject. */
const MODE_SETS = { on: ['on'], off: ['off'], both: ['on', 'off'] };
const MODES = Object.hasOwn(MODE_SETS, opts.background) ? MODE_SETS[opts.background] : undefined;
if (!MODES) throw new Error(`--background must be both, on or off (usage: ${usage})`);
const modeName = (m) => (m === 'on' ? 'background' : 'slices');

/** Medians of the rounds' numbers; a field that is not a number: its distinct values. */
function medians(runs) {
  const m = {};
  for (const k of new Set(runs.flatMap(Object.keys))) {
    const vs = runs.map((x) => x[k]).filter((v) => v !== undefined);
    m[k] = vs.every((v) => typeof v === 'number') ? median(vs) : [...new Set(vs)].join('; ');
  }
  return m;
}

const byMode = Object.fromEntries(MODES.map((m) => [modeName(m), []]));
for (const n of opts.sizes) {
  const runs = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < opts.rounds; r++) {
    // Alternate which mode goes first, so a slow spell of the machine does not favour one.
    const order = r % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const argv = ['--max-old-space-size=8192', '--require', NAME_WORKERS, join(here, 'child.mjs'), String(n), opts.disk ? 'disk' : 'memory', mode];
      const child = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (child.status !== 0) throw new Error(`child for ${n} entries (background ${mode}) failed: ${child.stderr}`);
      runs[mode].push(JSON.parse(child.stdout));
    }
  }
  for (const mode of MODES) byMode[modeName(mode)].push({ entries: n, background: mode === 'on', ...medians(runs[mode]) });
  console.error(`${n} entries done`);
}

const fmt = (x, d = 0) => (x === undefined ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
/** Columns: each size, its modes side by side. */
const columns = opts.sizes.flatMap((n, i) => MODES.map((m) => ({ label: MODES.length > 1 ? `${fmt(n)} ${m === 'on' ? 'bg' : 'slices'}` : fmt(n), r: byMode[modeName(m)][i] })));
const row = (label, f) => [label, ...columns.map(({ r }) => f(r))];
const rows = [
  row('entries', (r) => fmt(r.entries)),
  row('compaction', (r) => (r.background ? 'background' : 'slices')),
  row('fill puts/s', (r) => fmt(r.fillOpsPerSec)),
  row('put p50 µs', (r) => fmt(r.p50Us, 1)),
  row('put p99 µs', (r) => fmt(r.p99Us, 1)),
  row('put p99.9 µs', (r) => fmt(r.p999Us, 1)),
  row('max pause ms', (r) => fmt(r.maxPauseMs, 1)),
  row('puts > 2 ms', (r) => fmt(r.pausesOver2Ms)),
  row('puts > 10 ms', (r) => fmt(r.pausesOver10Ms)),
  row('fill CPU main ms', (r) => fmt(r.cpuMainMs)),
  row('fill CPU worker ms', (r) => fmt(r.cpuWorkerMs)),
  row('fill CPU other ms', (r) => fmt(r.cpuOtherMs)),
  row('fill CPU process ms', (r) => fmt(r.cpuProcessMs)),
  row('fill wall ms', (r) => fmt(r.fillMs)),
  row('bg jobs', (r) => fmt(r.bgJobs)),
  row('bg busy ms', (r) => fmt(r.bgBusyMs)),
  row('bg stalls', (r) => fmt(r.bgStalls)),
  row('bg stall ms', (r) => fmt(r.bgStallMs, 1)),
  row('bg job out at end', (r) => (r.bgRunning === undefined ? '—' : r.bgRunning > 0 ? 'yes' : 'no')),
  row('get hit/s', (r) => fmt(r.getOpsPerSec)),
  row('get miss/s', (r) => fmt(r.missOpsPerSec)),
  row('scan entries/s', (r) => fmt(r.scanPerSec)),
  row('RSS B/entry', (r) => fmt(r.rssBytesPerEntry)),
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((x) => x[c].length)));
console.log(`strata-kv growth, ${opts.disk ? 'on disk' : 'in memory'}: ${opts.rounds === 1 ? 'one round' : `medians of ${opts.rounds} rounds`}; node ${process.version}, ${cpus().length} CPUs`);
console.log('fill CPU: user + system over the fill; worker = Node Worker threads (the compaction worker), other = V8 (GC, compiler) and libuv helper threads');
console.log(rows.map((x) => x.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n'));
for (const [mode, results] of Object.entries(byMode)) {
  for (const r of results) if (r.bgLost) console.log(`WARNING: ${fmt(r.entries)} ${mode}: compaction went back to slices: ${r.bgLost}`);
}
// The issue's bound: cost per operation grows no faster than log N.
for (const [mode, results] of Object.entries(byMode)) {
  if (results.length < 2) continue;
  console.log(`\n${mode}: cost per operation vs the smallest size (log N grows ${results.slice(1).map((r) => `${(Math.log(r.entries) / Math.log(results[0].entries)).toFixed(2)}×`).join(', ')})`);
  for (const w of growthVsLogN(results)) {
    console.log(`  ${w.label.padEnd(16)} ${w.points.slice(1).map((p) => `${p.costRatio.toFixed(2)}× at ${fmt(p.entries)}`).join(', ')}`);
  }
}
if (opts.save) {
  const charted = modeName(MODES[0]);
  const out = { date: new Date().toISOString(), node: process.version, platform: `${platform()} ${arch()}`, cpus: cpus().length,
    cpu: cpus()[0]?.model, rounds: opts.rounds, valueBytes: 100, keyBytes: 16,
    store: `${opts.disk ? 'path (os.tmpdir())' : 'in memory'}, compaction: ${charted}`,
    cpuSplit: 'fill CPU (user + system ms) of the main thread, Node Worker threads (the compaction worker) and other threads (V8, libuv), from /proc/self/task/*/stat; cpuProcessMs: process.cpuUsage()',
    results: byMode[charted], byMode };
  const file = opts.disk ? 'bench-growth-disk.json' : 'bench-growth.json';
  const svg = file.replace('.json', '.svg');
  mkdirSync(opts.out, { recursive: true }); // --out may name a new directory
  writeFileSync(join(opts.out, file), JSON.stringify(out, null, 2) + '\n');
  writeFileSync(join(opts.out, svg), renderGrowthSvg(out));
  console.log(`wrote ${relative(process.cwd(), join(opts.out, file))}, ${relative(process.cwd(), join(opts.out, svg))}`);
}
