// The write paths, A/B across builds (`node bench/write-ab.mjs [dist dir …]`, default dist/):
// what the write protocol (validate -> log -> apply -> notify, docs/LSM.md) costs per write.
// Workloads on bench:peers' data (16-hex-character utf8 keys in random order, 100-byte
// values): put, putAll of 1,000 and get in memory; put and putAll of 1,000 with a `path`
// (no sync); put in memory with a MemoryChangelog sink (sinks now take a write before it
// is applied, through the batch path). Each round runs one child process per build, the
// builds alternating, so a busy second core loads them alike; prints per-build medians of
// ops/s and their ratios to the first build. Asserts nothing.
//   --entries N (300,000)  --rounds R (3)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { makeData, makeValue, BATCH } from './peers/workloads.mjs';

const args = process.argv.slice(2);
function option(name, dflt) {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
}
const entries = option('--entries', 300_000);
const rounds = option('--rounds', 3);
const child = args.indexOf('--child');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

if (child >= 0) {
  const { Store, MemoryChangelog, codecs } = await import(pathToFileURL(resolve(args[child + 1], 'index.js')).href);
  const d = makeData(entries);
  const out = {};
  const timed = async (name, options, fill) => {
    const dir = options.path === true ? mkdtempSync(join(tmpdir(), 'strata-write-ab-')) : undefined;
    const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, ...options, path: dir });
    const t0 = performance.now();
    fill(store);
    out[name] = entries / ((performance.now() - t0) / 1000);
    if (name === 'put (memory)') {
      const t1 = performance.now();
      for (let i = 0; i < entries; i++) store.get(d.keys[d.getOrder[i]]);
      out.get = entries / ((performance.now() - t1) / 1000);
    }
    await store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const puts = (s) => { for (let i = 0; i < entries; i++) s.put(d.keys[i], makeValue(i)); };
  const batches = (s) => {
    for (let i = 0; i < entries; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(entries, i + BATCH); j++) batch.push([d.keys[j], makeValue(j)]);
      s.putAll(batch);
    }
  };
  await timed('put (memory)', {}, puts);
  await timed('putAll (memory)', {}, batches);
  await timed('put (memory, MemoryChangelog sink)', { changelog: new MemoryChangelog() }, puts);
  await timed('put (path)', { path: true }, puts);
  await timed('putAll (path)', { path: true }, batches);
  process.stdout.write(JSON.stringify(out));
} else {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const builds = args.length > 0 ? args : [join(root, 'dist')];
  const results = builds.map(() => ({}));
  for (let r = 0; r < rounds; r++) {
    builds.forEach((dist, b) => {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--entries', String(entries), '--child', dist], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${dist}: ${p.stderr}`);
      for (const [k, v] of Object.entries(JSON.parse(p.stdout))) (results[b][k] ??= []).push(v);
    });
  }
  for (const name of Object.keys(results[0])) {
    const base = median(results[0][name]);
    const cells = results.map((res, b) => {
      const m = median(res[name]);
      return `${(m / 1000).toFixed(0)}k/s${b > 0 ? ` (${(m / base).toFixed(2)}×)` : ''}`;
    });
    console.log(`${name.padEnd(40)} ${cells.join('   ')}`);
  }
  console.log(`(${entries} entries, median of ${rounds} rounds; builds: ${builds.join(', ')})`);
}
