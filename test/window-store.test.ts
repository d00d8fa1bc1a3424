// WindowStore by example (docs/WINDOWS.md): keys that are prefixes of each other, window
// and segment boundaries, retention (what is live, dropped puts, one range tombstone per
// expired segment run, the stream time kept across a reopen, expired windows a crash left
// behind), retainDuplicates, iterators, and bad input (INVALID_ARGUMENT, the store intact).
// The model test (window-store.model.test.ts) covers random sequences.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WindowStore, Store, MemoryChangelog, StrataError, codecs, type WindowStoreOptions } from 'strata-kv';
import { META_STREAM_TIME, encodeU64, windowKey } from '../bindings/window/window-key.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strata-window-'));
  dirs.push(d);
  return d;
}

const utf8 = { keyCodec: codecs.utf8, valueCodec: codecs.utf8 };
const base = { windowMs: 10, retentionMs: 100, segmentMs: 50 };
const open = (o: Partial<WindowStoreOptions<string, string>> = {}) => WindowStore.open<string, string>({ ...base, ...utf8, ...o });
const times = (it: Iterable<{ windowStart: number; value: string }>) => [...it].map((e) => `${e.windowStart}=${e.value}`);
const entries = (it: Iterable<{ key: string; windowStart: number; value: string }>) => [...it].map((e) => `${e.key}@${e.windowStart}=${e.value}`);

function expectCode(f: () => unknown, code: string): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(StrataError);
  expect((err as StrataError).code).toBe(code);
}

describe('WindowStore: keys that are prefixes of each other', () => {
  it('fetch of a key never yields the windows of a longer key it prefixes, nor of a shorter one', async () => {
    const w = await open();
    const keys = ['', 'a', 'a\0', 'a\0\0', 'a\u0001', 'ab', 'abc', 'b'];
    for (const [i, k] of keys.entries()) { w.put(k, 10, `v${i}`); w.put(k, 20, `w${i}`); }
    for (const [i, k] of keys.entries()) {
      expect(times(w.fetch(k, 0, 100))).toEqual([`10=v${i}`, `20=w${i}`]);
      expect(w.fetch(k, 20)).toBe(`w${i}`);
    }
    // Within a segment keys come in byte order ('a' < 'a\0' < 'a\0\0' < 'a\x01' < 'ab').
    expect([...w.fetchAll(10, 10)].map((e) => e.key)).toEqual(keys);
    await w.close();
  });

  it('bytes keys made of 0x00 and 0x01: the escaping keeps them apart and in order', async () => {
    const w = await WindowStore.open({ ...base });
    const keys = [[], [0], [0, 0], [0, 0, 1], [0, 1], [1], [1, 0]].map((k) => new Uint8Array(k));
    for (const [i, k] of keys.entries()) w.put(k, 5, new Uint8Array([i]));
    for (const [i, k] of keys.entries()) expect([...w.fetch(k, 0, 10)].map((e) => e.value[0])).toEqual([i]);
    expect([...w.all()].map((e) => [...e.key])).toEqual(keys.map((k) => [...k]));
    await w.close();
  });
});

describe('WindowStore: windows and segments', () => {
  it('fetch bounds are inclusive; windows on both sides of segment boundaries come in time order, backward too', async () => {
    const w = await open();
    for (const t of [0, 49, 50, 99, 100, 101]) w.put('k', t, `${t}`);
    expect(times(w.fetch('k', 49, 100))).toEqual(['49=49', '50=50', '99=99', '100=100']);
    expect(times(w.backwardFetch('k', 49, 100))).toEqual(['100=100', '99=99', '50=50', '49=49']);
    expect(times(w.fetch('k', 50, 50))).toEqual(['50=50']);
    expect(times(w.fetch('k', 60, 50))).toEqual([]); // from after to: nothing, as Store.range
    expect(times(w.fetch('k', -Infinity, Infinity))).toEqual(['49=49', '50=50', '99=99', '100=100', '101=101']); // 0 expired at 101
    const [first] = w.fetchAll(101, 101);
    expect(first).toEqual({ key: 'k', windowStart: 101, windowEnd: 111, value: '101' });
    await w.close();
  });

  it('fetchAll orders by segment, then key, then time; backwardFetchAll and backwardAll reverse it', async () => {
    const w = await open();
    w.put('b', 10, '1'); w.put('a', 40, '2'); w.put('a', 60, '3'); w.put('b', 55, '4'); w.put('a', 10, '5');
    expect(entries(w.fetchAll(0, 100))).toEqual(['a@10=5', 'a@40=2', 'b@10=1', 'a@60=3', 'b@55=4']);
    expect(entries(w.backwardFetchAll(0, 100))).toEqual(['b@55=4', 'a@60=3', 'b@10=1', 'a@40=2', 'a@10=5']);
    expect(entries(w.fetchAll(40, 55))).toEqual(['a@40=2', 'b@55=4']);
    expect(entries(w.backwardAll())).toEqual(entries(w.backwardFetchAll(0, 100)));
    await w.close();
  });

  it('an iterator over several segments sees the store as of its creation; close() then next() is ITERATOR_CLOSED', async () => {
    const w = await open();
    for (const t of [10, 60, 90]) w.put('k', t, 'old');
    const it = w.fetch('k', 0, 100);
    expect(it.next().value).toEqual({ windowStart: 10, value: 'old' });
    w.put('k', 60, 'new');
    w.put('k', 95, 'new');
    expect(times(it)).toEqual(['60=old', '90=old']);
    const it2 = w.fetch('k', 0, 100);
    it2.close();
    expectCode(() => it2.next(), 'ITERATOR_CLOSED');
    expect(w.stats().store.snapshots).toBe(0); // the snapshot of a multi-segment fetch went with it
    await w.close();
  });

  it('a delete (null or undefined value) removes one window', async () => {
    const w = await open();
    w.put('k', 10, 'x'); w.put('k', 20, 'y');
    w.put('k', 10, null);
    w.put('k', 20, undefined);
    expect(times(w.fetch('k', 0, 100))).toEqual([]);
    expect(w.streamTime).toBe(20);
    await w.close();
  });
});

describe('WindowStore: retention', () => {
  it('a window is live iff windowStart > streamTime - retentionMs; a put of an expired window is dropped and counted', async () => {
    const w = await open();
    w.put('k', 50, 'a'); w.put('k', 51, 'b');
    w.put('k', 150, 'c'); // stream time 150: 50 expired, 51 live
    expect(w.fetch('k', 50)).toBeUndefined();
    expect(w.fetch('k', 51)).toBe('b');
    expect(times(w.fetch('k', 0, 200))).toEqual(['51=b', '150=c']);
    w.put('k', 50, 'late');
    w.put('other', 3, 'late');
    expect(w.fetch('k', 50)).toBeUndefined();
    expect(entries(w.all())).toEqual(['k@51=b', 'k@150=c']);
    expect(w.stats()).toMatchObject({ streamTime: 150, expiredDropped: 2, firstLiveSegment: 1 });
    await w.close();
  });

  it('drops expired segments with one range tombstone per advance, whatever the number of windows; the stream time survives a reopen', async () => {
    const path = tempDir();
    const w = await open({ path });
    for (let i = 0; i < 500; i++) w.put(`k${i}`, i % 100, 'v'); // segments 0 and 1
    const before = w.stats().store.counters.deletes;
    w.advanceStreamTime(250); // min live 151: segments 0..2 expire, 3 lives
    expect(w.stats().retentionDeletes).toBe(1);
    expect(w.stats().store.counters.deletes - before).toBe(1);
    w.put('late', 150, 'x'); // 150 <= 250 - 100: dropped
    w.put('live', 151, 'y');
    expect(entries(w.all())).toEqual(['live@151=y']);
    await w.close();
    // The keys are gone from the Store itself, not only hidden by the reads.
    const plain = await Store.open({ path });
    const left = [...plain.all()].map(([k]) => k);
    expect(left.filter((k) => k[0] === 0).length).toBe(1); // the window at 151
    await plain.close();
    const again = await open({ path });
    expect(again.streamTime).toBe(250);
    again.put('late', 150, 'x');
    expect(again.stats()).toMatchObject({ expiredDropped: 1, retentionDeletes: 0 });
    expect(entries(again.all())).toEqual(['live@151=y']);
    await again.close();
  });

  it('open drops expired windows a crash left between a put and its range tombstone', async () => {
    const path = tempDir();
    const w = await open({ path });
    w.put('a', 10, 'x');
    w.put('b', 70, 'y');
    await w.close();
    // The crash image: the stream time that the last put wrote (atomically with its window),
    // without the range tombstone that was to follow it.
    const plain = await Store.open({ path });
    plain.putAll([[windowKey(3, codecs.utf8.encode('c'), 160), codecs.utf8.encode('z')], [META_STREAM_TIME, encodeU64(160)]]);
    await plain.close();
    const again = await open({ path });
    expect(again.stats()).toMatchObject({ streamTime: 160, retentionDeletes: 1, firstLiveSegment: 1 });
    expect(entries(again.all())).toEqual(['b@70=y', 'c@160=z']);
    await again.close();
    const check = await Store.open({ path });
    expect([...check.range(new Uint8Array(8), windowKey(1, new Uint8Array(0), 0))]).toEqual([]);
    await check.close();
  });
});

describe('WindowStore: retainDuplicates', () => {
  it('keeps every put of a window in put order, across a reopen; a null put is ignored; fetch of one window is the last', async () => {
    const path = tempDir();
    const w = await open({ path, retainDuplicates: true });
    w.put('k', 10, 'a'); w.put('k', 10, 'b'); w.put('k', 20, 'c');
    w.put('k', 10, null);
    await w.close();
    const again = await open({ path, retainDuplicates: true });
    again.put('k', 10, 'd');
    expect(times(again.fetch('k', 0, 100))).toEqual(['10=a', '10=b', '10=d', '20=c']);
    expect(times(again.backwardFetch('k', 0, 100))).toEqual(['20=c', '10=d', '10=b', '10=a']);
    expect(again.fetch('k', 10)).toBe('d');
    await again.close();
  });
});

describe('WindowStore: bad input is INVALID_ARGUMENT and changes nothing', () => {
  it('times, keys and values', async () => {
    const w = await open();
    w.put('k', 10, 'v');
    for (const t of [-1, 1.5, NaN, Infinity, 2 ** 53, '10' as unknown as number]) expectCode(() => w.put('k', t, 'x'), 'INVALID_ARGUMENT');
    expectCode(() => w.put(3 as unknown as string, 10, 'x'), 'INVALID_ARGUMENT');
    expectCode(() => w.put('\uD800', 10, 'x'), 'INVALID_ARGUMENT');
    expectCode(() => w.put('k', 20, 5 as unknown as string), 'INVALID_ARGUMENT');
    expectCode(() => w.fetch('k', NaN, 10), 'INVALID_ARGUMENT');
    expectCode(() => w.fetch('k', 0, undefined as unknown as number), 'INVALID_ARGUMENT');
    expectCode(() => w.fetchAll(0, 1.5), 'INVALID_ARGUMENT');
    expectCode(() => w.advanceStreamTime(-5), 'INVALID_ARGUMENT');
    expectCode(() => w.put('x'.repeat(65_530), 10, 'v'), 'KEY_TOO_LARGE');
    expect(entries(w.all())).toEqual(['k@10=v']);
    expect(w.streamTime).toBe(10);
    w.put('k', 60, 'w');
    const open1 = w.fetch('k', 0, 100), open2 = w.all();
    await w.close();
    expectCode(() => open1.next(), 'CLOSED'); // iterators open at close fail, as a Store's do
    expectCode(() => open2.next(), 'CLOSED');
    expectCode(() => w.put('k', 10, 'v'), 'CLOSED');
    expectCode(() => w.fetch('k', 10), 'CLOSED');
  });

  it('options', async () => {
    const bad: Partial<WindowStoreOptions<string, string>>[] = [
      { windowMs: 0 }, { retentionMs: 5 }, { segmentMs: -1 }, { segmentMs: 0.5 }, { retainDuplicates: 1 as unknown as boolean },
      { retentionMs: 1_000_000, segmentMs: 100 }, { ttlMs: 5 } as object, { keyCodec: {} as never },
    ];
    for (const o of bad) await expect(open(o)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a directory keeps its layout: another segmentMs or retainDuplicates, or a store that is not a window store, is refused and left as it was', async () => {
    const path = tempDir();
    const w = await open({ path });
    w.put('k', 10, 'v');
    await w.close();
    await expect(open({ path, segmentMs: 40 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(open({ path, retainDuplicates: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const again = await open({ path, retentionMs: 200 }); // retention may change
    expect(entries(again.all())).toEqual(['k@10=v']);
    await again.close();
    const other = tempDir();
    const plain = await Store.open<string, string>({ path: other, ...utf8 });
    plain.put('user', 'x');
    await plain.close();
    await expect(open({ path: other })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const still = await Store.open<string, string>({ path: other, ...utf8 });
    expect([...still.all()]).toEqual([['user', 'x']]);
    await still.close();
  });
});

describe('WindowStore with a changelog', () => {
  it('retention reaches the changelog as range records; the changelog restores the windows and the stream time', async () => {
    const changelog = new MemoryChangelog();
    const w = await open({ changelog });
    w.put('a', 10, 'x'); w.put('b', 60, 'y'); w.put('c', 200, 'z');
    const want = entries(w.all());
    expect([...changelog.read(0)].some((r) => r.rangeEnd !== undefined)).toBe(true);
    await w.close();
    const restored = await open({ restoreFrom: changelog });
    expect(entries(restored.all())).toEqual(want);
    expect(restored.streamTime).toBe(200);
    await restored.close();
  });
});
