// File-backed runs and the block cache (docs/LSM.md, "Larger than memory"): in a store with
// a Node path, runs whose files are durable leave linear memory and are read back through a
// bounded cache; open reads only index and bloom; files replaced by compaction stay readable
// for the iterators and snapshots that still read them; bloom filters spare absent keys
// the block read (counted as cache misses with a zero-byte cache). The model test in
// store.model.test.ts runs every Store method this way with a zero-byte cache; these are the
// examples that name each property.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-cache-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const SMALL = { memtableBytes: 64 << 10, blockBytes: 1024, levelBaseBytes: 256 << 10, runTargetBytes: 128 << 10 };
const key = (i: number) => `k${String(i).padStart(7, '0')}`;
const value = (i: number) => `value-${i}-`.padEnd(200, String.fromCharCode(97 + (i % 26)));
const open = (path: string, extra: object = {}) =>
  Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...SMALL, ...extra });

async function fill(path: string, n: number, extra: object = {}): Promise<void> {
  const s = await open(path, extra);
  for (let i = 0; i < n; i += 500) s.putAll(Array.from({ length: Math.min(500, n - i) }, (_, j) => [key(i + j), value(i + j)] as [string, string]));
  await s.close();
}

const dirBytes = (dir: string) => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

describe('file-backed runs', () => {
  it('hold a store many times the block cache in little memory, answering exactly', async () => {
    const dir = freshDir();
    const n = 20_000;
    await fill(dir, n);
    const s = await open(dir, { blockCacheBytes: 64 << 10 });
    const st = s.stats();
    expect(st.fileBackedRuns).toBe(st.runs);
    expect(st.runs).toBeGreaterThan(3);
    // Open read index and bloom only: far less than the runs' bytes.
    expect(st.engineBytes).toBeLessThan(st.runBytes / 4);
    for (let i = 0; i < n; i += 7) expect(s.get(key(i))).toBe(value(i));
    expect(s.get('k-missing')).toBeUndefined();
    expect(s.getAll([key(5), 'nope', key(n - 1)])).toEqual([value(5), undefined, value(n - 1)]);
    let count = 0;
    for (const [k, v] of s.all()) { expect(k).toBe(key(count)); expect(v).toBe(value(count)); count++; }
    expect(count).toBe(n);
    expect([...s.range(key(100), key(110), { reverse: true })].map(([k]) => k)).toEqual(
      Array.from({ length: 10 }, (_, i) => key(109 - i)));
    const after = s.stats();
    expect(after.blockCache.misses).toBeGreaterThan(100);
    // Between calls the cache holds at most its capacity plus what the last call read.
    expect(after.blockCache.bytes).toBeLessThan((64 << 10) + 64 * 1024);
    expect(after.engineBytes).toBeLessThan(dirBytes(dir) / 2);
    await s.close();
  });

  it('an iterator keeps reading runs whose files compaction has deleted', async () => {
    const dir = freshDir();
    await fill(dir, 5000);
    const s = await open(dir, { blockCacheBytes: 0 });
    const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.run')));
    const it = s.all();
    const seen: string[] = [];
    for (let i = 0; i < 1000; i++) seen.push(it.next().value![0]);
    const snap = s.snapshot();
    // Rewrite everything: compaction replaces every run, and their files go.
    for (let i = 0; i < 5000; i++) s.put(key(i), 'new');
    await s.compact();
    const now = new Set(readdirSync(dir).filter((f) => f.endsWith('.run')));
    expect([...before].filter((f) => now.has(f))).toEqual([]);
    for (const [k] of it) seen.push(k);
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => key(i)));
    expect(snap.get(key(4321))).toBe(value(4321));
    expect(s.get(key(4321))).toBe('new');
    snap.close();
    await s.close();
  });

  it('a block that cannot be read is IO_ERROR from the read, and the store stays usable', async () => {
    const dir = freshDir();
    await fill(dir, 5000);
    const s = await open(dir, { blockCacheBytes: 0 });
    const files = (s as unknown as { engine: { files: { readBlock: (...a: number[]) => number } } }).engine.files;
    const real = files.readBlock.bind(files);
    files.readBlock = () => 7; // IO_ERROR, as a failing disk would give
    const err = (() => { try { s.get(key(1234)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('IO_ERROR');
    expect((err as StrataError).message).toMatch(/\d{6}\.run at offset \d+/);
    const it = s.all();
    expect(() => it.next()).toThrow(/read failed/);
    expect(() => it.next()).toThrow(/read failed/); // the iterator stays failed
    expect(s.stats().iterators).toBe(0); // and holds nothing
    files.readBlock = real;
    expect(s.get(key(1234))).toBe(value(1234));
    await s.close();
  });

  // A get of an absent key reads no block of a run whose bloom filter rules the key out. With
  // a zero-byte cache every block read is a cache miss, so misses count block reads exactly.
  // The absent keys sit between present ones (odd numbers among even), inside every run's
  // key range, so nothing but the filter can spare the read.
  it('bloom filters spare absent keys the block read: under 2% of probed runs read one (10 bits/key)', async () => {
    const n = 8000;
    const probesPerGet = (s: Awaited<ReturnType<typeof open>>) => {
      const st = s.stats(); // level 0: every run; deeper levels: the one run covering the key
      return st.levels[0].runs + st.levels.slice(1).filter((l) => l.runs > 0).length;
    };
    const readsFor = (s: Awaited<ReturnType<typeof open>>, keys: string[], want: (k: string) => string | undefined) => {
      const before = s.stats().blockCache.misses;
      for (const k of keys) expect(s.get(k)).toBe(want(k));
      return s.stats().blockCache.misses - before;
    };
    const absent = Array.from({ length: n }, (_, i) => key(2 * i + 1));
    const present = Array.from({ length: n }, (_, i) => key(2 * i));
    const results: Record<string, { probes: number; absentReads: number; presentReads: number }> = {};
    for (const bloomBitsPerKey of [10, 0]) {
      const dir = freshDir();
      const s0 = await open(dir, { bloomBitsPerKey });
      for (let i = 0; i < n; i += 500) s0.putAll(present.slice(i, i + 500).map((k) => [k, `v-${k}`] as [string, string]));
      await s0.close();
      const s = await open(dir, { blockCacheBytes: 0, bloomBitsPerKey });
      expect(s.stats().fileBackedRuns).toBe(s.stats().runs);
      const probes = probesPerGet(s);
      const presentReads = readsFor(s, present, (k) => `v-${k}`);
      const absentReads = readsFor(s, absent, () => undefined);
      results[bloomBitsPerKey] = { probes, absentReads, presentReads };
      await s.close();
    }
    const on = results[10], off = results[0];
    console.log(`bloom: ${n} absent gets, ${on.probes} runs probed each: ${on.absentReads} block reads with 10 bits/key, ${off.absentReads} without`);
    expect(on.probes).toBeGreaterThan(1); // several runs, at level 0 and below
    // The counter sees block reads: every present key costs one, and without filters so
    // does nearly every absent one.
    expect(on.presentReads).toBeGreaterThanOrEqual(n);
    expect(off.absentReads).toBeGreaterThan(0.9 * n);
    // 10 bits/key: about 1.2% false positives per run probed (bloom.ts).
    expect(on.absentReads).toBeLessThan(0.02 * n * on.probes);
  });

  it('rejects a bad blockCacheBytes', async () => {
    await expect(open(freshDir(), { blockCacheBytes: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
