// Model-based test of SessionStore (docs/WINDOWS.md, "Sessions"): random puts, removes,
// advances of the stream time, fetchSession, findSessions and its backward form, fetch,
// all, iterators held across later commands (each yields the model as of its opening), a
// restore from the changelog into a fresh store (in memory) and (on disk) reopen, against SessionModel: a Map of key -> Map of "end,start" ->
// value, with Kafka Streams' session retention applied (a session is live iff end >
// streamTime - retentionMs; a put of an expired session is dropped). Keys are bytes that
// are prefixes of each other; sessions end on both sides of segment boundaries.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionStore, MemoryChangelog, type SessionStoreOptions, type SessionEntry } from 'strata-kv';
import { hex } from './support/model.js';

const RETENTION_MS = 100;
const SEGMENT_MS = 30;
const KEYS = ['', '00', '0000', '61', '6100'].map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.uint8Array({ maxLength: 12 });
/** A session relative to the stream time when the command runs: its end, and its length. */
const sessionArb = fc.tuple(fc.integer({ min: -130, max: 12 }), fc.nat(70));

const seen = { commands: 0, expiredPuts: 0, sessionsExpired: 0, found: 0, reopens: 0, held: 0, restores: 0 };

class SessionModel {
  readonly sessions = new Map<string, Map<string, { start: number; end: number; value: Uint8Array }>>();
  streamTime = -1;
  dropped = 0;

  live(end: number): boolean { return end > this.streamTime - RETENTION_MS; }

  put(k: Uint8Array, start: number, end: number, v: Uint8Array | null): void {
    if (!this.live(end)) { this.dropped++; seen.expiredPuts++; return; }
    const m = this.sessions.get(hex(k)) ?? new Map();
    if (v === null) m.delete(`${end},${start}`); else m.set(`${end},${start}`, { start, end, value: v.slice() });
    this.sessions.set(hex(k), m);
    this.advance(end);
  }

  advance(t: number): void {
    if (t <= this.streamTime) return;
    this.streamTime = t;
    for (const m of this.sessions.values()) {
      for (const [id, s] of [...m]) if (!this.live(s.end)) { m.delete(id); seen.sessionsExpired++; }
    }
  }

  /** A key's sessions with end >= earliestEnd and start <= latestStart, by end then start. */
  find(k: Uint8Array, earliestEnd: number, latestStart: number): string[] {
    const list = [...(this.sessions.get(hex(k))?.values() ?? [])].filter((s) => s.end >= earliestEnd && s.start <= latestStart);
    return list.sort((a, b) => a.end - b.end || a.start - b.start).map((s) => `${hex(k)}[${s.start},${s.end}]=${hex(s.value)}`);
  }

  /** Every session by segment of its end, key bytes, end, start. */
  all(): string[] {
    const list: { k: string; start: number; end: number; value: Uint8Array }[] = [];
    for (const [k, m] of this.sessions) for (const s of m.values()) list.push({ k, ...s });
    const seg = (t: number) => Math.floor(t / SEGMENT_MS);
    return list.sort((a, b) => seg(a.end) - seg(b.end) || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0) || a.end - b.end || a.start - b.start)
      .map((s) => `${s.k}[${s.start},${s.end}]=${hex(s.value)}`);
  }
}

/** An iterator opened by one command and read by a later one, after other writes. */
interface Held { it: Iterable<SessionEntry<Uint8Array, Uint8Array>>; want: string[] }
interface Real { store: SessionStore; options: SessionStoreOptions<Uint8Array, Uint8Array>; held: Held[]; restored: boolean; logs: MemoryChangelog[] }

/** Every changelog the store has written, one after another (close() closes a store's
 *  changelog, so each restored store writes a fresh one; sequence numbers go on). */
const allOf = (logs: MemoryChangelog[]) => ({ read: (p: number, from?: number) => logs.flatMap((l) => [...l.read(p, from)]) });
type Cmd = fc.AsyncCommand<SessionModel, Real>;
const cmd = (name: string, run: (m: SessionModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (m, r) => { seen.commands++; await run(m, r); }, toString: () => name,
});
const shown = (it: Iterable<SessionEntry<Uint8Array, Uint8Array>>) => [...it].map((s) => `${hex(s.key)}[${s.start},${s.end}]=${hex(s.value)}`);

/** Reads every held iterator to its end and compares it with the model as of its opening. */
function drainHeld(r: Real): void {
  for (const h of r.held.splice(0)) expect(shown(h.it)).toEqual(h.want);
}
/** [start, end] of a session ending `dt` from the stream time, `len` long. */
const at = (m: SessionModel, dt: number, len: number): [number, number] => {
  const end = Math.max(0, m.streamTime + dt);
  return [Math.max(0, end - len), end];
};

function commands(withReopen: boolean): fc.Arbitrary<Cmd>[] {
  const list: fc.Arbitrary<Cmd>[] = [
    ...[0, 1, 2, 3, 4].map(() => fc.tuple(keyArb, sessionArb, valueArb).map(([k, [dt, len], v]) => cmd(`put(${hex(k)}, end ${dt}, len ${len})`, (m, r) => {
      const [start, end] = at(m, dt, len);
      r.store.put(k, start, end, v);
      m.put(k, start, end, v);
    }))),
    fc.tuple(keyArb, sessionArb).map(([k, [dt, len]]) => cmd(`remove(${hex(k)}, end ${dt}, len ${len})`, (m, r) => {
      const [start, end] = at(m, dt, len);
      r.store.remove(k, start, end);
      m.put(k, start, end, null);
    })),
    fc.nat(40).map((dt) => cmd(`advanceStreamTime(+${dt})`, (m, r) => {
      const t = Math.max(0, m.streamTime + dt);
      r.store.advanceStreamTime(t);
      m.advance(t);
    })),
    fc.tuple(keyArb, sessionArb).map(([k, [dt, len]]) => cmd(`fetchSession(${hex(k)}, end ${dt}, len ${len})`, (m, r) => {
      const [start, end] = at(m, dt, len);
      const got = r.store.fetchSession(k, start, end);
      const want = m.sessions.get(hex(k))?.get(`${end},${start}`);
      expect(got === undefined ? undefined : hex(got)).toBe(want === undefined ? undefined : hex(want.value));
    })),
    fc.tuple(keyArb, fc.integer({ min: -140, max: 10 }), fc.integer({ min: -60, max: 20 }), fc.boolean()).map(([k, e, s, back]) =>
      cmd(`${back ? 'backwardFindSessions' : 'findSessions'}(${hex(k)}, ${e}, ${s})`, (m, r) => {
        const earliestEnd = m.streamTime + e, latestStart = m.streamTime + s;
        const want = m.find(k, earliestEnd, latestStart);
        seen.found += want.length;
        const got = shown(back ? r.store.backwardFindSessions(k, earliestEnd, latestStart) : r.store.findSessions(k, earliestEnd, latestStart));
        expect(got).toEqual(back ? want.reverse() : want);
      })),
    fc.tuple(keyArb, fc.boolean()).map(([k, back]) => cmd(`${back ? 'backwardFetch' : 'fetch'}(${hex(k)})`, (m, r) => {
      const want = m.find(k, -Infinity, Infinity);
      expect(shown(back ? r.store.backwardFetch(k) : r.store.fetch(k))).toEqual(back ? want.reverse() : want);
    })),
    fc.boolean().map((back) => cmd(back ? 'backwardAll()' : 'all()', (m, r) => {
      const want = m.all();
      expect(shown(back ? r.store.backwardAll() : r.store.all())).toEqual(back ? want.reverse() : want);
      expect(r.store.streamTime).toBe(m.streamTime);
    })),
  ];
  list.push(fc.tuple(keyArb, fc.integer({ min: -140, max: 10 }), fc.integer({ min: -60, max: 20 }), fc.boolean()).map(([k, e, s, back]) =>
    cmd(`hold ${back ? 'backwardFindSessions' : 'findSessions'}(${hex(k)}, ${e}, ${s})`, (m, r) => {
      const earliestEnd = m.streamTime + e, latestStart = m.streamTime + s;
      const want = m.find(k, earliestEnd, latestStart);
      seen.held++;
      r.held.push(back ? { it: r.store.backwardFindSessions(k, earliestEnd, latestStart), want: want.reverse() } : { it: r.store.findSessions(k, earliestEnd, latestStart), want });
    })));
  list.push(fc.boolean().map((back) => cmd(`hold ${back ? 'backwardAll' : 'all'}()`, (m, r) => {
    const want = m.all();
    seen.held++;
    r.held.push({ it: back ? r.store.backwardAll() : r.store.all(), want: back ? want.reverse() : want });
  })));
  list.push(fc.constant(cmd('drain held iterators', (_m, r) => drainHeld(r))));
  if (!withReopen) {
    list.push(fc.constant(cmd('restore from the changelog', async (_m, r) => {
      drainHeld(r);
      await r.store.close();
      const log = new MemoryChangelog();
      r.store = await SessionStore.open({ ...r.options, changelog: log, restoreFrom: allOf(r.logs) });
      r.logs.push(log);
      r.restored = true;
      seen.restores++;
    })));
  }
  if (withReopen) {
    list.push(fc.constant(cmd('reopen', async (_m, r) => {
      drainHeld(r);
      await r.store.close();
      r.store = await SessionStore.open(r.options);
      seen.reopens++;
    })));
  }
  return list;
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function run(onDisk: boolean, numRuns: number): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.commands(commands(onDisk), { maxCommands: 150, size: 'max' }), async (cmds) => {
    const options: SessionStoreOptions<Uint8Array, Uint8Array> = { retentionMs: RETENTION_MS, segmentMs: SEGMENT_MS, memtableBytes: 512 };
    if (onDisk) {
      const dir = mkdtempSync(join(tmpdir(), 'strata-session-model-'));
      dirs.push(dir);
      options.path = dir;
    } else {
      options.changelog = new MemoryChangelog();
    }
    const real: Real = { store: await SessionStore.open(options), options, held: [], restored: false, logs: onDisk ? [] : [options.changelog as MemoryChangelog] };
    const model = new SessionModel();
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      drainHeld(real);
      if (!onDisk && !real.restored) expect(real.store.stats().expiredDropped).toBe(model.dropped);
    } finally {
      await real.store.close();
    }
  }), { numRuns });
}

describe('SessionStore against a Map model with retention by session end (fc.commands)', () => {
  it('in memory', async () => { await run(false, 60); }, 120_000);
  it('on disk, reopened between commands', async () => { await run(true, 25); }, 120_000);
  it('exercised retention and the searches', () => {
    expect(seen.commands).toBeGreaterThan(3000);
    expect(seen.expiredPuts).toBeGreaterThan(20);
    expect(seen.sessionsExpired).toBeGreaterThan(100);
    expect(seen.found).toBeGreaterThan(200);
    expect(seen.reopens).toBeGreaterThan(20);
    expect(seen.held).toBeGreaterThan(50);
    expect(seen.restores).toBeGreaterThan(20);
  });
});
