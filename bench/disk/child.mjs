// One peer, one step of one round, in its own process:
//   node --expose-gc child.mjs <peer> fill <putAll|put> <dir> <entries> <scratch dir>
//   node --expose-gc child.mjs <peer> read <dir> <entries> <scratch dir>
//   node --expose-gc child.mjs <peer> sync-puts <dir> <puts> <scratch dir>
//   node --expose-gc child.mjs <peer> large <dir> <MB of values> <scratch dir>
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
//   sync-puts: opens the empty directory `dir` with open({ dir, sync: true }) and does N
//         durablePut calls one after the other (each awaited when it returns a Promise), so
//         each put is acknowledged durable before the next starts; every put's latency is
//         timed. Then closes, reopens (plain open) and checks that every put is there: a get
//         of every key compared byte for byte, and a full scan counting N entries.
//   large: fills the empty directory `dir` with LARGE_VALUE_BYTES-byte values (MB × 10^6
//         bytes of them) in putAll batches of LARGE_BATCH, then close + fsync as `fill`
//         (timed; keys and values are made before the timer starts, so the rate is the
//         store's, not the value generator's); then reopens in this process (timed; page
//         cache warm) and does LARGE_GETS random gets, each value compared byte for byte.
// All first run an untimed warm-up on a small store in `scratch dir` (written, closed,
// reopened, read, scanned, deleted), so the timed work runs optimized code; it touches
// nothing of `dir`.
import { closeSync, fsyncSync, openSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadAdapter } from '../adapters/common.mjs';
import { settle } from '../lib/dist.mjs';
import { cpuSnapshot, cpuSince } from '../lib/threads.mjs';
import { makeKeys, permutation, prng } from '../lib/keys.mjs';
import {
  COLD_GETS, makeReadData, fillBatched, fillSingle, getRange, indexOf, makeValue, SEED_ORDER,
  LARGE_VALUE_BYTES, LARGE_BATCH, LARGE_GETS,
} from './workloads.mjs';

const argv = process.argv.slice(2);
const [peer, mode] = argv;
const adapter = await loadAdapter(peer);
const log = (msg) => process.stderr.write(`  [${peer}] ${msg}\n`);
const WARMUP_ENTRIES = 20_000;

async function rss() {
  await settle();
  return process.memoryUsage().rss;
}

/** The peer's close(), then an fsync of its whole directory: each timed (ms). */
async function closeAndSync(h, dir) {
  const t1 = performance.now();
  await h.close();
  const closeMs = performance.now() - t1;
  const t2 = performance.now();
  fsyncTree(dir);
  return { closeMs, fsyncMs: performance.now() - t2 };
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
  const { closeMs, fsyncMs } = await closeAndSync(h, dir);
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

/** Whether the value `v` a peer returned holds exactly the bytes of `expected`. */
const sameBytes = (v, expected) => v !== undefined && v !== null &&
  Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(expected);

/** A scratch directory for a warm-up: fresh, and deleted after `fn`. */
async function inScratch(scratch, fn) {
  const dir = join(scratch, `warmup-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** N durable single puts, each acknowledged before the next; checked after a reopen. */
async function syncPutsMode(dir, n, scratch) {
  if (!adapter.durable) throw new Error(`${peer} has no durable single put`);
  const durablePuts = async (h, keys, values, latencies) => {
    for (let i = 0; i < keys.length; i++) {
      const t = performance.now();
      const done = h.durablePut(keys[i], values[i]);
      if (done !== undefined) await done;
      if (latencies) latencies[i] = performance.now() - t;
    }
  };
  await inScratch(scratch, async (wdir) => {
    const keys = makeKeys(300, 1e9);
    const h = await adapter.open({ dir: wdir, sync: true });
    await durablePuts(h, keys, keys.map((_, i) => makeValue(i)));
    await h.close();
  });
  const keys = makeKeys(n);
  const values = keys.map((_, i) => makeValue(i));
  const latencies = new Float64Array(n);
  const h = await adapter.open({ dir, sync: true });
  if (!h.durablePut) throw new Error(`${peer}: open({ sync: true }) gave no durablePut`);
  await settle();
  const t0 = performance.now();
  await durablePuts(h, keys, values, latencies);
  const putsMs = performance.now() - t0;
  await h.close();

  // Every acknowledged put must be there after a reopen, with its value.
  const h2 = await adapter.open({ dir });
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = h2.get(keys[i]);
    if (!sameBytes(v, values[i])) throw new Error(`${peer}: durable put ${i} (${keys[i]}) is missing or wrong after the reopen`);
    sum += indexOf(v);
  }
  const scanned = await h2.scan(indexOf);
  await h2.close();
  if (scanned.n !== n || scanned.sum !== sum) throw new Error(`${peer}: the scan after the durable puts saw ${scanned.n}/${scanned.sum}, expected ${n}/${sum}`);

  latencies.sort();
  const us = (q) => latencies[Math.min(n - 1, Math.floor(q * n))] * 1000;
  const latencyUs = { p50: us(0.5), p99: us(0.99), max: latencies[n - 1] * 1000, mean: (putsMs / n) * 1000 };
  const rates = { 'sync-put': rate(n, putsMs) };
  log(`durable puts: ${Math.round(rates['sync-put']).toLocaleString('en-US')} puts/s, latency median ${latencyUs.p50.toFixed(0)} µs, ` +
    `p99 ${latencyUs.p99.toFixed(0)} µs, max ${latencyUs.max.toFixed(0)} µs; all ${n} there after the reopen`);
  return {
    peer, name: adapter.name, build: adapter.build, mode: 'sync-puts', puts: n, putsMs, rates, latencyUs,
    checks: { 'sync-puts': `${n}/${sum}` },
  };
}

/** The large-value fill: keys and batches made up front (untimed). */
function largeBatches(entries, from = 0) {
  const keys = makeKeys(entries, from);
  const batches = [];
  for (let b = 0; b < entries; b += LARGE_BATCH) {
    const chunk = [];
    for (let i = b; i < Math.min(b + LARGE_BATCH, entries); i++) chunk.push([keys[i], makeValue(i, LARGE_VALUE_BYTES)]);
    batches.push(chunk);
  }
  return batches;
}

async function putBatches(h, batches) {
  for (const chunk of batches) {
    if (h.asyncWrites) await h.putAll(chunk); else h.putAll(chunk);
  }
}

/** Fills `dir` with `mb` MB of large values, close + fsync; reopens, random gets, checked. */
async function largeMode(dir, mb, scratch) {
  await inScratch(scratch, async (wdir) => {
    const batches = largeBatches(2000, 1e9);
    let h = await adapter.open({ dir: wdir });
    await putBatches(h, batches);
    await h.close();
    h = await adapter.open({ dir: wdir });
    for (const chunk of batches) for (const [k, v] of chunk) if (!sameBytes(h.get(k), v)) throw new Error(`${peer}: warm-up get of ${k} is wrong`);
    await h.close();
  });
  const entries = Math.round((mb * 1e6) / LARGE_VALUE_BYTES);
  const valueBytes = entries * LARGE_VALUE_BYTES;
  const batches = largeBatches(entries);
  const entry = (i) => batches[Math.floor(i / LARGE_BATCH)][i % LARGE_BATCH];
  const rand = prng(SEED_ORDER);
  const gets = Math.min(LARGE_GETS, entries);
  const order = permutation(entries, rand).subarray(0, gets);

  const h = await adapter.open({ dir });
  await settle();
  const c0 = cpuSnapshot();
  const t0 = performance.now();
  await putBatches(h, batches);
  const writesMs = performance.now() - t0;
  const cpuWrites = cpuSince(c0);
  const { closeMs, fsyncMs } = await closeAndSync(h, dir);
  const durableMs = writesMs + closeMs + fsyncMs;

  const t3 = performance.now();
  const h2 = await adapter.open({ dir });
  const reopenMs = performance.now() - t3;
  const got = new Array(gets);
  const t4 = performance.now();
  for (let j = 0; j < gets; j++) got[j] = h2.get(entry(order[j])[0]);
  const getsMs = performance.now() - t4;
  await h2.close();
  let sum = 0;
  for (let j = 0; j < gets; j++) {
    const [k, v] = entry(order[j]);
    if (!sameBytes(got[j], v)) throw new Error(`${peer}: large-value get of ${k} (entry ${order[j]}) is missing or wrong`);
    sum += indexOf(got[j]);
  }

  const rates = {
    'large-fill-durable': rate(entries, durableMs), 'large-fill': rate(entries, writesMs), 'large-get': rate(gets, getsMs),
  };
  const mbPerSec = { 'large-fill-durable': valueBytes / 1e6 / (durableMs / 1000), 'large-fill': valueBytes / 1e6 / (writesMs / 1000) };
  log(`large values: ${mbPerSec['large-fill-durable'].toFixed(0)} MB/s durable (${mbPerSec['large-fill'].toFixed(0)} MB/s writes only, ` +
    `close ${closeMs.toFixed(0)} ms + fsync ${fsyncMs.toFixed(0)} ms), ${Math.round(rates['large-fill-durable']).toLocaleString('en-US')} puts/s; ` +
    `reopen ${reopenMs.toFixed(0)} ms, ${Math.round(rates['large-get']).toLocaleString('en-US')} gets/s, all ${gets} checked`);
  return {
    peer, name: adapter.name, build: adapter.build, mode: 'large', entries, valueBytes, batch: LARGE_BATCH, gets,
    writesMs, closeMs, fsyncMs, durableMs, reopenMs, getsMs, rates, mbPerSec,
    cpu: { writes: cpuWrites },
    checks: { 'large-gets': `${gets}/${sum}` },
  };
}

let result;
if (mode === 'fill') result = await fillMode(argv[2], argv[3], Number(argv[4]), argv[5]);
else if (mode === 'read') result = await readMode(argv[2], Number(argv[3]), argv[4]);
else if (mode === 'sync-puts') result = await syncPutsMode(argv[2], Number(argv[3]), argv[4]);
else if (mode === 'large') result = await largeMode(argv[2], Number(argv[3]), argv[4]);
else throw new Error(`unknown mode ${mode}`);
process.stdout.write(JSON.stringify(result) + '\n');
