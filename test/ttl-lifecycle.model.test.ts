// TTL across the rest of a store's life: snapshots and iterators held while time passes and
// the store flushes, compacts and purges; deleteRange; conditional writes; reopening the
// directory with another ttlMs. The clock is vitest's fake Date, as in test/ttl.test.ts; the
// model is a Map from key to { value, expiresAt, version } with the store's sequence counter.
import { describe, it, expect, afterEach, beforeEach, vi } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs, type Snapshot, type KeyValueIterator } from 'strata-kv';

const T0 = Date.UTC(2026, 0, 1);
const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-ttl-life-')); dirs.push(d); return d; };
beforeEach(() => { vi.useFakeTimers({ toFake: ['Date'] }); vi.setSystemTime(T0); });
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Entry { value: string; expiresAt: number; version: number }
type State = Map<string, Entry>;
interface Model { map: State; seq: number; snaps: State[]; iters: [string, string][][]; ttl: number }
interface Real { store: Store<string, string>; dir: string; snaps: Snapshot<string, string>[]; iters: KeyValueIterator<string, string>[] }

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
const keyArb = fc.constantFrom(...KEYS);
const live = (s: State, now: number): [string, string][] =>
  [...s].filter(([, e]) => e.expiresAt > now).map(([k, e]): [string, string] => [k, e.value]).sort(([a], [b]) => (a < b ? -1 : 1));
const visible = (s: State, k: string, now: number) => { const e = s.get(k); return e && e.expiresAt > now ? e : undefined; };
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
const open = (dir: string, ttlMs: number) => Store.open<string, string>({
  path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ttlMs, expirySweepMs: 0, memtableBytes: 512, level0CompactionTrigger: 2,
});

function check(m: Model, r: Real): void {
  const now = Date.now();
  expect([...r.store.all()]).toEqual(live(m.map, now));
  expect([...r.store.all({ reverse: true })]).toEqual(live(m.map, now).reverse());
  for (const k of KEYS) {
    const e = visible(m.map, k, now);
    expect(r.store.get(k), k).toBe(e?.value);
    expect(r.store.getVersioned(k)?.version, k).toBe(e?.version);
  }
  // Bounded scans with limits (the limit counts live entries only), both ways, and getAll.
  const all = live(m.map, now);
  for (const [from, to] of [['a', 'z'], ['b', 'e'], ['c', 'd'], ['e', 'a']] as const) {
    if (from > to) continue;
    const inRange = all.filter(([k]) => k >= from && k < to);
    for (const limit of [1, 2, 4]) {
      expect([...r.store.range(from, to, { limit })], `range ${from} ${to} limit ${limit}`).toEqual(inRange.slice(0, limit));
      expect([...r.store.range(from, to, { limit, reverse: true })], `reverse range ${from} ${to} limit ${limit}`).toEqual([...inRange].reverse().slice(0, limit));
    }
  }
  expect(r.store.getAll([...KEYS, 'a'])).toEqual([...KEYS, 'a'].map((k) => visible(m.map, k, now)?.value));
  m.snaps.forEach((s, i) => {
    expect([...r.snaps[i].all()], `snapshot ${i}`).toEqual(live(s, now));
    for (const k of KEYS) expect(r.snaps[i].get(k), `snapshot ${i} ${k}`).toBe(visible(s, k, now)?.value);
    const inRange = live(s, now).filter(([k]) => k >= 'b' && k < 'f');
    expect([...r.snaps[i].range('b', 'f', { limit: 2, reverse: true })], `snapshot ${i} range`).toEqual(inRange.reverse().slice(0, 2));
  });
  expect(r.store.stats().sequence).toBe(m.seq);
}

const cmd = (name: string, run: (m: Model, r: Real) => void | Promise<void>): fc.AsyncCommand<Model, Real> => ({
  check: () => true,
  run: async (m, r) => { await run(m, r); check(m, r); },
  toString: () => name,
});

const commands = [
  fc.tuple(keyArb, fc.string({ maxLength: 6 })).map(([k, v]) => cmd(`put ${k} ${JSON.stringify(v)}`, (m, r) => {
    r.store.put(k, v);
    m.map.set(k, { value: v, expiresAt: Date.now() + m.ttl, version: ++m.seq });
  })),
  keyArb.map((k) => cmd(`delete ${k}`, (m, r) => { r.store.delete(k); m.seq++; m.map.delete(k); })),
  fc.tuple(keyArb, keyArb).map(([a, b]) => (a <= b ? [a, b] : [b, a])).map(([a, b]) => cmd(`deleteRange ${a} ${b}`, (m, r) => {
    r.store.deleteRange(a, b);
    if (a !== b) m.seq++;
    for (const k of [...m.map.keys()]) if (k >= a && k < b) m.map.delete(k);
  })),
  fc.tuple(keyArb, fc.string({ maxLength: 4 })).map(([k, v]) => cmd(`putIfAbsent ${k}`, (m, r) => {
    const e = visible(m.map, k, Date.now());
    expect(r.store.putIfAbsent(k, v)).toBe(e?.value);
    if (!e) m.map.set(k, { value: v, expiresAt: Date.now() + m.ttl, version: ++m.seq });
  })),
  keyArb.map((k) => cmd(`getAndDelete ${k}`, (m, r) => {
    const e = visible(m.map, k, Date.now());
    expect(r.store.getAndDelete(k)).toBe(e?.value);
    if (e) { m.seq++; m.map.delete(k); }
  })),
  fc.integer({ min: 1, max: 1500 }).map((ms) => cmd(`advance ${ms}`, () => { advance(ms); })),
  fc.constant(cmd('flush', async (_m, r) => { await r.store.flush(); })),
  fc.constant(cmd('compact', async (_m, r) => { await r.store.compact(); })),
  fc.constant(cmd('purge', (m, r) => {
    const now = Date.now();
    const expired = [...m.map].filter(([, e]) => e.expiresAt <= now).map(([k]) => k);
    const n = r.store.purgeExpired();
    expect(n).toBeLessThanOrEqual(expired.length);
    m.seq += n;
    for (const k of expired) m.map.delete(k);
  })),
  fc.constant(cmd('snapshot', (m, r) => {
    if (m.snaps.length >= 3) { r.snaps.shift()!.close(); m.snaps.shift(); }
    r.snaps.push(r.store.snapshot());
    m.snaps.push(new Map(m.map));
  })),
  fc.constant(cmd('iterator', (m, r) => {
    // An iterator judges expiry at its creation; it is read out at the next reopen or at the end.
    r.iters.push(r.store.all());
    m.iters.push(live(m.map, Date.now()));
  })),
  fc.integer({ min: 300, max: 3000 }).map((ttl) => cmd(`reopen ttlMs ${ttl}`, async (m, r) => {
    drain(m, r);
    await r.store.close();
    r.store = await open(r.dir, ttl);
    m.ttl = ttl;
  })),
];

function drain(m: Model, r: Real): void {
  r.iters.forEach((it, i) => { expect([...it], `iterator ${i}`).toEqual(m.iters[i]); });
  r.iters.length = 0;
  m.iters.length = 0;
  for (const s of r.snaps) s.close();
  r.snaps.length = 0;
  m.snaps.length = 0;
}

describe('ttl with snapshots, iterators, range deletes and reopen ≡ a Map with expiry times (fast-check)', () => {
  it('agrees with the model', async () => {
    await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
      vi.setSystemTime(T0);
      const dir = freshDir();
      const store = await open(dir, 1000);
      const real: Real = { store, dir, snaps: [], iters: [] };
      const model: Model = { map: new Map(), seq: 0, snaps: [], iters: [], ttl: 1000 };
      try {
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        drain(model, real);
        await real.store.close();
        real.store = await open(dir, model.ttl);
        check(model, real);
      } finally {
        await real.store.close();
      }
    }), { numRuns: 80 });
  }, 60_000);
});
