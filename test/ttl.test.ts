// TTL: entries of a store with ttlMs are invisible once expired, dropped by compaction, and
// deleted through the write path by expiry sweeps, so the changelog gets a tombstone and a
// restore never brings them back. The clock is vitest's fake Date (Date.now is all the
// store reads for expiry); a model-based property compares every read with a Map that
// remembers each entry's expiry.
import { describe, it, expect, afterEach, beforeEach, vi } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, MemoryChangelog, FileChangelog, codecs, type ChangeRecord } from 'strata-kv';

const T0 = Date.UTC(2026, 0, 1);
const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-ttl-')); dirs.push(d); return d; };

beforeEach(() => { vi.useFakeTimers({ toFake: ['Date'] }); vi.setSystemTime(T0); });
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const open = (extra: Parameters<typeof Store.open<string, string>>[0] = {}) =>
  Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ttlMs: 1000, expirySweepMs: 0, ...extra });
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

describe('ttl: reads', () => {
  it('hides an entry once it is ttlMs old, in every read', async () => {
    const s = await open();
    s.put('a', '1');
    advance(500);
    s.put('b', '2');
    expect(s.get('a')).toBe('1');
    const snap = s.snapshot();
    advance(600); // a is 1100 ms old, b 600
    expect(s.get('a')).toBeUndefined();
    expect(s.has('a')).toBe(false);
    expect(s.getVersioned('a')).toBeUndefined();
    expect(s.getAll(['a', 'b'])).toEqual([undefined, '2']);
    expect([...s.all()]).toEqual([['b', '2']]);
    expect(snap.get('a')).toBeUndefined(); // expiry is a matter of time, snapshots included
    expect([...snap.range('a', 'z')]).toEqual([['b', '2']]);
    snap.close();
    advance(500);
    expect([...s.all()]).toEqual([]);
    await s.close();
  });

  it('counts only live entries against a limit, in both directions', async () => {
    const s = await open();
    for (const k of ['a', 'c', 'e']) s.put(k, k);
    advance(600);
    for (const k of ['b', 'd', 'f']) s.put(k, k);
    advance(600); // a, c, e expired
    expect([...s.all({ limit: 2 })].map(([k]) => k)).toEqual(['b', 'd']);
    expect([...s.all({ limit: 2, reverse: true })].map(([k]) => k)).toEqual(['f', 'd']);
    expect([...s.range('c', 'f', { limit: 5 })].map(([k]) => k)).toEqual(['d']);
    await s.close();
  });

  it('treats an expired key as absent for putIfVersion and deleteIfVersion', async () => {
    const s = await open();
    s.put('k', 'old');
    const v = s.getVersioned('k')!.version;
    advance(1000);
    expect(s.putIfVersion('k', 'x', v)).toBe(false); // the version the writer saw is gone
    expect(s.deleteIfVersion('k', v)).toBe(false);
    expect(s.putIfVersion('k', 'new', 0)).toBe(true);
    expect(s.get('k')).toBe('new');
    await s.close();
  });

  it('refuses a bad ttlMs and a directory created with the other kind of values', async () => {
    await expect(open({ ttlMs: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(open({ ttlMs: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(open({ expirySweepMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const dir = freshDir();
    const plain = await Store.open({ path: dir });
    await plain.close();
    await expect(open({ path: dir })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const dir2 = freshDir();
    const ttl = await open({ path: dir2 });
    ttl.put('a', 'b');
    await ttl.close();
    await expect(Store.open({ path: dir2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const again = await open({ path: dir2, ttlMs: 5000 }); // the ttl itself may change
    expect(again.get('a')).toBe('b');
    advance(1000); // expiresAt was fixed at the write: 1000 ms
    expect(again.get('a')).toBeUndefined();
    await again.close();
  });
});

describe('ttl: expiry reaches the changelog', () => {
  it('purgeExpired deletes exactly the expired entries through the write path', async () => {
    const log = new MemoryChangelog();
    const s = await open({ changelog: log });
    const seen: ChangeRecord[] = [];
    s.onChange((rs) => seen.push(...rs));
    for (let i = 0; i < 3000; i++) s.put(`k${i}`, 'v');
    advance(500);
    s.put('k5', 'rewritten'); // a later write of a key renews its expiry
    advance(600);
    seen.length = 0;
    expect(s.purgeExpired()).toBe(2999);
    expect(seen.every((r) => r.value === null)).toBe(true);
    expect(new Set(seen.map((r) => new TextDecoder().decode(r.key))).has('k5')).toBe(false);
    expect(s.purgeExpired()).toBe(0);
    expect([...s.all()]).toEqual([['k5', 'rewritten']]);

    // The changelog says the same: a restore into any store gives only k5, however late.
    const r = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    await r.restore(log.read(0));
    expect([...r.all()]).toEqual([['k5', 'rewritten']]);
    await r.close();
    await s.close();
  });

  it('records carry expiresAt, and a restore never resurrects what expired before the sweep', async () => {
    const log = new MemoryChangelog();
    const s = await open({ changelog: log });
    s.put('a', '1');
    advance(400);
    s.put('b', '2');
    const records = [...log.read(0)];
    expect(records.map((r) => r.expiresAt)).toEqual([T0 + 1000, T0 + 1400]);
    advance(700); // a expired, no sweep has run: the changelog has no tombstone for it
    const r = await open();
    await r.restore(log.read(0));
    expect([...r.all()]).toEqual([['b', '2']]);
    expect(r.getVersioned('b')!.version).toBe(2);
    advance(300); // b keeps the expiry it was written with
    expect(r.get('b')).toBeUndefined();
    await r.close();
    await s.close();
  });

  it('FileChangelog keeps expiresAt byte for byte', async () => {
    const dir = freshDir();
    const log = await FileChangelog.open({ path: dir });
    const s = await open({ changelog: log });
    s.put('a', '1');
    s.delete('b');
    await s.close(); // closes the changelog too
    const again = await FileChangelog.open({ path: dir });
    expect([...again.read(0)].map((r) => [r.seq, r.value === null, r.expiresAt])).toEqual([[1, false, T0 + 1000], [2, true, undefined]]);
    await again.close();
  });

  it('sweeps by itself every expirySweepMs', async () => {
    vi.useRealTimers();
    const log = new MemoryChangelog();
    const s = await Store.open({ ttlMs: 30, expirySweepMs: 10, changelog: log });
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    const deadline = Date.now() + 5000;
    while ([...log.read(0)].length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect([...log.read(0)].map((r) => r.value === null)).toEqual([false, true]);
    await s.close();
  });
});

describe('ttl: compaction', () => {
  it('drops expired entries', async () => {
    const s = await open({ memtableBytes: 4096 });
    for (let i = 0; i < 2000; i++) s.put(`k${String(i).padStart(5, '0')}`, 'x'.repeat(40));
    await s.flush();
    await s.compact();
    const full = s.stats().levels.reduce((n, l) => n + l.bytes, 0);
    expect(full).toBeGreaterThan(2000 * 40);
    advance(1001);
    s.put('z', 'live');
    await s.flush();
    await s.compact();
    const after = s.stats().levels.reduce((n, l) => n + l.bytes, 0);
    expect(after).toBeLessThan(full / 20);
    expect([...s.all()]).toEqual([['z', 'live']]);
    await s.close();
  });
});

// ---- model-based ------------------------------------------------------------------------

interface Model { map: Map<string, { value: string; expiresAt: number }> }
interface Real { store: Store<string, string>; tombstones: string[] }
const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const live = (m: Model, now: number) => [...m.map].filter(([, e]) => e.expiresAt > now).map(([k, e]) => [k, e.value]).sort(([a], [b]) => (a < b ? -1 : 1));
const cmd = (name: string, run: (m: Model, r: Real) => void | Promise<void>): fc.AsyncCommand<Model, Real> => ({
  check: () => true,
  run: async (m, r) => {
    await run(m, r);
    const now = Date.now();
    expect([...r.store.all()]).toEqual(live(m, now));
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const e = m.map.get(k);
      expect(r.store.get(k)).toBe(e !== undefined && e.expiresAt > now ? e.value : undefined);
    }
  },
  toString: () => name,
});

const commands = [
  fc.tuple(keyArb, fc.string({ maxLength: 8 })).map(([k, v]) => cmd(`put ${k}`, (m, r) => {
    r.store.put(k, v);
    m.map.set(k, { value: v, expiresAt: Date.now() + 1000 });
  })),
  keyArb.map((k) => cmd(`delete ${k}`, (m, r) => { r.store.delete(k); m.map.delete(k); })),
  fc.integer({ min: 1, max: 1500 }).map((ms) => cmd(`advance ${ms}`, () => { advance(ms); })),
  fc.constant(cmd('flush', async (_m, r) => { await r.store.flush(); })),
  fc.constant(cmd('compact', async (_m, r) => { await r.store.compact(); })),
  fc.constant(cmd('purge', (m, r) => {
    const now = Date.now();
    const expired = [...m.map].filter(([, e]) => e.expiresAt <= now).map(([k]) => k).sort();
    r.tombstones.length = 0;
    // A flush or compaction may already have turned an expired value into a tombstone (no
    // change record: the put's record carries its expiresAt, so a restore drops it anyway).
    const purged = r.store.purgeExpired();
    expect(purged).toBeLessThanOrEqual(expired.length);
    expect(r.tombstones.length).toBe(purged);
    expect(r.tombstones.every((k) => expired.includes(k))).toBe(true);
    for (const k of expired) m.map.delete(k);
  })),
];

describe('ttl ≡ a Map with expiry times (fast-check)', () => {
  it('reads, purges and restores agree with the model', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 50 }), async (cmds) => {
      vi.setSystemTime(T0);
      const log = new MemoryChangelog();
      const store = await open({ changelog: log, memtableBytes: 256, level0CompactionTrigger: 2 });
      const real: Real = { store, tombstones: [] };
      store.onChange((rs) => { for (const r of rs) if (r.value === null) real.tombstones.push(new TextDecoder().decode(r.key)); });
      const model: Model = { map: new Map() };
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // restore(changelog) ≡ the state, versions included, at the same instant
      const copy = await open();
      await copy.restore(log.read(0));
      expect([...copy.all()]).toEqual([...store.all()]);
      for (const [k] of copy.all()) expect(copy.getVersioned(k)!.version).toBe(store.getVersioned(k)!.version);
      await copy.close();
      await store.close();
    }), { numRuns: 150 });
  }, 120_000);
});
