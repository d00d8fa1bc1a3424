// SessionStore by example (docs/WINDOWS.md, "Sessions"): merging a record into the sessions
// it touches (Kafka Streams' session windows), keys that are prefixes of each other,
// retention by session end, and bad input (INVALID_ARGUMENT, the store intact). The model
// test (session-store.model.test.ts) covers random sequences.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionStore, WindowStore, StrataError, codecs, type SessionEntry } from 'strata-kv';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const open = (o: { path?: string; segmentMs?: number } = {}) =>
  SessionStore.open<string, number>({ retentionMs: 100, segmentMs: 50, keyCodec: codecs.utf8, valueCodec: codecs.uint32, ...o });
const shown = (it: Iterable<SessionEntry<string, number>>) => [...it].map((s) => `${s.key}[${s.start},${s.end}]=${s.value}`);

describe('SessionStore', () => {
  it('a record merges the sessions within the gap around it, as session windows do', async () => {
    const s = await open();
    const GAP = 10;
    /** Counts a click at `t` into the user's session, merging every session within GAP. */
    const click = (user: string, t: number) => {
      let start = t, end = t, count = 1;
      for (const old of [...s.findSessions(user, t - GAP, t + GAP)]) {
        start = Math.min(start, old.start); end = Math.max(end, old.end); count += old.value;
        s.remove(user, old.start, old.end);
      }
      s.put(user, start, end, count);
    };
    for (const t of [0, 5, 30, 12, 45, 21]) click('ann', t);
    click('bob', 3);
    expect(shown(s.fetch('ann'))).toEqual(['ann[0,30]=5', 'ann[45,45]=1']);
    expect(shown(s.backwardFetch('ann'))).toEqual(['ann[45,45]=1', 'ann[0,30]=5']);
    expect(s.fetchSession('ann', 0, 30)).toBe(5);
    expect(s.fetchSession('ann', 0, 29)).toBeUndefined();
    expect(shown(s.all())).toEqual(['ann[0,30]=5', 'ann[45,45]=1', 'bob[3,3]=1']); // one segment: by key, then end
    await s.close();
  });

  it("one key's sessions never include those of a key it prefixes", async () => {
    const s = await open();
    for (const [i, k] of ['', 'a', 'a\0', 'ab'].entries()) s.put(k, 10, 20, i);
    for (const [i, k] of ['', 'a', 'a\0', 'ab'].entries()) expect(shown(s.findSessions(k, 0, 100))).toEqual([`${k}[10,20]=${i}`]);
    await s.close();
  });

  it('retention goes by session end: live iff end > streamTime - retentionMs; expired puts are dropped', async () => {
    const path = mkdtempSync(join(tmpdir(), 'strata-session-'));
    dirs.push(path);
    const s = await open({ path });
    s.put('k', 0, 61, 1);      // a long session ending at 61
    s.put('k', 55, 60, 2);
    s.put('k', 150, 160, 3);   // stream time 160: sessions ending at or before 60 expire
    expect(shown(s.fetch('k'))).toEqual(['k[0,61]=1', 'k[150,160]=3']);
    s.advanceStreamTime(161);
    expect(shown(s.fetch('k'))).toEqual(['k[150,160]=3']);
    s.put('k', 20, 61, 4);
    expect(s.stats()).toMatchObject({ streamTime: 161, expiredDropped: 1, retentionDeletes: 1 });
    await s.close();
    const again = await open({ path });
    expect(again.streamTime).toBe(161);
    expect(shown(again.all())).toEqual(['k[150,160]=3']);
    await again.close();
    // A window store's directory is not a session store's, and the other way round.
    await expect(WindowStore.open({ path, windowMs: 10, retentionMs: 100, segmentMs: 50 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('bad input is INVALID_ARGUMENT and changes nothing', async () => {
    const s = await open();
    s.put('k', 5, 10, 1);
    const bad: (() => unknown)[] = [
      () => s.put('k', 11, 10, 2), () => s.put('k', -1, 10, 2), () => s.put('k', 0, 1.5, 2), () => s.put('k', 0, 20, -1),
      () => s.fetchSession('k', 10, 5), () => s.findSessions('k', NaN, 5), () => s.findSessions('k', 0, '5' as unknown as number),
    ];
    for (const f of bad) {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(StrataError);
      expect((err as StrataError).code).toBe('INVALID_ARGUMENT');
    }
    expect(shown(s.all())).toEqual(['k[5,10]=1']);
    expect(s.streamTime).toBe(10);
    await expect(SessionStore.open({ retentionMs: 100, windowMs: 10 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await s.close();
  });
});
