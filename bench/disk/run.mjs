// npm run bench:disk — strata-kv on disk (Store.open({ path })) side by side with
// classic-level (LevelDB), lmdb, rocksdb (RocksDB) and better-sqlite3 (SQLite) on one data
// set (workloads.mjs): N entries, 16-byte keys in random order, 100-byte values. Every peer
// writes into its own fresh directory under os.tmpdir() (a real file system: the output
// names it, and warns on tmpfs).
//
// One round of one peer is a few child processes (child.mjs), each starting from nothing:
//   1. fill with putAll batches of 1,000, then close + fsync (writes and the durability
//      step timed separately);
//   2. (peers with a sync single put) the same fill one put at a time, into a second
//      directory, deleted afterwards;
//   3. `sync`, then the OS page cache is dropped (echo 3 > /proc/sys/vm/drop_caches, when
//      the process may; the output says whether it could), then a fresh process reopens
//      the directory of step 1 and times the reopen, cold gets, a first and a second (warm)
//      pass of random gets, missing-key gets and a full scan;
//   4. (peers with a durable single put: adapter `durable`) durable puts (issue #17), in a
//      fresh directory: the peer opened with open({ dir, sync: true }) (strata-kv: Store.open
//      ({ path, sync: true }); classic-level and rocksdb: writes with { sync: true };
//      better-sqlite3: WAL with synchronous = FULL; lmdb: sync commits, overlappingSync off),
//      --sync-puts N (5,000) single puts of 100-byte values, each acknowledged durable before
//      the next starts: puts/s and the median and p99 latency of one put. Then the directory
//      is reopened and every put checked (a get of each, compared, and a full scan);
//   5. large values (issue #18), in a fresh directory: --large-mb MB (400, × 10^6 bytes) of
//      4,000-byte incompressible values in putAll batches of 100 (~400 KB a batch), then
//      close + fsync as in step 1, all timed (keys and values made before the timer): MB/s of
//      values and puts/s; then, in the same process (page cache warm), a reopen and 5,000
//      random gets, every value compared.
// Each of steps 4 and 5 deletes its directory afterwards; --sync-puts 0 / --large-mb 0 skip them.
// The driver measures the directory after steps 1 and 3 (bytes allocated, files). Rounds are
// interleaved (round 1 of every peer, then round 2, each round in a rotated peer order), so
// load from elsewhere on the machine falls on all peers alike; the table reports medians.
// Prints one table and writes docs/bench-disk.json and docs/bench-disk.svg (--out: another
// directory).
//
// strata-kv is measured as Store.open's default (compaction on the background worker
// thread); the peer strata-kv-slices is the same build opened with `background: false`
// (compaction in slices paid by the writes), so one run shows both modes; strata-kv stays
// the subject of every ratio, and strata-kv-slices is held to the same checks as any peer.
// After the main table, the sections "durable single puts" and "4,000-byte values" (steps 4
// and 5, strata-kv ÷ each peer as in the main table), then "CPU during the fills": for each peer, fill and phase (the writes;
// close + fsync), user + system CPU time of the main thread / Node Worker threads
// (strata-kv's compaction worker) / every other thread (V8 and libuv helpers, a native
// peer's own threads: LevelDB's and RocksDB's compactions) (bench/lib/threads.mjs; Linux),
// and for strata-kv stats().background after the writes (jobs, stalls and their ms, the
// worker's busy ms, whether a job was still running). Medians of rounds; per round in the
// JSON (peers[].runs[].fill.cpu, .background).
//
//   node bench/disk/run.mjs [--entries 1000000] [--rounds 3] [--peers strata-kv,strata-kv-slices,lmdb]
//                           [--sync-puts 5000] [--large-mb 400] [--no-save] [--out DIR]
//   (or STRATA_BENCH_ENTRIES / STRATA_BENCH_ROUNDS in the environment)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch, tmpdir, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAdapter } from '../adapters/common.mjs';
import { parseArgs, choosePeers } from '../lib/args.mjs';
import { root, snapshotDist, runChild as runScript, median } from '../lib/dist.mjs';
import { findMismatches, reportMismatches, writeResults } from '../lib/results.mjs';
import { medianFields } from '../lib/threads.mjs';
import { VALUE_BYTES, BATCH, COLD_GETS, SYNC_PUTS, LARGE_MB, LARGE_VALUE_BYTES, LARGE_BATCH, LARGE_GETS } from './workloads.mjs';
import { RATES, COSTS, formatTable, formatCpuTable, formatNotes, evaluateTargets, formatTargets, formatApis } from './report.mjs';
import { PHASE_ROWS, formatPhases } from './report-phases.mjs';
import { renderDiskSvg } from './svg.mjs';

const child = fileURLToPath(new URL('./child.mjs', import.meta.url));
/** Adapter files in display order; strata-kv first, the subject of every ratio. */
const ALL_PEERS = ['strata-kv', 'strata-kv-slices', 'classic-level', 'lmdb', 'rocksdb', 'better-sqlite3'];

const opts = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: Number(process.env.STRATA_BENCH_ENTRIES ?? 1_000_000), min: COLD_GETS },
  rounds: { type: 'int', default: Number(process.env.STRATA_BENCH_ROUNDS ?? 3), min: 1 },
  peers: { type: 'list', default: ALL_PEERS },
  syncPuts: { type: 'int', default: SYNC_PUTS, min: 0 },
  largeMb: { type: 'int', default: LARGE_MB, min: 0 },
  save: { type: 'no' },
  out: { type: 'string', default: join(root, 'docs') },
}, { usage: 'node bench/disk/run.mjs [--entries N] [--rounds R] [--peers a,b,…] [--sync-puts N] [--large-mb MB] [--no-save] [--out DIR]' });
const chosen = choosePeers(opts.peers, ALL_PEERS);
opts.peers = ALL_PEERS.filter((p) => chosen.includes(p));

/** The mount `path` lives on, from /proc/self/mounts (longest mount point that prefixes it). */
function fileSystemOf(path) {
  const real = realpathSync(path);
  let best = { mountPoint: '', type: 'unknown', device: 'unknown', options: '' };
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [device, mp, type, options] = line.split(' ').map((s) => s?.replace(/\\040/g, ' '));
      if (!mp) continue;
      const under = mp === '/' || real === mp || real.startsWith(mp + '/');
      if (under && mp.length >= best.mountPoint.length) best = { mountPoint: mp, type, device, options };
    }
  } catch { /* not Linux: leave it unknown */ }
  const memoryBacked = ['tmpfs', 'ramfs', 'shm'].includes(best.type);
  const virtualDisk = /^\/dev\/(vd|xvd)/.test(best.device);
  return { dir: real, ...best, memoryBacked, virtualDisk };
}

/** Page cache size from /proc/meminfo, in MiB (undefined off Linux). */
function cachedMiB() {
  try {
    const m = /^Cached:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch { return undefined; }
}

/** `sync`, then drop clean page cache, dentries and inodes where permitted. */
function dropCaches() {
  spawnSync('sync');
  const before = cachedMiB();
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch (err) {
    return { dropped: false, error: err.code ?? String(err) };
  }
  return { dropped: true, cachedBeforeMiB: before, cachedAfterMiB: cachedMiB() };
}

/** Files, apparent bytes and allocated bytes under `dir`, in total and per kind of file
 *  (the name with its number as N: N.run, N.ldb, MANIFEST-N, db/data.mdb, …). */
function diskUsage(dir) {
  let files = 0, bytes = 0, allocated = 0;
  const kinds = {};
  const walk = (d, prefix) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) { walk(p, `${prefix}${e.name}/`); continue; }
      const st = statSync(p);
      files++;
      bytes += st.size;
      allocated += st.blocks * 512;
      const k = (kinds[(prefix + e.name).replace(/\d{6,}/, 'N')] ??= { files: 0, bytes: 0, allocated: 0 });
      k.files++;
      k.bytes += st.size;
      k.allocated += st.blocks * 512;
    }
  };
  walk(dir, '');
  return { files, bytes, allocated, kinds };
}

/** The operations bench:disk runs and how each peer does them (null: not run). */
const diskApi = ({ api, syncPut, durable }) => ({
  'fill-putAll': api['fill-putAll'], 'fill-put': syncPut ? api['fill-put'] : null, close: api.close, get: api.get, scan: api.scan,
  'durable-put': durable ? `${durable.put}; opened: ${durable.options}` : null,
});

/** Runs child.mjs for `peer` with `args`; resolves with the JSON it prints. */
const runChild = (peer, args) => runScript(child, [peer, ...args], dist);

const MiB = 2 ** 20;
const started = new Date();
const loadStart = loadavg();
const scratch = mkdtempSync(join(tmpdir(), 'strata-bench-disk-'));
const dist = await snapshotDist({ waitMinutes: 10 });
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));
process.env.STRATA_BENCH_DIST = dist;
const adapters = new Map();
for (const p of opts.peers) adapters.set(p, await loadAdapter(p));

const fs = fileSystemOf(scratch);
console.error(`bench:disk — ${opts.entries.toLocaleString('en-US')} entries, ${opts.rounds} round(s), peers: ${opts.peers.join(', ')}; ` +
  `${opts.syncPuts.toLocaleString('en-US')} durable puts, ${opts.largeMb} MB of ${LARGE_VALUE_BYTES}-byte values`);
console.error(`directories under ${fs.dir}: ${fs.type} on ${fs.device} (mounted at ${fs.mountPoint})`);
if (fs.memoryBacked) console.error(`WARNING: ${fs.dir} is ${fs.type}, in memory: this measures no disk (set TMPDIR to a directory on a disk)`);

/** Per peer: arrays of per-round values, keyed by row id. */
const acc = new Map(opts.peers.map((p) => [p, { values: {}, cpu: {}, checks: undefined, phaseChecks: undefined, builds: new Set(), runs: [] }]));
/** Runs `fn(dir)` on a fresh directory under the scratch one, deleted afterwards. */
async function inFreshDir(prefix, fn) {
  const d = mkdtempSync(join(scratch, prefix));
  try { return await fn(d); } finally { rmSync(d, { recursive: true, force: true }); }
}
/** A phase in a directory of its own (durable puts, large values): the child's result for
 *  `kind` with its size `n`, and the directory's disk use after it. */
async function phaseInFreshDir(peer, r, prefix, label, kind, n) {
  return inFreshDir(`${peer}-${prefix}-`, async (d) => {
    console.error(`round ${r + 1}/${opts.rounds}: ${peer} ${label}`);
    spawnSync('sync');
    const x = await runChild(peer, [kind, d, String(n), scratch]);
    x.disk = diskUsage(d);
    return x;
  });
}
/** Per fill phase (`fill-putAll writes`, …): the round's wall ms, CPU split and background stats. */
function pushCpu(a, fill) {
  if (!fill) return;
  const phases = [['writes', fill.writesMs, fill.cpu?.writes, fill.background], ['close+fsync', fill.closeMs + fill.fsyncMs, fill.cpu?.close]];
  for (const [phase, wallMs, cpu, background] of phases) {
    const x = (a.cpu[`fill-${fill.variant} ${phase}`] ??= { wallMs: [], cpu: [], background: [] });
    x.wallMs.push(wallMs);
    x.cpu.push(cpu);
    x.background.push(background);
  }
}
const drops = [];
const push = (a, id, v) => { if (v !== undefined && Number.isFinite(v)) (a.values[id] ??= []).push(v); };

for (let r = 0; r < opts.rounds; r++) {
  const order = opts.peers.map((_, i) => opts.peers[(i + r) % opts.peers.length]);
  for (const peer of order) {
    const a = acc.get(peer);
    const adapter = adapters.get(peer);
    const dir = mkdtempSync(join(scratch, `${peer}-`));
    try {
      console.error(`round ${r + 1}/${opts.rounds}: ${peer} fill (putAll)`);
      spawnSync('sync');
      const fill = await runChild(peer, ['fill', 'putAll', dir, String(opts.entries), scratch]);
      const afterFill = diskUsage(dir);
      let fillPut;
      if (adapter.syncPut) {
        const dir2 = mkdtempSync(join(scratch, `${peer}-put-`));
        try {
          console.error(`round ${r + 1}/${opts.rounds}: ${peer} fill (put)`);
          spawnSync('sync');
          fillPut = await runChild(peer, ['fill', 'put', dir2, String(opts.entries), scratch]);
        } finally {
          rmSync(dir2, { recursive: true, force: true });
        }
      }
      const drop = dropCaches();
      drops.push(drop);
      console.error(`round ${r + 1}/${opts.rounds}: ${peer} reopen + reads` +
        (drop.dropped ? ` (page cache dropped: ${drop.cachedBeforeMiB?.toFixed(0)} → ${drop.cachedAfterMiB?.toFixed(0)} MiB cached)` : ` (page cache NOT dropped: ${drop.error})`));
      const read = await runChild(peer, ['read', dir, String(opts.entries), scratch]);
      const afterReopen = diskUsage(dir);

      for (const x of [fill, fillPut, read]) if (x) a.builds.add(x.build);
      a.name = fill.name;
      for (const [id, v] of Object.entries(fill.rates)) push(a, id, v);
      if (fillPut) for (const [id, v] of Object.entries(fillPut.rates)) push(a, id, v);
      for (const [id, v] of Object.entries(read.rates)) push(a, id, v);
      pushCpu(a, fill);
      pushCpu(a, fillPut);
      push(a, 'close-ms', fill.closeMs + fill.fsyncMs);
      push(a, 'reopen-ms', read.reopenMs);
      push(a, 'first-answers-ms', read.reopenMs + (COLD_GETS / read.rates['get-cold']) * 1000);
      push(a, 'rss-fill-mib', (fill.rss.afterFill - fill.rss.baseline) / MiB);
      push(a, 'rss-reopen-mib', (read.rss.afterReopen - read.rss.baseline) / MiB);
      push(a, 'rss-reads-mib', (read.rss.afterReads - read.rss.baseline) / MiB);
      push(a, 'disk-fill-mib', afterFill.allocated / MiB);
      push(a, 'disk-files', afterFill.files);
      push(a, 'disk-reopen-mib', afterReopen.allocated / MiB);

      // Step 4: durable single puts (peers that have one).
      let syncPuts;
      if (opts.syncPuts > 0 && adapter.durable) {
        syncPuts = await phaseInFreshDir(peer, r, 'sync', 'durable puts', 'sync-puts', opts.syncPuts);
        push(a, 'sync-put', syncPuts.rates['sync-put']);
        push(a, 'sync-put-p50-us', syncPuts.latencyUs.p50);
        push(a, 'sync-put-p99-us', syncPuts.latencyUs.p99);
      }
      // Step 5: large values.
      let large;
      if (opts.largeMb > 0) {
        large = await phaseInFreshDir(peer, r, 'large', 'large values', 'large', opts.largeMb);
        for (const [id, v] of Object.entries(large.rates)) push(a, id, v);
        push(a, 'large-fill-durable-mbs', large.mbPerSec['large-fill-durable']);
        push(a, 'large-fill-mbs', large.mbPerSec['large-fill']);
        push(a, 'large-close-ms', large.closeMs + large.fsyncMs);
        push(a, 'large-reopen-ms', large.reopenMs);
        push(a, 'large-disk-mib', large.disk.allocated / MiB);
      }
      for (const x of [syncPuts, large]) if (x) a.builds.add(x.build);

      a.runs.push({ round: r + 1, fill, fillPut, read, drop, disk: { afterFill, afterReopen }, syncPuts, large });
      const phaseChecks = { ...syncPuts?.checks, ...large?.checks };
      if (a.checks && JSON.stringify(a.checks) !== JSON.stringify(read.checks)) {
        throw new Error(`${peer}: round ${r + 1} read different data from round 1: ${JSON.stringify(read.checks)} vs ${JSON.stringify(a.checks)}`);
      }
      if (a.phaseChecks && JSON.stringify(a.phaseChecks) !== JSON.stringify(phaseChecks)) {
        throw new Error(`${peer}: round ${r + 1} read back different data from round 1: ${JSON.stringify(phaseChecks)} vs ${JSON.stringify(a.phaseChecks)}`);
      }
      a.checks = read.checks;
      a.phaseChecks = phaseChecks;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

// Rates in operations per second are { opsPerSec, rounds }; everything else (MB/s, costs) is
// { median, rounds }.
const rateIds = new Set([...RATES, ...PHASE_ROWS.filter((w) => w.kind === 'rate' && w.unit !== 'MB/s')].map((w) => w.id));
const peers = opts.peers.map((file) => {
  const { name, values, checks: readChecks, phaseChecks, builds, runs, cpu: cpuRounds } = acc.get(file);
  const checks = { ...readChecks, ...phaseChecks };
  const adapter = adapters.get(file);
  const results = {};
  for (const [id, xs] of Object.entries(values)) {
    results[id] = rateIds.has(id) ? { opsPerSec: median(xs), rounds: xs } : { median: median(xs), rounds: xs };
  }
  const cpu = {};
  for (const [phase, x] of Object.entries(cpuRounds)) {
    cpu[phase] = { wallMs: median(x.wallMs), cpu: medianFields(x.cpu, median), background: medianFields(x.background, median) };
  }
  return {
    file, name, options: adapter.options, api: diskApi(adapter), results, checks, runs, cpu,
    ...(builds.has(undefined) ? {} : { build: [...builds].join(',') }),
  };
});

// Every peer must have read the same data: the same hits, values and scan.
const subject = peers[0];
const mismatches = findMismatches(peers);

const okDrops = drops.filter((d) => d.dropped);
const pageCache = {
  dropAttempts: drops.length,
  dropped: okDrops.length,
  summary: okDrops.length === drops.length
    ? `yes, ${okDrops.length} of ${drops.length} (Cached ${median(okDrops.map((d) => d.cachedBeforeMiB)).toFixed(0)} → ${median(okDrops.map((d) => d.cachedAfterMiB)).toFixed(0)} MiB, medians)`
    : `no (${drops.find((d) => !d.dropped)?.error}): "cold" reads may hit the page cache`,
  caveat: fs.virtualDisk
    ? `${fs.device} is a virtual disk: dropping the guest's page cache does not drop the host's, which may still serve "cold" reads from memory`
    : undefined,
};
const meta = {
  date: started.toISOString(),
  durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
  node: process.version,
  platform: `${platform()} ${arch()}`,
  kernel: release(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverage: { start: loadStart.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
  fileSystem: fs,
  pageCache,
  strataBuild: subject.build,
  entries: opts.entries,
  rounds: opts.rounds,
  statistic: 'median of rounds',
  keys: '16-character hex strings (16 bytes, utf8), written in random key order',
  valueBytes: VALUE_BYTES,
  values: 'bytes 0-3 the entry index, bytes 4-99 pseudo-random (incompressible)',
  batch: BATCH,
  coldGets: COLD_GETS,
  syncPuts: {
    puts: opts.syncPuts,
    valueBytes: VALUE_BYTES,
    keys: 'keys 0…N-1 of the data set, in that order (random key order)',
    how: 'a fresh directory per peer; the peer opened for durable writes (open({ dir, sync: true }), per peer in peers[].api["durable-put"]), ' +
      'N single puts, each awaited and acknowledged durable before the next starts; latency of each put timed on its own; ' +
      'then closed, reopened and every put checked (get of each key compared byte for byte, full scan count)',
  },
  large: {
    megabytes: opts.largeMb,
    entries: Math.round((opts.largeMb * 1e6) / LARGE_VALUE_BYTES),
    valueBytes: LARGE_VALUE_BYTES,
    batch: LARGE_BATCH,
    gets: LARGE_GETS,
    how: `a fresh directory per peer; putAll batches of ${LARGE_BATCH} (${(LARGE_BATCH * LARGE_VALUE_BYTES / 1000).toFixed(0)} KB of values each) ` +
      'of incompressible values, keys and values made before the timer; "durable" includes close() and an fsync of every file; ' +
      'MB = 10^6 bytes of values (keys not counted); then in the same process (page cache warm) a reopen and random gets of present keys, each value compared byte for byte',
  },
  durability: 'fill "durable" rates include the peer\'s close() and an fsync of every file and the directory; "writes" rates stop at the last write',
  process: 'per peer per round: one process for the putAll fill, one for the single-put fill (peers with a sync put), one for reopen + reads after sync and drop_caches; rounds interleaved across peers, each process after an untimed warm-up on a small store elsewhere',
  memory: 'process RSS after a full GC minus RSS before the store was opened (after the warm-up)',
  strataModes: 'strata-kv: Store.open defaults (compaction on the background worker thread); strata-kv-slices: background: false',
  cpu: 'per fill phase, user + system ms of the main thread / Node Worker threads (strata-kv\'s compaction worker) / other threads ' +
    '(V8, libuv, native peers\' threads) from /proc/self/task/*/stat; processMs: process.cpuUsage() over the same span',
};
const rows = [...RATES.map((w) => ({ ...w, kind: 'rate' })), ...COSTS.map((c) => ({ ...c, kind: 'cost' })), ...PHASE_ROWS];
const { targets, reference } = evaluateTargets(peers);
const report = { meta, rows, peers, targets, reference, mismatches };

console.log('');
console.log(formatTable(report));
console.log('');
console.log(formatPhases(report, adapters));
console.log('');
console.log(formatCpuTable(report));
console.log('');
console.log(formatTargets({ targets, reference }));
console.log('');
console.log(formatNotes());
console.log('');
console.log(formatApis(report));
if (pageCache.caveat) console.log(`\nnote: ${pageCache.caveat}`);
if (fs.memoryBacked) console.log(`\nWARNING: ${fs.dir} is ${fs.type}: nothing here touched a disk`);
console.log(`\nload average (1/5/15 min): ${meta.loadAverage.start.join(' ')} at the start, ${meta.loadAverage.end.join(' ')} at the end; ${meta.durationSeconds} s`);
reportMismatches(mismatches);

if (opts.save) writeResults(opts.out, 'bench-disk', report, renderDiskSvg(report));
