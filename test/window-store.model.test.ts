// Model-based test of WindowStore (docs/WINDOWS.md): random puts, deletes (null puts),
// advances of the stream time, fetch of one window, fetch and backwardFetch of a time range,
// fetchAll, all and their backward forms, iterators held across later commands (each must
// yield the model as of its opening), a restore from the changelog into a fresh store (in
// memory) and (on disk) reopen, against WindowModel: a Map of
// key -> Map of windowStart -> the values put (one, or every one with retainDuplicates), with
// Kafka Streams' retention applied (a window is live iff windowStart > streamTime -
// retentionMs; a put of an expired window is dropped). Keys are bytes that are prefixes of
// each other ('', 00, 0000, 0001, 61, 6100, 6161, ...), and windows sit on both sides of
// segment boundaries. Memtables of a few hundred bytes make the range tombstones of retention
// meet their windows in the memtable and in runs.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WindowStore, MemoryChangelog, type WindowStoreOptions } from 'strata-kv';
import { hex } from './support/model.js';

const WINDOW_MS = 10;
const RETENTION_MS = 100;
const SEGMENT_MS = 30;

const HEX_KEYS = ['', '00', '0000', '0001', '01', '61', '6100', '610000', '6101', '6161', 'ff', 'ff00'];
const KEYS = HEX_KEYS.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.uint8Array({ maxLength: 16 });
/** Window starts across several segments, with the ends of segments weighted up. */
const timeArb = fc.oneof(fc.nat(400), fc.constantFrom(0, 29, 30, 59, 60, 89, 90, 119, 120, 299, 300));
const spanArb = fc.tuple(fc.integer({ min: -20, max: 420 }), fc.integer({ min: -20, max: 420 }));
/** A time relative to the stream time when the command runs: a stream mostly in order, some
 *  records late, some too late (expired). */
const relArb = fc.integer({ min: -130, max: 25 });
const at = (m: WindowModel, dt: number) => Math.max(0, m.streamTime + dt);

/** What the runs exercised: retention must really have dropped windows and puts. */
const seen = { commands: 0, expiredPuts: 0, windowsExpired: 0, reopens: 0, retentionDeletes: 0, held: 0, restores: 0 };

class WindowModel {
  readonly windows = new Map<string, Map<number, Uint8Array[]>>();
  streamTime = -1;
  dropped = 0;
  constructor(readonly dups: boolean) {}

  live(t: number): boolean { return t > this.streamTime - RETENTION_MS; }

  put(k: Uint8Array, t: number, v: Uint8Array | null): void {
    if (v === null && this.dups) return;
    if (!this.live(t)) { this.dropped++; seen.expiredPuts++; return; }
    const byTime = this.windows.get(hex(k)) ?? new Map<number, Uint8Array[]>();
    if (v === null) byTime.delete(t);
    else if (this.dups) byTime.set(t, [...(byTime.get(t) ?? []), v.slice()]);
    else byTime.set(t, [v.slice()]);
    this.windows.set(hex(k), byTime);
    this.advance(t);
  }

  advance(t: number): void {
    if (t <= this.streamTime) return;
    this.streamTime = t;
    for (const byTime of this.windows.values()) {
      for (const w of [...byTime.keys()]) if (!this.live(w)) { byTime.delete(w); seen.windowsExpired++; }
    }
  }

  fetchOne(k: Uint8Array, t: number): Uint8Array | undefined {
    const vs = this.windows.get(hex(k))?.get(t);
    return vs === undefined ? undefined : vs[vs.length - 1];
  }

  /** A key's windows in [from, to], in time order (duplicates in put order). */
  fetch(k: Uint8Array, from: number, to: number): [number, string][] {
    const out: [number, string][] = [];
    const byTime = this.windows.get(hex(k)) ?? new Map();
    for (const t of [...byTime.keys()].sort((a, b) => a - b)) {
      if (t >= from && t <= to) for (const v of byTime.get(t)!) out.push([t, hex(v)]);
    }
    return out;
  }

  /** Every window in [from, to], by segment, key bytes, time, put order. */
  fetchAll(from: number, to: number): [string, number, string][] {
    const out: [string, number, string][] = [];
    for (const [k, byTime] of this.windows) {
      for (const [t, vs] of byTime) if (t >= from && t <= to) for (const v of vs) out.push([k, t, hex(v)]);
    }
    const seg = (t: number) => Math.floor(t / SEGMENT_MS);
    // A stable sort keeps the duplicates of a window in put order.
    return out.sort((a, b) => seg(a[1]) - seg(b[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || a[1] - b[1]);
  }
}

/** An iterator opened by one command and read by a later one, after other writes: it must
 *  yield what the model held when it was opened. */
interface Held { it: Iterator<unknown>; want: unknown[]; map: (e: any) => unknown }
interface Real { store: WindowStore; options: WindowStoreOptions<Uint8Array, Uint8Array>; held: Held[]; restored: boolean; logs: MemoryChangelog[] }

/** Every changelog the store has written, one after another (close() closes a store's
 *  changelog, so each restored store writes a fresh one; sequence numbers go on). */
const allOf = (logs: MemoryChangelog[]) => ({ read: (p: number, from?: number) => logs.flatMap((l) => [...l.read(p, from)]) });

/** Reads every held iterator to its end and compares it with the model as of its opening. */
function drainHeld(r: Real): void {
  for (const h of r.held.splice(0)) expect([...(h.it as IterableIterator<unknown>)].map(h.map)).toEqual(h.want);
}
type Cmd = fc.AsyncCommand<WindowModel, Real>;

const cmd = (name: string, run: (m: WindowModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (m, r) => { seen.commands++; await run(m, r); }, toString: () => name,
});

const fetched = (it: Iterable<{ windowStart: number; value: Uint8Array }>) => [...it].map((e) => [e.windowStart, hex(e.value)]);
const fetchedAll = (it: Iterable<{ key: Uint8Array; windowStart: number; windowEnd: number; value: Uint8Array }>) => [...it].map((e) => {
  expect(e.windowEnd).toBe(e.windowStart + WINDOW_MS);
  return [hex(e.key), e.windowStart, hex(e.value)];
});

function commands(withReopen: boolean): fc.Arbitrary<Cmd>[] {
  const list: fc.Arbitrary<Cmd>[] = [
    fc.tuple(keyArb, timeArb, valueArb).map(([k, t, v]) => cmd(`put(${hex(k)}, ${t})`, (m, r) => {
      r.store.put(k, t, v);
      m.put(k, t, v);
    })),
    ...[0, 1, 2].map(() => fc.tuple(keyArb, relArb, valueArb).map(([k, dt, v]) => cmd(`put(${hex(k)}, streamTime${dt < 0 ? '' : '+'}${dt})`, (m, r) => {
      const t = at(m, dt);
      r.store.put(k, t, v);
      m.put(k, t, v);
    }))),
    fc.tuple(keyArb, relArb, fc.constantFrom(null, undefined)).map(([k, dt, v]) => cmd(`put(${hex(k)}, streamTime${dt < 0 ? '' : '+'}${dt}, ${v})`, (m, r) => {
      const t = at(m, dt);
      r.store.put(k, t, v);
      m.put(k, t, null);
    })),
    fc.nat(60).map((dt) => cmd(`advanceStreamTime(streamTime+${dt})`, (m, r) => {
      const t = at(m, dt);
      r.store.advanceStreamTime(t);
      m.advance(t);
    })),
    fc.tuple(keyArb, timeArb).map(([k, t]) => cmd(`fetch(${hex(k)}, ${t})`, (m, r) => {
      const got = r.store.fetch(k, t);
      const want = m.fetchOne(k, t);
      expect(got === undefined ? undefined : hex(got)).toBe(want === undefined ? undefined : hex(want));
    })),
    fc.tuple(keyArb, relArb).map(([k, dt]) => cmd(`fetch(${hex(k)}, streamTime${dt})`, (m, r) => {
      const t = at(m, dt);
      const got = r.store.fetch(k, t);
      const want = m.fetchOne(k, t);
      expect(got === undefined ? undefined : hex(got)).toBe(want === undefined ? undefined : hex(want));
    })),
    fc.tuple(keyArb, spanArb, fc.boolean()).map(([k, [a, b], back]) => cmd(`${back ? 'backwardFetch' : 'fetch'}(${hex(k)}, ${a}, ${b})`, (m, r) => {
      const want = m.fetch(k, a, b);
      if (back) expect(fetched(r.store.backwardFetch(k, a, b))).toEqual(want.reverse());
      else expect(fetched(r.store.fetch(k, a, b))).toEqual(want);
    })),
    fc.tuple(spanArb, fc.boolean()).map(([[a, b], back]) => cmd(`${back ? 'backwardFetchAll' : 'fetchAll'}(${a}, ${b})`, (m, r) => {
      const want = m.fetchAll(a, b);
      if (back) expect(fetchedAll(r.store.backwardFetchAll(a, b))).toEqual(want.reverse());
      else expect(fetchedAll(r.store.fetchAll(a, b))).toEqual(want);
    })),
    fc.boolean().map((back) => cmd(back ? 'backwardAll()' : 'all()', (m, r) => {
      const want = m.fetchAll(-Infinity, Infinity);
      expect(fetchedAll(back ? r.store.backwardAll() : r.store.all())).toEqual(back ? want.reverse() : want);
      const s = r.store.stats();
      expect(s.streamTime).toBe(m.streamTime);
      expect(r.store.streamTime).toBe(m.streamTime);
      seen.retentionDeletes += s.retentionDeletes;
    })),
  ];
  // Iterators held across later commands (writes, retention, advances): a snapshot each.
  list.push(fc.tuple(keyArb, spanArb, fc.constantFrom('fetch', 'backwardFetch', 'fetchAll', 'backwardAll')).map(([k, [a, b], kind]) => cmd(`hold ${kind}(${hex(k)}, ${a}, ${b})`, (m, r) => {
    seen.held++;
    if (kind === 'fetch') r.held.push({ it: r.store.fetch(k, a, b), want: m.fetch(k, a, b), map: (e) => [e.windowStart, hex(e.value)] });
    else if (kind === 'backwardFetch') r.held.push({ it: r.store.backwardFetch(k, a, b), want: m.fetch(k, a, b).reverse(), map: (e) => [e.windowStart, hex(e.value)] });
    else if (kind === 'fetchAll') r.held.push({ it: r.store.fetchAll(a, b), want: m.fetchAll(a, b), map: (e) => [hex(e.key), e.windowStart, hex(e.value)] });
    else r.held.push({ it: r.store.backwardAll(), want: m.fetchAll(-Infinity, Infinity).reverse(), map: (e) => [hex(e.key), e.windowStart, hex(e.value)] });
  })));
  list.push(fc.constant(cmd('drain held iterators', (_m, r) => drainHeld(r))));
  if (!withReopen) {
    // The changelog rebuilds the same windows and stream time in a fresh store.
    list.push(fc.constant(cmd('restore from the changelog', async (_m, r) => {
      drainHeld(r);
      await r.store.close();
      const log = new MemoryChangelog();
      r.store = await WindowStore.open({ ...r.options, changelog: log, restoreFrom: allOf(r.logs) });
      r.logs.push(log);
      r.restored = true;
      seen.restores++;
    })));
  }
  if (withReopen) {
    list.push(fc.constant(cmd('reopen', async (_m, r) => {
      drainHeld(r);
      await r.store.close();
      r.store = await WindowStore.open(r.options);
      seen.reopens++;
    })));
  }
  return list;
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function run(dups: boolean, onDisk: boolean, numRuns: number): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.commands(commands(onDisk), { maxCommands: 80, size: 'max' }), async (cmds) => {
    const options: WindowStoreOptions<Uint8Array, Uint8Array> = {
      windowMs: WINDOW_MS, retentionMs: RETENTION_MS, segmentMs: SEGMENT_MS, retainDuplicates: dups, memtableBytes: 512,
    };
    if (onDisk) {
      const dir = mkdtempSync(join(tmpdir(), 'strata-window-model-'));
      dirs.push(dir);
      options.path = dir;
    } else {
      options.changelog = new MemoryChangelog();
    }
    const real: Real = { store: await WindowStore.open(options), options, held: [], restored: false, logs: onDisk ? [] : [options.changelog as MemoryChangelog] };
    const model = new WindowModel(dups);
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      drainHeld(real);
      // The dropped puts are counted since the last open: compare only without reopens.
      if (!onDisk && !real.restored) expect(real.store.stats().expiredDropped).toBe(model.dropped);
    } finally {
      await real.store.close();
    }
  }), { numRuns });
}

describe('WindowStore against a Map model with retention (fc.commands)', () => {
  it('in memory', async () => { await run(false, false, 60); }, 120_000);
  it('in memory, retainDuplicates', async () => { await run(true, false, 60); }, 120_000);
  it('on disk, reopened between commands', async () => { await run(false, true, 25); }, 120_000);
  it('on disk, retainDuplicates, reopened between commands', async () => { await run(true, true, 25); }, 120_000);
  it('exercised retention: expired puts dropped, windows expired, range tombstones written, reopens', () => {
    expect(seen.commands).toBeGreaterThan(1000);
    expect(seen.expiredPuts).toBeGreaterThan(20);
    expect(seen.windowsExpired).toBeGreaterThan(100);
    expect(seen.retentionDeletes).toBeGreaterThan(20);
    expect(seen.reopens).toBeGreaterThan(20);
    expect(seen.held).toBeGreaterThan(50);
    expect(seen.restores).toBeGreaterThan(20);
  });
});
