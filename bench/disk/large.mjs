// npm run bench:large — a store larger than memory (docs/LSM.md, "Larger than memory").
// Fills an on-disk store (default tuning, 64 MiB block cache) with N entries, sampling the
// process's resident memory as it goes, closes it, reopens it and checks it: random gets of
// present keys (every value compared), missing keys, range scans and a full ordered scan
// (every key counted, order checked). Keys are 16 hex characters in random order (a
// bijective mix of the entry number, so all are distinct); a value carries its entry number.
// The check runs in a fresh process (this script again, with --check), so its resident
// memory is the reopened store's alone, not the filled store's garbage as well.
//
//   node bench/disk/large.mjs [--entries 20000000] [--value-bytes 100] [--dir D] [--keep]
//     20M × 100-byte values: about 2.3 GB of keys and values, resident memory ≤ 512 MB;
//     --entries 1200000 --value-bytes 4000: a store of more than 4 GiB, past wasm32's
//     whole address space.
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs } from '../../dist/index.js';
import { parseArgs } from '../lib/args.mjs';
import { fmix32, hex8 } from '../lib/keys.mjs';

/** Entry i's key: distinct for distinct i (the first half alone is a bijection of i). */
const keyOf = (i) => hex8(fmix32(i)) + hex8(fmix32(i ^ 0x5bd1e995));
/** A key no entry has: the same first half, another second half. */
const missingKeyOf = (i) => hex8(fmix32(i)) + hex8(fmix32(i ^ 0x5bd1e995) ^ 1);
function valueFor(i, bytes) {
  const v = new Uint8Array(bytes).fill(i & 0xff);
  new DataView(v.buffer).setUint32(0, i, true);
  return v;
}
const entryOf = (v) => new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0, true);

const MiB = 1 << 20;
const mib = (b) => (b / MiB).toFixed(0);
const rss = () => process.memoryUsage.rss();
function dirBytes(dir) {
  let n = 0;
  for (const f of readdirSync(dir)) n += statSync(join(dir, f)).size;
  return n;
}

const o = parseArgs(process.argv.slice(2), {
  entries: { type: 'int', default: 20_000_000, min: 1000 },
  valueBytes: { type: 'int', default: 100, min: 8 },
  dir: { type: 'string', default: undefined },
  keep: { type: 'on' },
  gets: { type: 'int', default: 200_000, min: 1 },
  check: { type: 'on' },
}, { usage: 'node bench/disk/large.mjs [--entries N] [--value-bytes B] [--dir D] [--keep] [--gets G]' });
const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'strata-large-'));
const open = () => Store.open({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.bytes });
const report = { entries: o.entries, valueBytes: o.valueBytes, dir };
if (o.check) await check();
else await fill();

async function fill() {
console.log(`strata-kv larger than memory: ${o.entries.toLocaleString('en-US')} entries, 16-byte keys, ${o.valueBytes}-byte values, in ${dir}`);
console.log(`rss at start: ${mib(rss())} MiB`);

// ---- fill ------------------------------------------------------------------------------
let peakRss = rss();
const store = await open();
const t0 = performance.now();
const BATCH = 1000;
const progressEvery = Math.max(BATCH, Math.round(o.entries / 10 / BATCH) * BATCH);
for (let i = 0; i < o.entries; i += BATCH) {
  const batch = [];
  for (let j = i; j < Math.min(i + BATCH, o.entries); j++) batch.push([keyOf(j), valueFor(j, o.valueBytes)]);
  store.putAll(batch);
  if ((i / BATCH) % 50 === 0) peakRss = Math.max(peakRss, rss());
  if (i > 0 && i % progressEvery === 0) {
    const m = process.memoryUsage();
    console.log(`  ${(i / 1e6).toFixed(1)}M entries, ${(i / ((performance.now() - t0) / 1000) / 1000).toFixed(0)}k puts/s, rss ${mib(m.rss)} MiB (linear memory ${mib(store.stats().memoryBytes)}, JS heap ${mib(m.heapUsed)}, external ${mib(m.external)})`);
  }
}
const fillMs = performance.now() - t0;
const t1 = performance.now();
await store.close();
const closeMs = performance.now() - t1;
peakRss = Math.max(peakRss, rss());
report.fill = { putsPerSec: Math.round(o.entries / ((fillMs + closeMs) / 1000)), ms: Math.round(fillMs), closeMs: Math.round(closeMs), peakRssMiB: +mib(peakRss) };
report.dirBytes = dirBytes(dir);
report.userBytes = o.entries * (16 + o.valueBytes);
console.log(`fill: ${report.fill.putsPerSec.toLocaleString('en-US')} puts/s with close; peak rss ${mib(peakRss)} MiB; directory ${(report.dirBytes / 2 ** 30).toFixed(2)} GiB for ${(report.userBytes / 2 ** 30).toFixed(2)} GiB of keys and values`);

const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--check', '--dir', dir,
  '--entries', String(o.entries), '--value-bytes', String(o.valueBytes), '--gets', String(o.gets)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const lines = child.stdout.trimEnd().split('\n');
const checked = JSON.parse(lines.pop());
console.log(lines.join('\n'));
if (!o.keep && o.dir === undefined) rmSync(dir, { recursive: true, force: true });
if (child.status !== 0) throw new Error('the check failed');
console.log(JSON.stringify({ ...report, ...checked }));
}

// ---- reopen and check (a fresh process) ------------------------------------------------
async function check() {
console.log(`reopened in a fresh process (rss at start ${mib(rss())} MiB)`);
const t2 = performance.now();
const store = await open();
report.reopenMs = Math.round(performance.now() - t2);
report.rssAfterReopenMiB = +mib(rss());
console.log(`reopen: ${report.reopenMs} ms, rss ${report.rssAfterReopenMiB} MiB`);

let seed = 12345;
const rand = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
let t = performance.now();
for (let n = 0; n < o.gets; n++) {
  const i = rand() % o.entries;
  const v = store.get(keyOf(i));
  if (v === undefined || v.length !== o.valueBytes || entryOf(v) !== i) throw new Error(`get of entry ${i} returned a wrong value`);
}
report.getsPerSec = Math.round(o.gets / ((performance.now() - t) / 1000));
t = performance.now();
for (let n = 0; n < o.gets / 4; n++) {
  if (store.get(missingKeyOf(rand() % o.entries)) !== undefined) throw new Error('a missing key was found');
}
report.missingGetsPerSec = Math.round(o.gets / 4 / ((performance.now() - t) / 1000));
console.log(`random gets: ${report.getsPerSec.toLocaleString('en-US')}/s (every value checked); missing keys: ${report.missingGetsPerSec.toLocaleString('en-US')}/s`);

t = performance.now();
let ranged = 0;
for (let n = 0; n < 1000; n++) {
  const from = keyOf(rand() % o.entries);
  let prev = '';
  for (const [k] of store.range(from, 'g', { limit: 100 })) {
    if (k <= prev || k < from) throw new Error('range out of order');
    prev = k;
    ranged++;
  }
}
report.seeksPerSec = Math.round(1000 / ((performance.now() - t) / 1000));
t = performance.now();
let count = 0, prev = '';
for (const [k, v] of store.all()) {
  if (k <= prev) throw new Error(`scan out of order at ${k}`);
  if (v.length !== o.valueBytes || keyOf(entryOf(v)) !== k) throw new Error(`scan: wrong value for ${k}`);
  prev = k;
  count++;
}
if (count !== o.entries) throw new Error(`full scan saw ${count} entries, expected ${o.entries}`);
report.scanEntriesPerSec = Math.round(count / ((performance.now() - t) / 1000));
console.log(`seek + 100: ${report.seeksPerSec.toLocaleString('en-US')}/s (${ranged} entries); full scan: ${report.scanEntriesPerSec.toLocaleString('en-US')} entries/s, all ${count.toLocaleString('en-US')} in order with their values`);

const st = store.stats();
report.rssAfterReadsMiB = +mib(rss());
report.engineMiB = +mib(st.engineBytes);
report.wasmMemoryMiB = +mib(st.memoryBytes);
report.blockCache = st.blockCache;
report.runs = st.runs;
report.fileBackedRuns = st.fileBackedRuns;
report.levels = st.levels.filter((l) => l.runs > 0).map((l) => `L${l.level}: ${l.runs} runs, ${mib(l.bytes)} MiB`);
console.log(`after the reads: rss ${report.rssAfterReadsMiB} MiB; engine ${report.engineMiB} MiB allocated in ${report.wasmMemoryMiB} MiB of linear memory; block cache ${mib(st.blockCache.bytes)}/${mib(st.blockCache.capacity)} MiB, ${st.blockCache.hits.toLocaleString('en-US')} hits, ${st.blockCache.misses.toLocaleString('en-US')} misses`);
console.log(`runs: ${st.runs} (${st.fileBackedRuns} read from their files) — ${report.levels.join('; ')}`);
await store.close();
const { entries, valueBytes, dir: _dir, ...measured } = report;
console.log(JSON.stringify(measured));
}
