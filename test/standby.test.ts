// Standby over an in-process changelog (MemoryChangelog, FileChangelog): the replica equals a
// restore of the log at every point it reports lag 0; its view is read-only and live; promote()
// applies everything, and the promoted Store's versions continue above every applied one,
// with no record lost or applied twice. Model: the owner Store itself. A source that stops
// answering makes lag() Infinity (unknown), never a stale 0, and caughtUp() wait for it.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, Standby, StrataError, MemoryChangelog, FileChangelog, codecs, type ChangeRecord, type FollowableSource } from 'strata-kv';

const utf8 = { keyCodec: codecs.utf8, valueCodec: codecs.utf8 };

function contents(s: { all(): Iterable<[string, string]> }, versions?: Store<string, string>): unknown[] {
  return [...s.all()].map(([k, v]) => (versions ? [k, v, versions.getVersioned(k)!.version] : [k, v]));
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('Standby', () => {
  it('catches up on follow(), follows new writes, and reports lag against the source\'s last seq', async () => {
    const log = new MemoryChangelog();
    const owner = await Store.open<string, string>({ ...utf8, changelog: log, partition: 1 });
    for (let i = 0; i < 1000; i++) owner.put(`k${i}`, `v${i}`);
    const standby = await Standby.follow<string, string>({ ...utf8, source: log, partition: 1, pollMs: 5 });
    expect(standby.lag()).toBe(0);
    expect(standby.store.get('k999')).toBe('v999');
    owner.deleteAll(['k1', 'k2']);
    owner.put('k3', 'new');
    expect(standby.lag()).toBe(3); // MemoryChangelog.lastSeq answers at once; nothing applied yet
    await until(() => standby.lag() === 0);
    expect(standby.store.has('k1')).toBe(false);
    expect(standby.store.get('k3')).toBe('new');
    expect(standby.store.getAll(['k3', 'k1', 'k999'])).toEqual(['new', undefined, 'v999']);
    expect(contents(standby.store)).toEqual(contents(owner));
    await standby.close();
    await owner.close();
  });

  it('its store is read-only and live: it has no write methods, and sees records as they are applied', async () => {
    const log = new MemoryChangelog();
    const owner = await Store.open<string, string>({ ...utf8, changelog: log });
    const standby = await Standby.follow<string, string>({ ...utf8, source: log, partition: 0, pollMs: 5 });
    expect('put' in standby.store).toBe(false);
    expect(standby.store.get('a')).toBeUndefined();
    const it = standby.store.all();
    owner.put('a', '1');
    await until(() => standby.store.get('a') === '1');
    expect([...it]).toEqual([]); // an iterator still sees the store as of its creation
    await standby.close();
    await owner.close();
  });

  it('promote(): every record applied once, versions continue, the sinks get only the promoted writes', async () => {
    const log = new MemoryChangelog();
    // The owner's sink is a wrapper: closing the owner must not close the shared log.
    const owner = await Store.open<string, string>({ ...utf8, changelog: { append: (r) => log.append(r) }, partition: 4 });
    const sink: ChangeRecord[][] = [];
    const standby = await Standby.follow<string, string>({
      ...utf8, source: log, partition: 4, pollMs: 5,
      changelog: [log, { append: (r) => { sink.push(r); } }],
    });
    for (let i = 0; i < 5000; i++) owner.put(`k${i % 997}`, `v${i}`);
    owner.write([{ type: 'del', key: 'k3' }, { type: 'put', key: 'k4', value: 'x' }]);
    // Promote while behind: promote drains what the source holds.
    const promoted = await standby.promote();
    expect(sink).toEqual([]);
    expect(contents(promoted, promoted)).toEqual(contents(owner, owner));
    expect(promoted.stats().sequence).toBe(owner.stats().sequence);
    await owner.close(); // the old owner is gone; MemoryChangelog has no fence, so it must stop first
    promoted.put('k0', 'after');
    expect(promoted.getVersioned('k0')!.version).toBe(5003);
    expect(sink).toEqual([[{ partition: 4, seq: 5003, key: codecs.utf8.encode('k0'), value: codecs.utf8.encode('after') }]]);
    // The shared log continues without a gap or a repeat.
    const seqs = [...log.read(4)].map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 5003 }, (_, i) => i + 1));
    expect(await standby.promote()).toBe(promoted); // idempotent
    await promoted.close();
    // Closing the promoted Store closed its sinks; the standby's close leaves the Store alone.
    await standby.close();
  });

  it('close() before promotion leaves the source and the sinks open', async () => {
    const log = new MemoryChangelog();
    let closed = 0;
    const standby = await Standby.follow({ source: log, partition: 0, changelog: { append() {}, async close() { closed++; } } });
    await standby.close();
    await standby.close();
    expect(closed).toBe(0);
    log.append([{ partition: 0, seq: 1, key: new Uint8Array([1]), value: null }]); // still open
    await expect(standby.promote()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a durable standby (path) resumes after its last applied record when reopened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-standby-'));
    try {
      const log = await FileChangelog.open(join(dir, 'log'));
      const owner = await Store.open<string, string>({ ...utf8, changelog: log });
      for (let i = 0; i < 300; i++) owner.put(`k${i}`, `v${i}`);
      await owner.flush();
      let standby = await Standby.follow<string, string>({ ...utf8, source: log, partition: 0, path: join(dir, 'replica'), pollMs: 5 });
      expect(standby.appliedSeq()).toBe(300);
      await standby.close();
      for (let i = 0; i < 100; i++) owner.put(`k${i}`, `w${i}`);
      await owner.flush();
      const froms: (number | undefined)[] = [];
      const counting = { read: (p: number, from?: number) => { froms.push(from); return log.read(p, from); }, lastSeq: (p: number) => log.lastSeq(p) };
      standby = await Standby.follow<string, string>({ ...utf8, source: counting, partition: 0, path: join(dir, 'replica'), pollMs: 5 });
      expect(froms[0]).toBe(301);
      expect(standby.appliedSeq()).toBe(400);
      const promoted = await standby.promote();
      expect(contents(promoted, promoted)).toEqual(contents(owner, owner));
      await promoted.close();
      await owner.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['lastSeq answered asynchronously', true],
    ['no lastSeq: the end is what a complete read reached', false],
  ])('a source that stops answering: lag() is Infinity (unknown), not a stale 0; caughtUp() waits for the end (%s)', async (_, withLastSeq) => {
    const log = new MemoryChangelog();
    const owner = await Store.open<string, string>({ ...utf8, changelog: log, partition: 2 });
    for (let i = 0; i < 100; i++) owner.put(`k${i}`, 'v');
    let down = false;
    const unavailable = () => new StrataError('IO_ERROR', 'source unavailable');
    const source: FollowableSource = {
      read: (p, from) => {
        if (down) throw unavailable();
        return log.read(p, from);
      },
      ...(withLastSeq ? { lastSeq: (p: number) => (down ? Promise.reject(unavailable()) : Promise.resolve(log.lastSeq(p))) } : {}),
    };
    const standby = await Standby.follow<string, string>({ ...utf8, source, partition: 2, pollMs: 5, lagStaleMs: 200 });
    await until(() => standby.lag() === 0);
    expect(standby.appliedSeq()).toBe(100);

    down = true;
    for (let i = 0; i < 50; i++) owner.put(`k${i}`, 'w');
    const t = Date.now();
    await until(() => standby.lag() !== 0, 2000);
    expect(standby.lag()).toBe(Infinity);
    expect(Date.now() - t).toBeLessThan(1000);
    const status = standby.lagStatus();
    expect(status).toMatchObject({ known: false, behind: 0, sourceSeq: 100, appliedSeq: 100 });
    expect(status.ageMs).toBeGreaterThanOrEqual(200);
    await expect(standby.caughtUp(300)).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/unknown/) });

    down = false;
    await standby.caughtUp(5000);
    expect(standby.appliedSeq()).toBe(150);
    expect(standby.lag()).toBe(0);
    expect(standby.lagStatus()).toMatchObject({ known: true, behind: 0, sourceSeq: 150 });
    await standby.close();
    await owner.close();
  });

  it('lag() = 0 only when every record the source held lagStaleMs earlier is applied, whatever the outages (fast-check)', async () => {
    const step = fc.record({ down: fc.boolean(), writes: fc.nat(40), waitMs: fc.integer({ min: 0, max: 60 }) });
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.boolean(), async (steps, withLastSeq) => {
      const log = new MemoryChangelog();
      const owner = await Store.open<string, string>({ ...utf8, changelog: log, partition: 0 });
      let down = false;
      const unavailable = () => new StrataError('IO_ERROR', 'source unavailable');
      const source: FollowableSource = {
        read: (p, from) => { if (down) throw unavailable(); return log.read(p, from); },
        ...(withLastSeq ? { lastSeq: (p: number) => (down ? Promise.reject(unavailable()) : Promise.resolve(log.lastSeq(p))) } : {}),
      };
      const STALE = 30;
      const standby = await Standby.follow<string, string>({ ...utf8, source, partition: 0, pollMs: 2, lagStaleMs: STALE });
      const held: { at: number; seq: number }[] = [];   // the source holds seq from `at` on
      const wrong: string[] = [];
      const check = () => {
        const at = Date.now(), lag = standby.lag(), applied = standby.appliedSeq();
        let before = 0;
        for (const h of held) if (h.at <= at - STALE) before = h.seq;
        if (lag === 0 && applied < before) wrong.push(`lag 0, applied ${applied}, held ${before} ${STALE} ms before`);
      };
      const sampler = setInterval(check, 1);
      try {
        let n = 0;
        for (const s of steps) {
          down = s.down;
          for (let i = 0; i < s.writes; i++) owner.put(`k${n++ % 50}`, 'v');
          held.push({ at: Date.now(), seq: owner.stats().sequence });
          const end = Date.now() + s.waitMs;
          while (Date.now() < end) { check(); await new Promise((r) => setTimeout(r, 1)); }
        }
        down = false;
        await standby.caughtUp(5000);
        expect(standby.appliedSeq()).toBe(owner.stats().sequence);
      } finally {
        clearInterval(sampler);
        await standby.close();
        await owner.close();
      }
      expect(wrong.slice(0, 3)).toEqual([]);
    }), { numRuns: 12 });
  });

  it('caughtUp() right after a write, source without lastSeq: resolves only once the write is applied (the property\'s counterexample on the old code)', async () => {
    const log = new MemoryChangelog();
    const owner = await Store.open<string, string>({ ...utf8, changelog: log, partition: 0 });
    const standby = await Standby.follow<string, string>({ ...utf8, source: { read: (p, from) => log.read(p, from) }, partition: 0, pollMs: 2, lagStaleMs: 30 });
    owner.put('k', 'v');
    await standby.caughtUp(5000);
    expect(standby.appliedSeq()).toBe(1);
    await standby.close();
    await owner.close();
  });

  it('caughtUp() waits for an end confirmed after the call: a source whose lastSeq lags behind its reads is not "caught up" on a stale answer', async () => {
    // lastSeq answers late (150 ms), so right after a burst the last answer predates it.
    const log = new MemoryChangelog();
    const owner = await Store.open<string, string>({ ...utf8, changelog: log, partition: 0 });
    const source: FollowableSource = {
      read: (p, from) => log.read(p, from),
      lastSeq: (p: number) => { const n = log.lastSeq(p); return new Promise((r) => setTimeout(() => r(n), 150)); },
    };
    const standby = await Standby.follow<string, string>({ ...utf8, source, partition: 0, pollMs: 1000 });
    await standby.caughtUp(5000);
    for (let i = 0; i < 30; i++) owner.put(`k${i}`, 'v');
    await standby.caughtUp(5000);
    expect(standby.appliedSeq()).toBe(30);
    await standby.close();
    await owner.close();
  });

  it('rejects bad options', async () => {
    await expect(Standby.follow({ source: {} as never, partition: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Standby.follow({ source: new MemoryChangelog(), partition: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Standby.follow({ source: new MemoryChangelog(), partition: 0, lagStaleMs: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
