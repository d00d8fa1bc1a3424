// strata-kv demo (`npm start`): loads 1,000,000 entries into an in-memory store with the
// default tuning, exercises every kind of read and write, checks each answer against a model
// kept here, and prints what it measured: throughput per phase and the LSM's shape.
//
// Honesty rules: every number printed is measured in this run; timers bracket the store
// calls and the consuming of their results (inputs are made before, answers are checked
// after), and any wrong answer makes the process exit with code 1.
//
// Values check themselves: bytes 0-3 hold the entry's index (u32 LE), byte 4 its
// generation (1 = first write, +1 per overwrite) and bytes 5-99 a stream derived from both,
// so any (key, value) pair read back can be verified without a second copy of the data.
import os from 'node:os';
import { Store, codecs } from '../dist/index.js';

const N = 1_000_000;              // entries loaded
const SINGLE_PUTS = 50_000;       // of those, written one put() at a time (the last ones)
const BATCH = 1_000;              // putAll / deleteAll / getAll batch size
const VALUE_BYTES = 100;
const GETS = 100_000;             // per get phase (hits, misses)
const RANGES = 2_000;             // range scans of RANGE_LEN entries per phase
const RANGE_LEN = 100;
const OVERWRITES = 100_000;       // done while a snapshot is held
const DELETES = 50_000;
const CAS_OPS = 50_000;           // getVersioned + putIfVersion round trips
const SEED = 0x5eed;

// ---- deterministic data ----------------------------------------------------------------

/** murmur3's 32-bit finalizer: a bijection on uint32. */
function fmix32(h) {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const hex8 = (n) => HEX[n >>> 24] + HEX[(n >>> 16) & 0xff] + HEX[(n >>> 8) & 0xff] + HEX[n & 0xff];

/** Key i: 16 hex chars from a counter-based PRNG. The low half is a bijection of i, so keys
 *  never repeat and any index ≥ N names a key that is guaranteed absent. */
const keyHi = (i) => fmix32(Math.imul(i, 0x9e3779b9) ^ SEED);
const keyLo = (i) => fmix32(i ^ (SEED * 0x10001));
const keyOf = (i) => hex8(keyHi(i)) + hex8(keyLo(i));

function valueFor(i, gen) {
  const v = new Uint8Array(VALUE_BYTES);
  new DataView(v.buffer).setUint32(0, i, true);
  v[4] = gen;
  let s = fmix32(i * 251 + gen) | 1;          // xorshift32 must not start at 0
  for (let j = 5; j < VALUE_BYTES; j++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    v[j] = s & 0xff;
  }
  return v;
}

/** valueFor(i, gen) equals v, without building it (checks run a few million times). */
function isValueOf(v, i, gen) {
  if (!(v instanceof Uint8Array) || v.length !== VALUE_BYTES) return false;
  if ((v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0 !== i || v[4] !== gen) return false;
  let s = fmix32(i * 251 + gen) | 1;
  for (let j = 5; j < VALUE_BYTES; j++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    if (v[j] !== (s & 0xff)) return false;
  }
  return true;
}

/** mulberry32: picks which entries each phase touches. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const pick = (n) => Math.floor(rand() * n);

// ---- checks ------------------------------------------------------------------------------

let checks = 0;
const failures = [];
function check(ok, message) {
  checks++;
  if (ok) return true;
  if (failures.length < 20) console.error(`  FAIL: ${message}`);
  failures.push(message);
  return false;
}

/** Checks that `value` is what entry i holds at generation `gen`. */
function checkValue(what, i, value, gen) {
  if (isValueOf(value, i, gen)) return check(true);   // the message is built only on failure
  return check(false,
    `${what}: key ${keyOf(i)} (entry ${i}) should hold generation ${gen}, got ${describe(value)}`);
}

function describe(v) {
  if (v === undefined) return 'undefined';
  if (!(v instanceof Uint8Array)) return typeof v;
  if (v.length !== VALUE_BYTES) return `${v.length} bytes`;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return `entry ${dv.getUint32(0, true)} generation ${v[4]}`;
}

// ---- report ------------------------------------------------------------------------------

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const pad = (s, w) => String(s).padStart(w);

const COLS = [['phase', 38], ['calls', 10], ['entries', 11], ['time', 10], ['calls/s', 11], ['entries/s', 11], ['check', 7]];
function printHeader() {
  console.log(COLS.map(([h, w], c) => (c === 0 ? h.padEnd(w) : pad(h, w))).join(' '));
  console.log(COLS.map(([, w]) => '─'.repeat(w)).join(' '));
}

function row(name, calls, entries, ms, ok) {
  const perSec = (n) => fmtInt(n / (ms / 1000));
  console.log([
    name.padEnd(38), pad(fmtInt(calls), 10), pad(fmtInt(entries), 11), pad(`${ms.toFixed(0)} ms`, 10),
    // A rate of one call says nothing a time does not.
    pad(calls === 1 ? '' : perSec(calls), 11), pad(entries === calls ? '' : perSec(entries), 11), pad(ok ? 'ok' : 'FAILED', 7),
  ].join(' '));
}

/** One timed phase: `run` does only store calls; `verify` runs afterwards, untimed. */
function phase(name, calls, entries, run, verify) {
  const before = failures.length;
  const t0 = performance.now();
  const out = run();
  const ms = performance.now() - t0;
  if (verify) verify(out);
  row(name, calls, entries, ms, failures.length === before);
  return out;
}

/** compact(): its rate is of the entries it had to merge (everything, memtable included). */
async function compactPhase(name, store) {
  const before = store.stats();
  const input = before.memtable.entries + before.levels.reduce((a, l) => a + l.entries, 0);
  const t0 = performance.now();
  await store.compact();
  row(name, 1, input, performance.now() - t0, true);
}

const shapes = [];
function recordShape(label, store) { shapes.push([label, store.stats()]); }

function printShapes() {
  const w = 20;
  const levels = new Set();
  for (const [, s] of shapes) for (const l of s.levels) if (l.runs > 0) levels.add(l.level);
  const row = (label, cell) => console.log(label.padEnd(28) + shapes.map(([, s]) => pad(cell(s), w)).join(''));
  console.log(''.padEnd(28) + shapes.map(([l]) => pad(l[0], w)).join(''));
  console.log(''.padEnd(28) + shapes.map(([l]) => pad(l[1], w)).join(''));
  console.log('─'.repeat(28 + w * shapes.length));
  row('memtable     entries', (s) => fmtInt(s.memtable.entries));
  row('             size', (s) => mib(s.memtable.bytes));
  for (const l of [...levels].sort()) {
    const lv = (s) => s.levels[l];
    row(`L${l}           runs`, (s) => String(lv(s).runs));
    row('             entries', (s) => fmtInt(lv(s).entries));
    row('             size', (s) => mib(lv(s).bytes));
  }
  row('all runs     count', (s) => String(s.runs));
  row('             size', (s) => mib(s.runBytes));
  row('entries, runs + memtable', (s) => fmtInt(s.memtable.entries + s.levels.reduce((a, l) => a + l.entries, 0)));
  row('write amplification', (s) => s.writeAmplification.toFixed(2));
  row('space amplification', (s) => s.spaceAmplification.toFixed(2));
  row('flushes / compactions', (s) => `${s.counters.flushes} / ${s.counters.compactions}`);
  row('live snapshots', (s) => String(s.snapshots));
  row('engine memory allocated', (s) => (s.engineBytes === undefined ? 'n/a' : mib(s.engineBytes)));
  row('Wasm linear memory', (s) => mib(s.memoryBytes));
}

// ---- the run -------------------------------------------------------------------------------

async function main() {
  const started = performance.now();
  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });

  // The model: gen[i] is entry i's current generation, 0 = absent.
  const gen = new Uint8Array(N + GETS + CAS_OPS);
  let seq = 0;                                   // writes committed, = expected stats().sequence
  const keys = new Array(N);
  const hi = new Uint32Array(N), lo = new Uint32Array(N);
  for (let i = 0; i < N; i++) {
    hi[i] = keyHi(i); lo[i] = keyLo(i);
    keys[i] = hex8(hi[i]) + hex8(lo[i]);
  }
  const keyAt = (i) => (i < N ? keys[i] : keyOf(i));
  // Fixed-width hex: numeric order of (hi, lo) = string order = unsigned byte order of UTF-8.
  const sorted = Uint32Array.from({ length: N }, (_, i) => i).sort((a, b) => hi[a] - hi[b] || lo[a] - lo[b]);

  console.log('strata-kv demo — in-memory store, default tuning');
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'})`);
  console.log(`${fmtInt(N)} entries: 16-char hex keys (counter-based PRNG, seed ${hex8(SEED)}), ${VALUE_BYTES}-byte values`);
  console.log('Times bracket the store calls and the reading of their results; every answer is checked against a model afterwards.\n');
  printHeader();

  // -- load ------------------------------------------------------------------------------
  const batchLoads = N - SINGLE_PUTS;
  // 95 MB of values is too much to build ahead, so batches are built between timed calls.
  let putAllMs = 0;
  for (let b = 0; b < batchLoads; b += BATCH) {
    const batch = [];
    for (let i = b; i < b + BATCH; i++) batch.push([keys[i], valueFor(i, 1)]);
    const t = performance.now();
    store.putAll(batch);
    putAllMs += performance.now() - t;
  }
  row(`load: putAll, batches of ${fmtInt(BATCH)}`, batchLoads / BATCH, batchLoads, putAllMs, true);
  for (let i = 0; i < batchLoads; i++) gen[i] = 1;
  seq += batchLoads;

  const singleValues = Array.from({ length: SINGLE_PUTS }, (_, j) => valueFor(batchLoads + j, 1));
  phase('load: put, one entry per call', SINGLE_PUTS, SINGLE_PUTS, () => {
    for (let j = 0; j < SINGLE_PUTS; j++) store.put(keys[batchLoads + j], singleValues[j]);
  });
  for (let i = batchLoads; i < N; i++) gen[i] = 1;
  seq += SINGLE_PUTS;
  recordShape(['after load', `${fmtInt(N)} entries`], store);

  // -- point reads -----------------------------------------------------------------------
  const hitIdx = Uint32Array.from({ length: GETS }, () => pick(N));
  const hitKeys = Array.from(hitIdx, (i) => keys[i]);
  phase('get: hit (random key)', GETS, GETS, () => {
    const out = new Array(GETS);
    for (let j = 0; j < GETS; j++) out[j] = store.get(hitKeys[j]);
    return out;
  }, (out) => { for (let j = 0; j < GETS; j++) checkValue('get hit', hitIdx[j], out[j], 1); });

  const missKeys = Array.from({ length: GETS }, (_, j) => keyOf(N + j));
  phase('get: miss (absent key)', GETS, GETS, () => {
    const out = new Array(GETS);
    for (let j = 0; j < GETS; j++) out[j] = store.get(missKeys[j]);
    return out;
  }, (out) => { for (let j = 0; j < GETS; j++) check(out[j] === undefined, `get miss: ${missKeys[j]} returned ${describe(out[j])}`); });

  const getAllBatches = [];
  for (let b = 0; b < GETS; b += BATCH) {
    getAllBatches.push(Array.from({ length: BATCH }, (_, j) => ((b + j) % 2 ? hitKeys[b + j] : missKeys[b + j])));
  }
  phase(`getAll: ${fmtInt(BATCH)} keys per call, ½ hits`, GETS / BATCH, GETS, () => getAllBatches.map((ks) => store.getAll(ks)), (out) => {
    for (let j = 0; j < GETS; j++) {
      const v = out[Math.floor(j / BATCH)][j % BATCH];
      if (j % 2) checkValue('getAll hit', hitIdx[j], v, 1);
      else check(v === undefined, `getAll miss: ${missKeys[j]} returned ${describe(v)}`);
    }
  });

  // -- range scans -----------------------------------------------------------------------
  const starts = Uint32Array.from({ length: RANGES }, () => pick(N - RANGE_LEN));
  phase(`range [from, to) of ${RANGE_LEN}`, RANGES, RANGES * RANGE_LEN, () => Array.from(starts, (p) => {
    const got = [];
    for (const e of store.range(keys[sorted[p]], keys[sorted[p + RANGE_LEN]])) got.push(e);
    return got;
  }), (out) => {
    out.forEach((got, r) => { checkRange('range', got, starts[r], 1, false); });
  });

  phase(`range reverse, limit ${RANGE_LEN}`, RANGES, RANGES * RANGE_LEN, () => Array.from(starts, (p) => {
    const got = [];
    // The RANGE_LEN keys just below the exclusive upper bound, largest first.
    for (const e of store.range(keys[sorted[0]], keys[sorted[p + RANGE_LEN]], { reverse: true, limit: RANGE_LEN })) got.push(e);
    return got;
  }), (out) => {
    out.forEach((got, r) => { checkRange('reverse range', got, starts[r], 1, true); });
  });

  function checkRange(what, got, p, g, reverse) {
    if (!check(got.length === RANGE_LEN, `${what} at ${keys[sorted[p]]}: ${got.length} entries, expected ${RANGE_LEN}`)) return;
    for (let j = 0; j < RANGE_LEN; j++) {
      const i = sorted[reverse ? p + RANGE_LEN - 1 - j : p + j];
      const [k, v] = got[j];
      if (!check(k === keys[i], `${what}: entry ${j} is ${k}, expected ${keys[i]}`)) return;
      checkValue(what, i, v, g);
    }
  }

  // Verifying inside the loop would slow it; order is checked for every key (a cheap ===),
  // values for every 100th entry.
  function scan(what, iterable, expectIdx, genOf) {
    let n = 0, bad = 0;
    for (const [k, v] of iterable) {
      const i = expectIdx[n];
      if (k !== keyAt(i) && bad++ < 3) check(false, `${what}: entry ${n} is ${k}, expected ${keyAt(i)}`);
      if (n % 100 === 0) checkValue(what, i, v, genOf(i));
      n++;
    }
    check(n === expectIdx.length, `${what}: ${fmtInt(n)} entries, expected ${fmtInt(expectIdx.length)}`);
    return n;
  }
  phase('scan: all(), whole store', 1, N, () => scan('scan', store.all(), sorted, () => 1));

  // -- snapshot, overwrites, deletes ------------------------------------------------------
  // A random permutation prefix: OVERWRITES entries to overwrite, then DELETES to delete.
  const perm = Uint32Array.from({ length: N }, (_, i) => i);
  for (let j = 0; j < OVERWRITES + DELETES + CAS_OPS; j++) {
    const r = j + pick(N - j);
    [perm[j], perm[r]] = [perm[r], perm[j]];
  }
  const overwritten = perm.subarray(0, OVERWRITES);
  const deleted = perm.subarray(OVERWRITES, OVERWRITES + DELETES);

  const snap = store.snapshot();
  const snapSeq = seq;
  const overwriteBatches = [];
  for (let b = 0; b < OVERWRITES; b += BATCH) {
    overwriteBatches.push(Array.from(overwritten.subarray(b, b + BATCH), (i) => [keys[i], valueFor(i, 2)]));
  }
  phase(`overwrite: putAll, batches of ${fmtInt(BATCH)}`, OVERWRITES / BATCH, OVERWRITES, () => {
    for (const batch of overwriteBatches) store.putAll(batch);
  });
  for (const i of overwritten) gen[i] = 2;
  seq += OVERWRITES;

  const deleteBatches = [];
  for (let b = 0; b < DELETES; b += BATCH) deleteBatches.push(Array.from(deleted.subarray(b, b + BATCH), (i) => keys[i]));
  phase(`delete: deleteAll, batches of ${fmtInt(BATCH)}`, DELETES / BATCH, DELETES, () => {
    for (const batch of deleteBatches) store.deleteAll(batch);
  });
  for (const i of deleted) gen[i] = 0;
  seq += DELETES;

  const changed = Array.from(perm.subarray(0, OVERWRITES + DELETES));
  const changedKeys = changed.map((i) => keys[i]);
  phase('get: changed keys, from the store', changed.length, changed.length, () => changedKeys.map((k) => store.get(k)),
    (out) => out.forEach((v, j) => {
      const i = changed[j];
      if (gen[i] === 0) check(v === undefined, `store get of deleted ${keys[i]} returned ${describe(v)}`);
      else checkValue('store get after overwrite', i, v, gen[i]);
    }));
  phase('get: changed keys, from the snapshot', changed.length, changed.length, () => changedKeys.map((k) => snap.get(k)),
    (out) => out.forEach((v, j) => { checkValue('snapshot get', changed[j], v, 1); }));

  const snapCount = phase('scan: all(), snapshot', 1, N, () => scan('snapshot scan', snap.all(), sorted, () => 1));
  recordShape(['overwrite + delete', 'snapshot held'], store);

  // Compaction must keep every version the snapshot can see.
  await compactPhase('compact(), snapshot held', store);
  recordShape(['compact()', 'snapshot held'], store);
  phase('get: changed keys, snapshot, compacted', changed.length, changed.length, () => changedKeys.map((k) => snap.get(k)),
    (out) => out.forEach((v, j) => { checkValue('snapshot get after compact', changed[j], v, 1); }));
  snap.close();

  // -- versions --------------------------------------------------------------------------
  const notes = [];
  const k0 = keys[overwritten[0]];
  const v0 = store.getVersioned(k0);
  const cur = store.stats().sequence;
  // k0 was the first entry of the first overwrite batch.
  check(v0?.version === snapSeq + 1, `getVersioned(${k0}) version ${v0?.version}, expected ${snapSeq + 1}`);
  const staleOk = store.putIfVersion(k0, valueFor(overwritten[0], 9), v0.version - 1);
  check(staleOk === false, 'putIfVersion with a stale version must be rejected');
  const freshOk = store.putIfVersion(k0, valueFor(overwritten[0], 3), v0.version);
  check(freshOk === true, 'putIfVersion with the current version must succeed');
  gen[overwritten[0]] = 3; seq++;
  const v1 = store.getVersioned(k0);
  check(v1?.version === cur + 1, `version after putIfVersion should be ${cur + 1}, got ${v1?.version}`);
  checkValue('getVersioned after putIfVersion', overwritten[0], v1?.value, 3);
  const absentIdx = N + GETS;                       // never written
  const absentKey = keyOf(absentIdx);
  const createOk = store.putIfVersion(absentKey, valueFor(absentIdx, 1), 0);
  const createAgain = store.putIfVersion(absentKey, valueFor(absentIdx, 9), 0);
  check(createOk === true && createAgain === false, `putIfVersion(expected 0) should create once (got ${createOk}, ${createAgain})`);
  gen[absentIdx] = 1; seq++;
  const delStale = store.deleteIfVersion(k0, v0.version);
  const delOk = store.deleteIfVersion(k0, v1.version);
  check(delStale === false && delOk === true && store.getVersioned(k0) === undefined,
    `deleteIfVersion: stale ${delStale} (want false), current ${delOk} (want true), then absent`);
  gen[overwritten[0]] = 0; seq++;
  notes.push(
    `getVersioned(${k0}) → version ${fmtInt(v0.version)} (the overwrite's sequence number)`,
    `putIfVersion(…, ${fmtInt(v0.version - 1)}) → ${staleOk}   (stale version rejected)`,
    `putIfVersion(…, ${fmtInt(v0.version)}) → ${freshOk}    (new version ${fmtInt(v1.version)} = last sequence)`,
    `putIfVersion(${absentKey}, …, 0) → ${createOk}, again → ${createAgain}   (0 = must be absent)`,
    `deleteIfVersion(${k0}, ${fmtInt(v0.version)}) → ${delStale}, with ${fmtInt(v1.version)} → ${delOk}, then getVersioned → undefined`,
  );

  // Read-modify-write through versions: the optimistic-concurrency loop a state store runs.
  const casIdx = perm.subarray(OVERWRITES + DELETES, OVERWRITES + DELETES + CAS_OPS);
  const casKeys = Array.from(casIdx, (i) => keys[i]);
  const casValues = Array.from(casIdx, (i) => valueFor(i, gen[i] + 1));
  const casSeq = seq;
  phase('getVersioned + putIfVersion (CAS)', CAS_OPS * 2, CAS_OPS, () => {
    const out = new Array(CAS_OPS);
    for (let j = 0; j < CAS_OPS; j++) {
      const r = store.getVersioned(casKeys[j]);
      out[j] = [r, store.putIfVersion(casKeys[j], casValues[j], r.version)];
    }
    return out;
  }, (out) => {
    out.forEach(([r, ok], j) => {
      checkValue('CAS read', casIdx[j], r?.value, gen[casIdx[j]]);
      check(ok === true, `CAS write of ${casKeys[j]} was rejected`);
    });
  });
  for (const i of casIdx) gen[i]++;
  seq += CAS_OPS;
  phase('getVersioned, after CAS', CAS_OPS, CAS_OPS, () => casKeys.map((k) => store.getVersioned(k)),
    (out) => out.forEach((r, j) => {
      checkValue('getVersioned after CAS', casIdx[j], r?.value, gen[casIdx[j]]);
      // Every CAS wrote, in order, so each key's version is the sequence its write took.
      check(r?.version === casSeq + j + 1, `version of ${casKeys[j]} after CAS is ${r?.version}, expected ${casSeq + j + 1}`);
    }));

  await compactPhase('compact(), no snapshot', store);
  recordShape(['compact()', 'snapshot closed'], store);
  // Entries past N (created by putIfVersion) join the sorted order; timsort finds the runs.
  const liveNow = Array.from(sorted.filter((i) => gen[i] !== 0));
  for (let i = N; i < gen.length; i++) if (gen[i] !== 0) liveNow.push(i);
  liveNow.sort((a, b) => (keyAt(a) < keyAt(b) ? -1 : 1));
  const finalCount = phase('scan: all(), after compact()', 1, liveNow.length, () => scan('final scan', store.all(), liveNow, (i) => gen[i]));

  const st = store.stats();
  check(st.sequence === seq, `stats().sequence is ${st.sequence}, expected ${seq} (one per write)`);
  check(st.snapshots === 0 && st.iterators === 0, `stats() shows ${st.snapshots} snapshots and ${st.iterators} iterators open, expected 0`);

  console.log('\nSnapshot isolation');
  console.log(`  snapshot taken at sequence ${fmtInt(snapSeq)}; then ${fmtInt(OVERWRITES)} keys overwritten and ${fmtInt(DELETES)} deleted`);
  console.log(`  store:    overwritten keys read the new value, deleted keys read undefined; all() yields ${fmtInt(finalCount)} entries at the end`);
  console.log(`  snapshot: all ${fmtInt(changed.length)} changed keys still read their old values, before and after compact(); all() yields ${fmtInt(snapCount)} entries`);
  console.log('\nVersions (version = sequence number of the key\'s last write)');
  for (const n of notes) console.log(`  ${n}`);

  console.log('\nLSM shape (store.stats())');
  printShapes();
  console.log('write amplification = (bytes flushed + bytes compacted) / user bytes written; space amplification = bytes of all runs / bytes of the deepest level');

  await store.close();
  await countersDemo();
  const secs = (performance.now() - started) / 1000;
  console.log(`\n${fmtInt(finalCount)} live entries at the end, sequence ${fmtInt(st.sequence)}; ${fmtInt(checks)} checks, ${failures.length} failed; ${secs.toFixed(1)} s in all`);
  if (failures.length > 0) {
    console.error(`FAILED: ${failures.length} correctness check(s) failed`);
    process.exitCode = 1;
  }
}

/** Counting with a merge operator, then clearing a key range with one range tombstone, in a
 *  store of its own; every count is checked against a Map. */
async function countersDemo() {
  const M = 200_000, K = 20_000;
  const counters = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.json });
  const model = new Map();
  const key = (i) => `page:${String(i).padStart(6, '0')}`;
  let x = SEED;
  const t = performance.now();
  for (let i = 0; i < M; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; // xorshift32
    const k = key(x % K);
    counters.merge(k, 1, 'add');
    model.set(k, (model.get(k) ?? 0) + 1);
  }
  const ms = performance.now() - t;
  for (const [k, n] of model) check(counters.get(k) === n, `count of ${k} is ${counters.get(k)}, expected ${n}`);
  await counters.compact();
  const folded = counters.approximateNumEntries();
  check(folded === model.size, `after compact() the store holds ${folded} entries, expected one per counter (${model.size})`);
  const t2 = performance.now();
  counters.deleteRange(key(0), key(K / 2));
  const clearMs = performance.now() - t2;
  let left = 0;
  for (const [k] of counters.all()) { left++; check(k >= key(K / 2), `${k} survived deleteRange`); }
  for (const [k, n] of model) if (k >= key(K / 2)) check(counters.get(k) === n, `count of ${k} after deleteRange`);
  console.log('\nCounters (merge operator) and a range deletion');
  console.log(`  ${fmtInt(M)} merge(key, 1, 'add') over ${fmtInt(K)} keys: ${fmtInt(Math.round(M / ms * 1000))} merges/s, no read per increment; every count checked`);
  console.log(`  compact() folded the operands: ${fmtInt(folded)} entries, one per counter`);
  console.log(`  deleteRange of the first half of the keys: ${clearMs.toFixed(3)} ms for one range tombstone; ${fmtInt(left)} counters left, each still exact`);
  await counters.close();
}

main().catch((err) => {
  console.error('demo aborted:', err);
  process.exitCode = 1;
});
