// npm run bench:peers — strata-kv side by side with Map, sorted-btree, memory-level,
// classic-level, lmdb, rocksdb and better-sqlite3 (in memory) on the workloads of
// workloads.mjs. Each peer runs in its own
// child processes (child.mjs): one per timed round, and one for resident memory. Rounds are
// interleaved (round 1 of every peer, then round 2, each round in a rotated peer order), so
// load from elsewhere on the machine falls on all peers alike; the table reports medians.
// Prints one table and writes docs/bench-peers.json and docs/bench-peers.svg (--out: another
// directory).
//
// strata-kv is measured as Store.open's default (in memory: compaction in slices paid by the
// writes); the peer strata-kv-bg is the same build opened with `background: true`
// (compaction on the background worker thread), so one run shows both modes; strata-kv stays
// the subject of every ratio, and strata-kv-bg is held to the same checks as any peer.
// After the main table, "CPU during the fills": for each peer and fill, user + system CPU
// time of the main thread / Node Worker threads (strata-kv's compaction worker) / every
// other thread (V8 and libuv helpers, a native peer's own threads) over the timed fill
// (bench/lib/threads.mjs; Linux), and for strata-kv stats().background after the fill
// (jobs, stalls and their ms, the worker's busy ms). Medians of rounds; per round in the JSON
// (peers[].cpu, peers[].background).
//
//   node bench/peers/run.mjs [--entries 1000000] [--rounds 3] [--peers strata-kv,strata-kv-bg,lmdb] [--no-save] [--out DIR]
//   (or STRATA_BENCH_ENTRIES / STRATA_BENCH_ROUNDS in the environment)
import { cpus, platform, arch } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, choosePeers } from '../lib/args.mjs';
import { root, snapshotDist, runChild as runScript, median } from '../lib/dist.mjs';
import { renderBarChart } from '../lib/chart.mjs';
import { findMismatches, reportMismatches, writeResults } from '../lib/results.mjs';
import { SEEKS, SEEK_LENGTH, VALUE_BYTES, BATCH } from '../lib/data.mjs';
import { medianFields } from '../lib/threads.mjs';
import { WORKLOADS } from './workloads.mjs';
import { formatTable, formatCpuTable, evaluateTargets, formatTargets, formatApis, chartLabels } from './report.mjs';

const child = fileURLToPath(new URL('./child.mjs', import.meta.url));
/** Adapter files in display order; strata-kv first, the subject of every ratio. */
const ALL_PEERS = ['strata-kv', 'strata-kv-bg', 'map', 'sorted-btree', 'memory-level', 'classic-level', 'lmdb', 'rocksdb', 'better-sqlite3'];

const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: Number(process.env.STRATA_BENCH_ENTRIES ?? 1_000_000), min: 1000 },
  rounds: { type: 'int', default: Number(process.env.STRATA_BENCH_ROUNDS ?? 3), min: 1 },
  peers: { type: 'list', default: ALL_PEERS },
  save: { type: 'no' },
  out: { type: 'string', default: join(root, 'docs') },
}, { usage: 'node bench/peers/run.mjs [--entries N] [--rounds R] [--peers a,b,…] [--no-save] [--out DIR]' });
opts.peers = choosePeers(opts.peers, ALL_PEERS);

/** Runs child.mjs for one peer and mode; resolves with the JSON it prints. */
const runChild = (peer, mode, entries) => runScript(child, [peer, mode, String(entries)], dist);

const started = new Date();
const dist = await snapshotDist();
process.on('SIGINT', () => process.exit(130));
console.error(`bench:peers — ${opts.entries.toLocaleString('en-US')} entries, ${opts.rounds} round(s), peers: ${opts.peers.join(', ')}`);

const byFile = new Map(opts.peers.map((file) => [file, { file, rates: {}, cpu: {}, background: {}, checks: undefined }]));
for (let r = 0; r < opts.rounds; r++) {
  const order = opts.peers.map((_, i) => opts.peers[(i + r) % opts.peers.length]);
  for (const file of order) {
    console.error(`round ${r + 1}/${opts.rounds}: ${file}`);
    const run = await runChild(file, 'time', opts.entries);
    const acc = byFile.get(file);
    acc.name = run.name;
    acc.api = run.api;
    (acc.builds ??= new Set()).add(run.build);
    for (const [id, rate] of Object.entries(run.rates)) (acc.rates[id] ??= []).push(rate);
    for (const [id, c] of Object.entries(run.cpu ?? {})) (acc.cpu[id] ??= []).push(c);
    for (const [id, b] of Object.entries(run.background ?? {})) (acc.background[id] ??= []).push(b);
    if (acc.checks && JSON.stringify(acc.checks) !== JSON.stringify(run.checks)) {
      throw new Error(`${file}: round ${r + 1} did different work from round 1: ${JSON.stringify(run.checks)} vs ${JSON.stringify(acc.checks)}`);
    }
    acc.checks = run.checks;
  }
}
const peers = [];
for (const file of opts.peers) {
  console.error(`resident memory: ${file}`);
  const memory = await runChild(file, 'memory', opts.entries);
  const { name, api, rates, checks, builds, cpu: cpuRounds, background: bgRounds } = byFile.get(file);
  builds.add(memory.build);
  const results = {};
  for (const [id, xs] of Object.entries(rates)) results[id] = { opsPerSec: median(xs), rounds: xs };
  const cpu = {}, background = {};
  for (const [id, xs] of Object.entries(cpuRounds)) cpu[id] = { median: medianFields(xs, median), rounds: xs };
  for (const [id, xs] of Object.entries(bgRounds)) background[id] = { median: medianFields(xs, median), rounds: xs };
  peers.push({ file, name, api, results, checks, memory, cpu, background, ...(builds.has(undefined) ? {} : { build: [...builds].join(',') }) });
}

// Every peer must have done the same work: hits, bytes read, entries scanned and seeked.
const subject = peers[0];
const mismatches = findMismatches(peers);

const meta = {
  date: started.toISOString(),
  durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
  node: process.version,
  platform: `${platform()} ${arch()}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  strataBuild: subject.build,
  entries: opts.entries,
  rounds: opts.rounds,
  statistic: 'median of rounds',
  keys: '16-character hex strings, utf8',
  valueBytes: VALUE_BYTES,
  batch: BATCH,
  seeks: SEEKS,
  seekLength: SEEK_LENGTH,
  process: 'one child process per peer per round (rounds interleaved across peers, after an untimed warm-up), one more per peer for memory',
  memory: 'process RSS after a full GC, after the fill minus with the empty store open, ÷ entries',
  strataModes: 'strata-kv: Store.open defaults (in memory: compaction in slices on the store\'s thread); strata-kv-bg: background: true (compaction on the background worker thread)',
  cpu: 'per workload, user + system ms of the main thread / Node Worker threads (strata-kv\'s compaction worker) / other threads ' +
    '(V8, libuv, native peers\' threads) from /proc/self/task/*/stat; processMs: process.cpuUsage() over the same span',
};
const workloads = WORKLOADS.map(({ id, title, unit, point }) => ({ id, title, unit, pointOnly: point }));
const targets = evaluateTargets(peers);
const report = { meta, workloads, peers, targets, mismatches };

console.log('');
console.log(formatTable(report));
console.log('');
console.log(formatCpuTable(report));
console.log('');
console.log(formatTargets(targets));
console.log('');
console.log(formatApis(report));
reportMismatches(mismatches);

if (opts.save) writeResults(opts.out, 'bench-peers', report, renderBarChart(report, chartLabels(meta)));
