// putIfAbsent, getAndDelete and approximateNumEntries by example. The two writes follow the
// write protocol as putIfVersion does: a sink takes the record before it is applied (and a
// sink that refuses leaves the store unchanged), listeners hear of it after; getAndDelete of
// an absent key writes nothing at all. test/range-bounds.model.test.ts runs them against a
// model among every other command.
import { describe, it, expect, afterAll, vi } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, PartitionedStore, MemoryChangelog, StrataError, codecs, type ChangeRecord, type ChangelogSink } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = fs.mkdtempSync(join(tmpdir(), 'strata-rmw-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

const utf8 = { keyCodec: codecs.utf8, valueCodec: codecs.utf8 };
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const codeOf = (fn: () => unknown): string => {
  try { fn(); return 'no error'; } catch (err) { return err instanceof StrataError ? err.code : String(err); }
};

describe('putIfAbsent', () => {
  for (const mode of ['in memory (no sink)', 'with a changelog sink', 'on disk with a log'] as const) {
    it(`writes only an absent key and returns the present value: ${mode}`, async () => {
      const log = new MemoryChangelog();
      const heard: string[] = [];
      const s = await Store.open<string, string>({
        ...utf8,
        ...(mode === 'with a changelog sink' ? { changelog: log } : {}),
        ...(mode === 'on disk with a log' ? { path: freshDir() } : {}),
      });
      s.onChange((rs) => heard.push(...rs.map((r) => `${dec(r.key)}=${dec(r.value)}@${r.seq}`)));
      expect(s.putIfAbsent('a', '1')).toBeUndefined();
      expect(s.putIfAbsent('a', '2')).toBe('1');
      expect(s.getVersioned('a')).toEqual({ value: '1', version: 1 }); // the refused write took no sequence
      expect(s.putIfAbsent('', '')).toBeUndefined(); // the empty key, the empty value
      expect(s.putIfAbsent('', 'x')).toBe('');
      s.delete('a');
      expect(s.putIfAbsent('a', '3')).toBe(undefined); // a tombstone is absent
      expect(heard).toEqual(['a=1@1', '=@2', 'a=null@3', 'a=3@4']);
      if (mode === 'with a changelog sink') expect([...log.read(0)].map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      await s.close();
    });
  }

  it('a sink that refuses the write leaves the key absent (the write protocol)', async () => {
    let refuse = false;
    const sink: ChangelogSink = { append: () => { if (refuse) throw new StrataError('INVALID_ARGUMENT', 'not now'); } };
    const s = await Store.open<string, string>({ ...utf8, changelog: sink });
    refuse = true;
    expect(codeOf(() => s.putIfAbsent('a', '1'))).toBe('INVALID_ARGUMENT');
    expect(s.get('a')).toBeUndefined();
    refuse = false;
    expect(s.putIfAbsent('a', '1')).toBeUndefined();
    await s.close();
  });

  it('a ttl store: an expired key is absent', async () => {
    // The clock is the test's: with ttlMs 1 and the real clock, 'new' itself could expire
    // before the get under load (it did once in CI).
    let now = 1_000_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const s = await Store.open<string, string>({ ...utf8, ttlMs: 1000, expirySweepMs: 0 });
      s.put('a', 'old');
      now += 1001; // 'old' has expired
      expect(s.putIfAbsent('a', 'new')).toBeUndefined();
      expect(s.get('a')).toBe('new');
      now += 999; // 'new' has not
      expect(s.get('a')).toBe('new');
      await s.close();
    } finally {
      clock.mockRestore();
    }
  });
});

describe('getAndDelete', () => {
  it('deletes and returns the value; an absent key writes nothing (no tombstone, no record, no sequence)', async () => {
    const log = new MemoryChangelog();
    const heard: ChangeRecord[][] = [];
    const s = await Store.open<string, any>({ keyCodec: codecs.utf8, valueCodec: codecs.json, changelog: log });
    s.onChange((rs) => heard.push(rs));
    s.put('a', { n: 1 });
    expect(s.getAndDelete('a')).toEqual({ n: 1 });
    expect(s.has('a')).toBe(false);
    const seq = s.stats().sequence;
    expect(s.getAndDelete('a')).toBeUndefined();
    expect(s.getAndDelete('never')).toBeUndefined();
    expect(s.stats().sequence).toBe(seq);
    expect([...log.read(0)].map((r) => [dec(r.key), r.value === null ? null : 'value'])).toEqual([['a', 'value'], ['a', null]]);
    expect(heard.length).toBe(2);
    await s.close();
  });

  it('a refused delete keeps the value; a snapshot keeps seeing it after the delete', async () => {
    let refuse = false;
    const s = await Store.open<string, string>({ ...utf8, changelog: { append: () => { if (refuse) throw new StrataError('CLOSED', 'gone'); } } });
    s.put('a', '1');
    const snap = s.snapshot();
    refuse = true;
    expect(codeOf(() => s.getAndDelete('a'))).toBe('CLOSED');
    expect(s.get('a')).toBe('1');
    refuse = false;
    expect(s.getAndDelete('a')).toBe('1');
    expect([s.get('a'), snap.get('a')]).toEqual([undefined, '1']);
    snap.close();
    await s.close();
  });

  it('bytes values come back as the caller\'s own copy', async () => {
    const s = await Store.open();
    s.put(new Uint8Array([1]), new Uint8Array([7, 8]));
    const v = s.getAndDelete(new Uint8Array([1]))!;
    s.put(new Uint8Array([2]), new Uint8Array(1000).fill(9)); // reuses the memory the value was in
    expect([...v]).toEqual([7, 8]);
    await s.close();
  });
});

describe('approximateNumEntries', () => {
  it('counts versions and tombstones until compaction, then the live keys', async () => {
    const s = await Store.open<string, string>(utf8);
    for (let i = 0; i < 100; i++) s.put(`k${i}`, 'v');
    expect(s.approximateNumEntries()).toBe(100);
    for (let i = 0; i < 50; i++) s.put(`k${i}`, 'w'); // 50 newer versions
    for (let i = 50; i < 60; i++) s.delete(`k${i}`); // 10 tombstones
    expect(s.approximateNumEntries()).toBe(160); // over: 90 live keys
    await s.flush();
    expect(s.approximateNumEntries()).toBeGreaterThanOrEqual(90);
    await s.compact();
    expect(s.approximateNumEntries()).toBe(90);
    await s.close();
  });

  it('a partitioned store sums its partitions', async () => {
    const p = await PartitionedStore.open<string, string>({ ...utf8, partitions: 3 });
    p.putAll(Array.from({ length: 30 }, (_, i) => [`k${i}`, 'v']));
    expect(p.putIfAbsent('k1', 'x')).toBe('v');
    expect(p.getAndDelete('k2')).toBe('v');
    expect(p.getAndDelete('k2')).toBeUndefined();
    expect(p.approximateNumEntries()).toBe(31); // 29 live + one tombstone
    await p.compact();
    expect(p.approximateNumEntries()).toBe(29);
    await p.close();
  });
});
