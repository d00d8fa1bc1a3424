// One peer, one step of one round, in its own process:
//   node --expose-gc child.mjs <peer> fill <putAll|put> <dir> <entries> <scratch dir>
//   node --expose-gc child.mjs <peer> read <dir> <entries> <scratch dir>
// Prints one JSON line on stdout (progress goes to stderr).
//
//   fill: opens the empty directory `dir`, writes the entries in random key order (putAll
//         batches of 1,000, or one put at a time), takes RSS, then makes the data durable:
//         the peer's close(), then an fsync of every file in the directory and of the
//         directory itself (the same barrier for every peer, whatever its close did; for
//         strata-kv, whose close already fsyncs, it costs almost nothing). The writes and the
//         durability step are timed separately.
//         Over the writes, and over close + fsync, CPU time is split by thread
//         (lib/threads.mjs: main / Node Worker threads — strata-kv's compaction worker — /
//         other threads), and strata-kv's stats().background is taken after the writes.
//   read: the driver has just dropped the OS page cache where it may (run.mjs). Opens the
//         existing directory (timed: reopen), takes RSS, then one pass of random gets over
//         every key (its first COLD_GETS timed on their own: "cold"), a second pass in
//         another order ("warm"), a pass of missing-key gets, a full scan, RSS again, close.
// Both first run an untimed warm-up on a small store in `scratch dir` (written, closed,
// reopened, read, scanned, deleted), so the timed work runs optimized code; it touches
// nothing of `dir`.
import { closeSync, fsyncSync, openSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadAdapter } from '../adapters/common.mjs';
import { settle } from '../lib/dist.mjs';
import { cpuSnapshot, cpuSince } from '../lib/threads.mjs';
import { makeKeys } from '../lib/keys.mjs';
import { COLD_GETS, makeReadData, fillBatched, fillSingle, getRange, indexOf } from './workloads.mjs';

const argv = process.argv.slice(2);
const [peer, mode] = argv;
const adapter = await loadAdapter(peer);
const log = (msg) => process.stderr.write(`  [${peer}] ${msg}\n`);
const WARMUP_ENTRIES = 20_000;

async function rss() {
  await settle();
  return process.memoryUsage().rss;
}

/** fsyncs every file under `dir`, then every directory (depth first). */
function fsyncTree(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else if (e.isFile()) { const fd = openSync(p, 'r'); try { fsyncSync(fd); } finally { closeSync(fd); } }
  }
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

const rate = (ops, ms) => ops / (ms / 1000);

/** Untimed: the code paths of the timed run, on a small store outside `dir`. */
async function warmUp(scratch, variant) {
  const dir = join(scratch, `warmup-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const d = makeReadData(WARMUP_ENTRIES);
    let h = await adapter.open({ dir });
    if (variant === 'put' && h.put) fillSingle(h, d.keys);
    else await fillBatched(h, d.keys);
    await h.close();
    h = await adapter.open({ dir });
    getRange(h, d.keys, d.firstOrder, 0, d.entries);
    getRange(h, d.missing, d.warmOrder, 0, d.entries);
    await h.scan(indexOf);
    await h.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fillMode(variant, dir, entries, scratch) {
  await warmUp(scratch, variant);
  const keys = makeKeys(entries);
  const rssBaseline = await rss();
  const h = await adapter.open({ dir });
  if (variant === 'put' && !h.put) throw new Error(`${peer} has no sync single put`);
  await settle();
  const c0 = cpuSnapshot();
  const t0 = performance.now();
  if (variant === 'put') fillSingle(h, keys);
  else await fillBatched(h, keys);
  const writesMs = performance.now() - t0;
  const cpuWrites = cpuSince(c0);
  const background = h.stats?.().background;
  const rssAfterFill = await rss();
  const stats = h.stats?.();
  const c1 = cpuSnapshot();
  const t1 = performance.now();
  await h.close();
  const closeMs = performance.now() - t1;
  const t2 = performance.now();
  fsyncTree(dir);
  const fsyncMs = performance.now() - t2;
  const cpuClose = cpuSince(c1);
  const durableMs = writesMs + closeMs + fsyncMs;
  const result = {
    peer, name: adapter.name, build: adapter.build, mode: 'fill', variant, entries,
    writesMs, closeMs, fsyncMs, durableMs,
    rates: { [`fill-${variant}`]: rate(entries, writesMs), [`fill-${variant}-durable`]: rate(entries, durableMs) },
    rss: { baseline: rssBaseline, afterFill: rssAfterFill },
    cpu: { writes: cpuWrites, close: cpuClose },
    ...(background ? { background } : {}),
    ...(stats ? { strataStats: { levels: stats.levels, runs: stats.runs, runBytes: stats.runBytes, memoryBytes: stats.memoryBytes,
      engineBytes: stats.engineBytes, writeAmplification: stats.writeAmplification, compactions: stats.counters.compactions, flushes: stats.counters.flushes } } : {}),
  };
  log(`fill (${variant}) ${Math.round(result.rates[`fill-${variant}`]).toLocaleString('en-US')} puts/s writes only, ` +
    `close ${closeMs.toFixed(0)} ms + fsync ${fsyncMs.toFixed(0)} ms → ${Math.round(result.rates[`fill-${variant}-durable`]).toLocaleString('en-US')} puts/s durable, ` +
    `RSS +${((rssAfterFill - rssBaseline) / 2 ** 20).toFixed(0)} MiB` +
    (cpuWrites.available ? `; CPU over the writes: main ${cpuWrites.mainMs.toFixed(0)} / worker ${cpuWrites.workerMs.toFixed(0)} / other ${cpuWrites.otherMs.toFixed(0)} ms` : ''));
  return result;
}

async function readMode(dir, entries, scratch) {
  await warmUp(scratch, 'putAll');
  const d = makeReadData(entries);
  const rssBaseline = await rss();
  const cold = Math.min(COLD_GETS, entries);

  const t0 = performance.now();
  const h = await adapter.open({ dir });
  const reopenMs = performance.now() - t0;
  const rssAfterReopen = await rss();

  const rates = {}, checks = {};
  let t = performance.now();
  const coldSum = getRange(h, d.keys, d.firstOrder, 0, cold);
  const coldMs = performance.now() - t;
  const restSum = getRange(h, d.keys, d.firstOrder, cold, entries);
  const firstMs = performance.now() - t;
  rates['get-cold'] = rate(cold, coldMs);
  rates['get-first'] = rate(entries, firstMs);
  checks['get-cold'] = coldSum;
  checks['get-first'] = coldSum + restSum;

  t = performance.now();
  checks['get-warm'] = getRange(h, d.keys, d.warmOrder, 0, entries);
  rates['get-warm'] = rate(entries, performance.now() - t);

  t = performance.now();
  checks['get-missing'] = getRange(h, d.missing, d.warmOrder, 0, entries);
  rates['get-missing'] = rate(entries, performance.now() - t);

  t = performance.now();
  const s = await h.scan(indexOf);
  rates.scan = rate(s.n, performance.now() - t);
  checks.scan = `${s.n}/${s.sum}`;

  const rssAfterReads = await rss();
  const stats = h.stats?.();
  await h.close();
  for (const [id, r] of Object.entries(rates)) log(`${id.padEnd(12)} ${Math.round(r).toLocaleString('en-US').padStart(12)} /s`);
  log(`reopen ${reopenMs.toFixed(0)} ms, RSS +${((rssAfterReopen - rssBaseline) / 2 ** 20).toFixed(0)} MiB after reopen, ` +
    `+${((rssAfterReads - rssBaseline) / 2 ** 20).toFixed(0)} MiB after the reads`);
  return {
    peer, name: adapter.name, build: adapter.build, mode: 'read', entries, coldGets: cold,
    reopenMs, rates, checks,
    rss: { baseline: rssBaseline, afterReopen: rssAfterReopen, afterReads: rssAfterReads },
    ...(stats ? { strataStats: { runs: stats.runs, runBytes: stats.runBytes, memoryBytes: stats.memoryBytes, engineBytes: stats.engineBytes } } : {}),
  };
}

let result;
if (mode === 'fill') result = await fillMode(argv[2], argv[3], Number(argv[4]), argv[5]);
else if (mode === 'read') result = await readMode(argv[2], Number(argv[3]), argv[4]);
else throw new Error(`unknown mode ${mode}`);
process.stdout.write(JSON.stringify(result) + '\n');
