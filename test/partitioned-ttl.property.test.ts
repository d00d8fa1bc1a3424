// A PartitionedStore with ttlMs: the partitions' iterators, merged, count only live entries
// against a limit in both directions, and a snapshot of every partition judges expiry when
// it is read (docs/API.md, "TTL"). The clock is vitest's fake Date; the model a Map of key to
// value and expiry.
import { it, expect, vi, afterEach } from 'vitest';
import fc from 'fast-check';
import { PartitionedStore, codecs } from 'strata-kv';
afterEach(() => { vi.useRealTimers(); });

it('scans with limits and snapshots agree with a Map with expiry times (fast-check)', async () => {
  vi.useFakeTimers({ toFake: ['Date'] }); vi.setSystemTime(Date.UTC(2026, 0, 1));
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 700 }), fc.boolean()), { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), async (ops, limit) => {
    const s = await PartitionedStore.open<string, string>({ partitions: 3, ttlMs: 1000, expirySweepMs: 0, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 256 });
    const m = new Map<string, [string, number]>();
    for (const [k, adv, del] of ops) {
      vi.setSystemTime(Date.now() + adv);
      const key = `k${String(k).padStart(2, '0')}`;
      if (del) { s.delete(key); m.delete(key); } else { s.put(key, `v${adv}`); m.set(key, [`v${adv}`, Date.now() + 1000]); }
    }
    const now = Date.now();
    const live: [string, string][] = [...m].filter(([, [, e]]) => e > now).map(([k, [v]]): [string, string] => [k, v]).sort(([a], [b]) => (a < b ? -1 : 1));
    expect([...s.all({ limit })]).toEqual(live.slice(0, limit));
    expect([...s.all({ limit, reverse: true })]).toEqual([...live].reverse().slice(0, limit));
    expect([...s.range('k03', 'k12', { limit })]).toEqual(live.filter(([k]) => k >= 'k03' && k < 'k12').slice(0, limit));
    const snap = s.snapshot();
    vi.setSystemTime(now + 300);
    const live2: [string, string][] = [...m].filter(([, [, e]]) => e > now + 300).map(([k, [v]]): [string, string] => [k, v]).sort(([a], [b]) => (a < b ? -1 : 1));
    expect([...snap.all()]).toEqual(live2);
    snap.close();
    await s.close();
  }), { numRuns: 150 });
}, 60_000);
