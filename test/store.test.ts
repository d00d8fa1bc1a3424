// Example-based checks of the Store API's semantics: absent vs empty, atomic batches,
// iterator and snapshot isolation across flushes and compactions, linear memory growth in
// the middle of an iteration, versions, the change hook, restore, and typed errors on bad
// input that leave the store intact.
import { describe, it, expect } from 'vitest';
import { Store, StrataError, codecs, type ChangeRecord } from 'strata-kv';

const enc = (s: string) => new TextEncoder().encode(s);
const TINY = { memtableBytes: 256, blockBytes: 64, runTargetBytes: 512, levelBaseBytes: 1024, level0CompactionTrigger: 2 };

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'no error';
}

async function codeOfAsync(fn: () => Promise<unknown>): Promise<string> {
  try { await fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'no error';
}

const pad = (i: number) => `k${String(i).padStart(6, '0')}`;

describe('reads and writes', () => {
  it('an empty value is a value; an absent key is undefined', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    s.put('', '');
    expect(s.get('')).toBe('');
    expect(s.has('')).toBe(true);
    expect(s.get('missing')).toBeUndefined();
    expect(s.has('missing')).toBe(false);
    s.delete('');
    expect(s.get('')).toBeUndefined();
    await s.close();
  });

  it('keeps unsigned byte order, a prefix first', async () => {
    const s = await Store.open();
    const keys = [[0xff], [0x00], [0x61, 0x00], [0x61], [], [0x80], [0x61, 0xff]].map((k) => new Uint8Array(k));
    for (const k of keys) s.put(k, k);
    const got = [...s.all()].map(([k]) => Buffer.from(k).toString('hex'));
    expect(got).toEqual(['', '00', '61', '6100', '61ff', '80', 'ff']);
    await s.close();
  });

  it('merges sources in byte order when keys share their first eight bytes or differ only by trailing zeros', async () => {
    // The merge compares cached 8-byte key prefixes (zero-padded) before whole keys.
    const s = await Store.open({ ...TINY, autoCompaction: false });
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
    const keys: Uint8Array[] = [];
    for (const head of [[], [0x61], [0x61, 0], [0x61, 0, 0, 0, 0, 0, 0, 0], [0x61, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]]) {
      for (const tail of [[], [0], [1], [0xff], [0, 0xff], [0x80, 1]]) keys.push(new Uint8Array([...head, ...tail]));
    }
    const distinct = [...new Map(keys.map((k) => [hex(k), k])).values()];
    // Each source (runs flushed in turns, then the memtable) gets every third key, so the
    // current source changes at almost every step, with equal prefixes side by side.
    for (let turn = 0; turn < 3; turn++) {
      distinct.forEach((k, i) => { if (i % 3 === turn) s.put(k, k); });
      if (turn < 2) await s.flush();
    }
    s.put(distinct[4], new Uint8Array([9])); // a newer version in the memtable shadows its run's
    const sorted = distinct.map(hex).sort((a, b) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
    expect([...s.all()].map(([k]) => hex(k))).toEqual(sorted);
    expect([...s.all({ reverse: true })].map(([k]) => hex(k))).toEqual([...sorted].reverse());
    expect(hex([...s.range(distinct[4], new Uint8Array([0xff]))].find(([k]) => hex(k) === hex(distinct[4]))![1])).toBe('09');
    expect(s.stats().runs).toBeGreaterThan(1);
    await s.close();
  });

  it('ranges are [from, to), reverse and limited', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY });
    for (let i = 0; i < 200; i++) s.put(pad(i), `v${i}`);
    expect([...s.range(pad(10), pad(15))].map(([k]) => k)).toEqual([10, 11, 12, 13, 14].map(pad));
    expect([...s.range(pad(10), pad(15), { reverse: true, limit: 2 })].map(([k]) => k)).toEqual([pad(14), pad(13)]);
    expect([...s.range(pad(15), pad(10))]).toEqual([]);
    expect([...s.all({ limit: 0 })]).toEqual([]);
    expect([...s.all({ reverse: true, limit: 1 })]).toEqual([[pad(199), 'v199']]);
    await s.close();
  });

  it('putAll, deleteAll and write apply whole or not at all', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    s.putAll([['a', '1'], ['b', '2'], ['a', '3']]);
    expect(s.get('a')).toBe('3');
    expect(s.getVersioned('a')?.version).toBe(3);
    expect(codeOf(() => s.putAll([['c', '1'], ['d', 7 as unknown as string]]))).toBe('INVALID_ARGUMENT');
    expect(s.has('c')).toBe(false);
    expect(codeOf(() => s.write([{ type: 'del', key: 'a' }, { type: 'put', key: 'x'.repeat(70_000), value: '' }]))).toBe('KEY_TOO_LARGE');
    expect(s.get('a')).toBe('3');
    s.write([{ type: 'del', key: 'a' }, { type: 'put', key: 'c', value: '9' }]);
    expect([...s.all()]).toEqual([['b', '2'], ['c', '9']]);
    s.deleteAll(['b', 'c', 'zz']);
    expect([...s.all()]).toEqual([]);
    expect(s.stats().sequence).toBe(8);
    await s.close();
  });

  it('getAll answers in the order asked, with undefined for the absent', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY });
    for (let i = 0; i < 100; i++) s.put(pad(i), String(i));
    expect(s.getAll([pad(5), 'nope', pad(99), pad(5)])).toEqual(['5', undefined, '99', '5']);
    expect(s.getAll([])).toEqual([]);
    await s.close();
  });
});

describe('isolation', () => {
  it('an iterator sees the store as of its creation across writes, flushes and compactions', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY });
    for (let i = 0; i < 300; i++) s.put(pad(i), `old${i}`);
    const it = s.all();
    const first = it.next();
    expect(first.value).toEqual([pad(0), 'old0']);
    for (let i = 0; i < 300; i++) { if (i % 2) s.delete(pad(i)); else s.put(pad(i), `new${i}`); }
    s.put('zzz', 'later');
    await s.flush();
    await s.compact();
    const rest = [...it];
    expect(rest.length).toBe(299);
    expect(rest.every(([k, v], i) => k === pad(i + 1) && v === `old${i + 1}`)).toBe(true);
    expect(s.stats().iterators).toBe(0); // for…of to the end closed it
    await s.close();
  });

  it('a snapshot keeps its view until closed; compaction then drops what only it could see', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY });
    for (let i = 0; i < 100; i++) s.put(pad(i), 'v1');
    const snap = s.snapshot();
    for (let i = 0; i < 100; i++) s.put(pad(i), 'v2');
    s.deleteAll([pad(1), pad(2)]);
    await s.compact();
    expect(snap.get(pad(1))).toBe('v1');
    expect(snap.has(pad(2))).toBe(true);
    expect([...snap.range(pad(0), pad(3))].map(([, v]) => v)).toEqual(['v1', 'v1', 'v1']);
    expect(s.get(pad(0))).toBe('v2');
    expect(s.has(pad(1))).toBe(false);
    const withSnapshot = s.stats().levels.reduce((n, l) => n + l.entries, 0);
    snap.close();
    expect(codeOf(() => snap.get(pad(0)))).toBe('CLOSED');
    await s.compact();
    const without = s.stats().levels.reduce((n, l) => n + l.entries, 0);
    expect(withSnapshot).toBeGreaterThanOrEqual(200);
    expect(without).toBe(98);
    await s.close();
  });

  it('reads stay right while linear memory grows under an open iterator', async () => {
    // A cap of 256 MiB: past 8 MiB the engine grows its memory to a quarter of it at once
    // (engine/memory-reserve.ts), and the 96 MiB below take it past that too.
    const s = await Store.open({ memtableBytes: 1 << 20, maxMemoryBytes: 256 << 20 });
    for (let i = 0; i < 50; i++) s.put(enc(pad(i)), new Uint8Array(1000).fill(i));
    const it = s.all();
    expect(it.next().value![1][0]).toBe(0);
    const before = s.stats().memoryBytes;
    // 96 MiB of new values forces memory.grow while `it` holds pointers.
    for (let i = 0; i < 96; i++) s.put(enc(`big${i}`), new Uint8Array(1 << 20).fill(i));
    expect(before).toBeLessThan(8 << 20);
    expect(s.stats().memoryBytes).toBeGreaterThan(before);
    let n = 1;
    for (const [k, v] of it) {
      expect(new TextDecoder().decode(k)).toBe(pad(n));
      expect(v.length).toBe(1000);
      expect(v[999]).toBe(n);
      n++;
    }
    expect(n).toBe(50);
    expect(s.get(enc('big95'))![12345]).toBe(95);
    await s.close();
  });
});

describe('versions', () => {
  it('the version is the sequence of the last write; 0 means absent', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    expect(s.putIfVersion('a', 'x', 1)).toBe(false);
    expect(s.putIfVersion('a', 'x', 0)).toBe(true);
    expect(s.getVersioned('a')).toEqual({ value: 'x', version: 1 });
    s.put('b', 'y');
    expect(s.putIfVersion('a', 'z', 1)).toBe(true);
    expect(s.getVersioned('a')).toEqual({ value: 'z', version: 3 });
    expect(s.deleteIfVersion('a', 1)).toBe(false);
    expect(s.deleteIfVersion('a', 3)).toBe(true);
    expect(s.getVersioned('a')).toBeUndefined();
    expect(s.putIfVersion('a', 'again', 0)).toBe(true);
    await s.close();
  });
});

describe('change hook and restore', () => {
  it('one atomic write gives one array of records in commit order, tombstones as null', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const seen: ChangeRecord[][] = [];
    const off = s.onChange((r) => seen.push(r));
    s.put('a', '1');
    s.write([{ type: 'put', key: 'b', value: '2' }, { type: 'del', key: 'a' }]);
    expect(s.putIfVersion('b', '3', 99)).toBe(false);
    off();
    s.put('c', 'unseen');
    expect(seen.map((batch) => batch.map((r) => [r.partition, r.seq, Buffer.from(r.key).toString(), r.value && Buffer.from(r.value).toString()])))
      .toEqual([[[0, 1, 'a', '1']], [[0, 2, 'b', '2'], [0, 3, 'a', null]]]);
    await s.close();
  });

  it('a throwing listener: the write is committed and returns; the error goes to onListenerError and is counted', async () => {
    const failures: unknown[] = [];
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8,
      onListenerError: (err, records) => failures.push([err, records.length]) });
    const seen: number[] = [];
    s.onChange(() => { throw new Error('listener broke'); });
    s.onChange(() => { throw undefined; }); // eslint-disable-line no-throw-literal
    s.onChange((r) => seen.push(r.length)); // later listeners still hear of it
    s.put('a', '1');
    s.putAll([['b', '2'], ['c', '3']]);
    expect(s.get('a')).toBe('1');
    expect(seen).toEqual([1, 2]);
    expect(failures.length).toBe(4);
    expect((failures[0] as [Error])[0].message).toBe('listener broke');
    expect(failures[1]).toEqual([undefined, 1]);
    expect(s.stats().counters.listenerErrors).toBe(4);
    await s.close();
  });

  it('restore of the change records gives the same keys, values and versions; later writes go above', async () => {
    const src = await Store.open({ ...TINY });
    const log: ChangeRecord[] = [];
    src.onChange((r) => log.push(...r));
    for (let i = 0; i < 500; i++) {
      if (i % 7 === 3) src.delete(enc(pad(i - 2)));
      else src.put(enc(pad(i % 120)), enc(`v${i}`));
    }
    const dst = await Store.open({ ...TINY });
    const progress: number[] = [];
    const res = await dst.restore(log, { onProgress: (p) => progress.push(p.records) });
    expect(res.records).toBe(log.length);
    expect(res.applied).toBe(log.length);
    const dump = (s: Store) => [...s.all()].map(([k]) => [Buffer.from(k).toString(), s.getVersioned(k)!.version, Buffer.from(s.get(k)!).toString()]);
    expect(dump(dst)).toEqual(dump(src));
    expect(progress.at(-1)).toBe(log.length);
    // A replayed overlapping tail changes nothing.
    expect((await dst.restore(log.slice(-50))).applied).toBe(0);
    dst.put(enc('new'), enc('x'));
    expect(dst.getVersioned(enc('new'))!.version).toBe(src.stats().sequence + 1);
    await src.close();
    await dst.close();
  });

  it('restore takes async sources and rejects records out of order without applying them', async () => {
    const s = await Store.open();
    async function* gen() { for (let i = 1; i <= 3; i++) yield { partition: 0, seq: i, key: enc(`k${i}`), value: i === 2 ? null : enc('v') }; }
    expect((await s.restore(gen())).applied).toBe(3);
    expect(s.has(enc('k2'))).toBe(false);
    const bad = [{ partition: 0, seq: 10, key: enc('a'), value: enc('1') }, { partition: 0, seq: 9, key: enc('b'), value: enc('2') }];
    expect(await codeOfAsync(() => s.restore(bad))).toBe('INVALID_ARGUMENT');
    expect(s.has(enc('a'))).toBe(false);
    expect(await codeOfAsync(() => s.restore([{ partition: 0, seq: 1.5, key: enc('a'), value: null }]))).toBe('INVALID_ARGUMENT');
    expect(await codeOfAsync(() => s.restore(42 as never))).toBe('INVALID_ARGUMENT');
    await s.close();
  });
});

describe('bad input gives a typed error and leaves the store intact', () => {
  it('limits, types, closed iterators and closed stores', async () => {
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, ...TINY });
    for (let i = 0; i < 50; i++) s.put(pad(i), new Uint8Array([i]));
    expect(codeOf(() => s.put('k'.repeat(65_536), new Uint8Array(0)))).toBe('KEY_TOO_LARGE');
    expect(codeOf(() => s.get('k'.repeat(65_536)))).toBe('KEY_TOO_LARGE');
    expect(codeOf(() => s.put('big', new Uint8Array(64 * 1024 * 1024 + 1)))).toBe('VALUE_TOO_LARGE');
    expect(codeOf(() => s.put(17 as unknown as string, new Uint8Array(0)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.put('a', 'not bytes' as unknown as Uint8Array))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.putIfVersion('a', new Uint8Array(0), 1.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.range(pad(0), pad(9), { limit: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.putAll(null as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => s.onChange('x' as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOfAsync(() => Store.open({ memtableBytes: -1 }))).toBe('INVALID_ARGUMENT');

    const it = s.all();
    it.next();
    it.close();
    expect(codeOf(() => it.next())).toBe('ITERATOR_CLOSED');
    it.close(); // closing twice is harmless

    expect([...s.all()].length).toBe(50);
    expect(s.get(pad(7))).toEqual(new Uint8Array([7]));
    expect(s.stats().counters.puts).toBe(50);

    const open = s.all();
    const snap = s.snapshot();
    await s.close();
    for (const fn of [() => s.get('a'), () => s.put('a', new Uint8Array(0)), () => s.all(), () => s.stats(), () => snap.get('a'), () => open.next()]) {
      expect(codeOf(fn)).toBe('CLOSED');
    }
    expect(await codeOfAsync(() => s.flush())).toBe('CLOSED');
    await s.close(); // closing twice is harmless
  });

  it('a full memory budget gives OUT_OF_MEMORY, changes nothing, and reads keep working', async () => {
    const s = await Store.open({ maxMemoryBytes: 8 << 20, memtableBytes: 1 << 20 });
    let written = 0;
    let code = '';
    try {
      for (; written < 10_000; written++) s.put(enc(pad(written)), new Uint8Array(4096).fill(written & 0xff));
    } catch (err) { code = (err as StrataError).code; }
    expect(code).toBe('OUT_OF_MEMORY');
    expect(written).toBeGreaterThan(100);
    // Every acknowledged write is there and the refused one is not.
    const stats = s.stats();
    expect(stats.counters.puts).toBe(written);
    expect(stats.sequence).toBe(written);
    expect([...s.all()].length).toBe(written);
    expect(s.get(enc(pad(written - 1)))![4095]).toBe((written - 1) & 0xff);
    expect(s.has(enc(pad(written)))).toBe(false);
    expect(stats.engineBytes).toBeLessThanOrEqual(8 << 20);
    await s.close();
  });
});
