// Restore throughput (`npm run bench:restore [-- records [valueBytes [rounds]]]`): a store
// restored from a FileChangelog — the issue's target is 1M records/s (Samza's rule of thumb
// is ~50 MB/s). One partition of `records` records (default 1M): 12-byte keys written in
// random order ("key" + 9 digits, a permutation), `valueBytes`-byte values (default 100).
//
// Each round opens a fresh in-memory store with the default tuning and times
//   read     iterating the changelog alone (the floor: checksums, file reads, decoding);
//   restore  store.restore(changelog.read(0)) until it resolves;
//   debt     the next store.flush(): restore leaves the level-0 runs it ingested for the
//            next flush to merge (docs/LSM.md, "Bulk ingest"), so this is the compaction a
//            restore defers, paid once.
// Then a MemoryChangelog restore (objects, no raw fast path; built only after the file rounds,
// since a million live objects make every major GC of those rounds slower) and small
// restores. Prints medians over the rounds after one warm-up round; asserts nothing.
import os from 'node:os';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, FileChangelog, MemoryChangelog } from '../dist/index.js';
import { parseArgs } from './lib/args.mjs';

const opts = parseArgs(process.argv.slice(2), {
  records: { type: 'int', default: 1_000_000, min: 1 },
  valueBytes: { type: 'int', default: 100, min: 0 },
  rounds: { type: 'int', default: 3, min: 1 },
}, { usage: 'node bench/restore.bench.mjs [records [valueBytes [rounds]]] (or --records, --value-bytes, --rounds)',
  positional: ['records', 'valueBytes', 'rounds'] });
const N = opts.records;
const VALUE_BYTES = opts.valueBytes;
const ROUNDS = opts.rounds;
const KEY_DIGITS = 9;

/** CPU ms of this thread (Linux; undefined elsewhere): on a busy machine wall time also
 *  counts waiting for a core, this does not. */
function threadCpuMs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 1000 / 100; // utime + stime, in USER_HZ = 100
  } catch { return undefined; }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const fmt = (n, d = 2) => n.toFixed(d);
const rate = (records, ms) => `${fmt(records / ms / 1000)}M rec/s`;
const mbps = (bytes, ms) => `${fmt(bytes / ms / 1000, 0)} MB/s`;

// ---- the changelog ---------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'strata-restore-bench-'));
const log = await FileChangelog.open({ path: dir });
const value = new Uint8Array(VALUE_BYTES).fill(7);
const te = new TextEncoder();
let batch = [];
for (let i = 1; i <= N; i++) {
  // A permutation of 0 .. N-1 (7919 is prime and does not divide the sizes used here).
  batch.push({ partition: 0, seq: i, key: te.encode('key' + String((i * 7919) % N).padStart(KEY_DIGITS, '0')), value });
  if (batch.length === 1000 || i === N) { log.append(batch); batch = []; }
}
await log.flush();
const userBytes = N * (3 + KEY_DIGITS + VALUE_BYTES);

console.log(`strata-kv restore: ${N.toLocaleString('en')} records, ${3 + KEY_DIGITS}-byte keys in random order, ${VALUE_BYTES}-byte values ` +
  `(${fmt(userBytes / 1e6, 0)} MB), one partition; node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}`);

// ---- rounds ----------------------------------------------------------------------------------

const rows = { read: [], restore: [], debt: [], cpu: [] };
for (let round = 0; round <= ROUNDS; round++) {
  let t = performance.now();
  let n = 0;
  for (const _ of log.read(0)) n++;
  const read = performance.now() - t;
  if (n !== N) throw new Error(`read ${n} records`);

  const s = await Store.open();
  const cpu0 = threadCpuMs();
  t = performance.now();
  const p = await s.restore(log.read(0));
  const restore = performance.now() - t;
  const cpu = cpu0 === undefined ? undefined : threadCpuMs() - cpu0;
  if (p.records !== N || p.applied !== N) throw new Error(`restored ${p.records}/${p.applied}`);
  const level0 = s.stats().levels[0].runs;
  t = performance.now();
  await s.flush();
  const debt = performance.now() - t;
  await s.close();

  const tag = round === 0 ? 'warm-up' : `round ${round}`;
  console.log(`${tag.padEnd(8)} read ${fmt(read, 0)} ms (${rate(N, read)}) | restore ${fmt(restore, 0)} ms = ${rate(N, restore)}, ` +
    `${mbps(userBytes, restore)}${cpu === undefined ? '' : ` (${fmt(cpu, 0)} ms CPU)`}; ${level0} level-0 runs | deferred compaction (next flush) ${fmt(debt, 0)} ms`);
  if (round === 0) continue;
  rows.read.push(read); rows.restore.push(restore); rows.debt.push(debt);
  if (cpu !== undefined) rows.cpu.push(cpu);
}
const r = median(rows.restore), d = median(rows.debt);
console.log(`median of ${ROUNDS}: restore ${rate(N, r)} = ${mbps(userBytes, r)} (read alone ${rate(N, median(rows.read))}); ` +
  `counting the deferred compaction ${rate(N, r + d)}` + (rows.cpu.length ? `; on CPU time alone ${rate(N, median(rows.cpu))}` : '') +
  `; load average ${os.loadavg().map((x) => fmt(x, 1)).join(' ')}`);

const mem = new MemoryChangelog();
for (const rec of log.read(0)) mem.append([rec]);
const memTimes = [];
for (let round = 0; round <= ROUNDS; round++) {
  const m = await Store.open();
  const t = performance.now();
  await m.restore(mem.read(0));
  if (round > 0) memTimes.push(performance.now() - t);
  await m.close();
}
console.log(`from a MemoryChangelog (median of ${ROUNDS}): ${rate(N, median(memTimes))}`);

// ---- small restores of a tail -----------------------------------------------------------------

for (const tail of [10, 1000, 10_000]) {
  const times = [];
  for (let i = 0; i < 20; i++) {
    const s = await Store.open();
    const t = performance.now();
    await s.restore(log.read(0, N - tail + 1));
    times.push(performance.now() - t);
    await s.close();
  }
  console.log(`tail of ${tail}: ${fmt(median(times), 1)} ms (FileChangelog.read(0, fromSeq) scans its segment from the start)`);
}
for (const size of [10, 1000]) {
  const records = [...mem.read(0, N - size + 1)];
  const s = await Store.open();
  const reps = 2000;
  for (let i = 0; i < reps; i++) await s.restore(records); // warm-up (the first applies them)
  const t = performance.now();
  for (let i = 0; i < reps; i++) await s.restore(records); // replays: every record is skipped
  const us = (performance.now() - t) / reps * 1000;
  console.log(`array of ${size} already applied, restored again: ${fmt(us, 1)} µs per restore`);
  await s.close();
}

await log.close();
rmSync(dir, { recursive: true, force: true });
