// npm run bench:peers — strata-kv side by side with Map, sorted-btree, memory-level,
// classic-level and lmdb on the workloads of workloads.mjs. Each peer runs in its own
// child processes (child.mjs): one per timed round, and one for resident memory. Rounds are
// interleaved (round 1 of every peer, then round 2, each round in a rotated peer order), so
// load from elsewhere on the machine falls on all peers alike; the table reports medians.
// Prints one table and writes docs/bench-peers.json and docs/bench-peers.svg.
//
//   node bench/peers/run.mjs [--entries 1000000] [--rounds 3] [--peers strata-kv,lmdb] [--no-save]
//   (or STRATA_BENCH_ENTRIES / STRATA_BENCH_ROUNDS in the environment)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKLOADS, SEEKS, SEEK_LENGTH, VALUE_BYTES, BATCH } from './workloads.mjs';
import { formatTable, evaluateTargets, formatTargets, formatApis } from './report.mjs';
import { renderSvg } from './svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
/** Adapter files in display order; strata-kv first, the subject of every ratio. */
const ALL_PEERS = ['strata-kv', 'map', 'sorted-btree', 'memory-level', 'classic-level', 'lmdb'];

function parseArgs(argv) {
  const o = {
    entries: Number(process.env.STRATA_BENCH_ENTRIES ?? 1_000_000),
    rounds: Number(process.env.STRATA_BENCH_ROUNDS ?? 3),
    peers: ALL_PEERS,
    save: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--entries') o.entries = Number(value());
    else if (flag === '--rounds') o.rounds = Number(value());
    else if (flag === '--peers') o.peers = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '--no-save') o.save = false;
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/peers/run.mjs [--entries N] [--rounds R] [--peers a,b,…] [--no-save]');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(o.entries) || o.entries < 1000) throw new Error('--entries must be an integer ≥ 1000');
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds must be a positive integer');
  for (const p of o.peers) if (!ALL_PEERS.includes(p)) throw new Error(`unknown peer ${p} (peers: ${ALL_PEERS.join(', ')})`);
  if (!o.peers.includes('strata-kv')) o.peers = ['strata-kv', ...o.peers];
  return o;
}

/**
 * Copies dist/ to a temporary directory (under the build lock other engineers rebuild with,
 * when flock exists), so every strata-kv round measures one build. node_modules is linked
 * beside the copy so the package's own imports still resolve. Returns the copy's root.
 */
function snapshotDist() {
  const src = join(root, 'dist');
  if (!existsSync(join(src, 'index.js'))) throw new Error('dist/index.js is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-dist-'));
  const locked = spawnSync('flock', ['/tmp/strata-build.lock', 'cp', '-R', src, join(dir, 'dist')], { stdio: 'inherit' });
  if (locked.error || locked.status !== 0) cpSync(src, join(dir, 'dist'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'junction');
  return dir;
}

/** Runs child.mjs for one peer and mode; resolves with the JSON it prints. */
function runChild(peer, mode, entries) {
  const args = ['--expose-gc', '--max-old-space-size=8192', join(here, 'child.mjs'), peer, mode, String(entries)];
  return new Promise((resolve, reject) => {
    const env = { ...process.env, STRATA_BENCH_DIST: join(distCopy, 'dist', 'index.js') };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => { out += s; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${peer} (${mode}) exited with ${signal ?? code}`));
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch (err) { reject(err); }
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const opts = parseArgs(process.argv.slice(2));
const started = new Date();
const distCopy = snapshotDist();
process.on('exit', () => rmSync(distCopy, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));
console.error(`bench:peers — ${opts.entries.toLocaleString('en-US')} entries, ${opts.rounds} round(s), peers: ${opts.peers.join(', ')}`);

const byFile = new Map(opts.peers.map((file) => [file, { file, rates: {}, checks: undefined }]));
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
  const { name, api, rates, checks, builds } = byFile.get(file);
  builds.add(memory.build);
  const results = {};
  for (const [id, xs] of Object.entries(rates)) results[id] = { opsPerSec: median(xs), rounds: xs };
  peers.push({ file, name, api, results, checks, memory, ...(builds.has(undefined) ? {} : { build: [...builds].join(',') }) });
}

// Every peer must have done the same work: hits, bytes read, entries scanned and seeked.
const subject = peers[0];
const mismatches = [];
if (subject.build?.includes(',')) mismatches.push(`strata-kv ran more than one build (${subject.build}): rerun`);
for (const p of peers.slice(1)) {
  for (const [id, check] of Object.entries(p.checks)) {
    if (subject.checks[id] !== undefined && subject.checks[id] !== check) {
      mismatches.push(`${p.name} ${id}: ${check} vs strata-kv ${subject.checks[id]}`);
    }
  }
}

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
};
const workloads = WORKLOADS.map(({ id, title, unit, point }) => ({ id, title, unit, pointOnly: point }));
const targets = evaluateTargets(peers);
const report = { meta, workloads, peers, targets, mismatches };

console.log('');
console.log(formatTable(report));
console.log('');
console.log(formatTargets(targets));
console.log('');
console.log(formatApis(report));
if (mismatches.length) {
  console.log('');
  console.log(`WARNING: results are not comparable:\n  ${mismatches.join('\n  ')}`);
}

if (opts.save) {
  const jsonPath = join(root, 'docs', 'bench-peers.json');
  const svgPath = join(root, 'docs', 'bench-peers.svg');
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(svgPath, renderSvg(report));
  console.log('');
  console.log(`wrote ${relative(process.cwd(), jsonPath)} and ${relative(process.cwd(), svgPath)}`);
}
if (mismatches.length) process.exitCode = 1;
