// range({ gt, gte, lt, lte, reverse, limit }) and prefixScan(prefix), on Store, Snapshot and
// PartitionedStore, by example: open ends, the edges of the key space (the empty key,
// MAX_KEY_BYTES keys, 0xff prefixes), the rule that tells range's two forms apart, and bad
// bounds (INVALID_ARGUMENT or KEY_TOO_LARGE, the store unchanged). test/range-bounds.model.test.ts
// checks the same against a sorted-map model with random bounds.
import { describe, it, expect } from 'vitest';
import { Store, PartitionedStore, Standby, MemoryChangelog, StrataError, MAX_KEY_BYTES, codecs } from 'strata-kv';

const u = (...b: number[]) => new Uint8Array(b);
const keysOf = (it: Iterable<[string, unknown]>) => [...it].map(([k]) => k);
const codeOf = (fn: () => unknown): string => {
  try { fn(); return 'no error'; } catch (err) { return err instanceof StrataError ? err.code : String(err); }
};

async function utf8Store(keys: string[]): Promise<Store<string, string>> {
  const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
  s.putAll(keys.map((k) => [k, `v${k}`]));
  return s;
}

describe('range(bounds)', () => {
  const KEYS = ['', 'a', 'b', 'ba', 'c', 'd'];

  it('inclusive, exclusive and open ends, both directions, with a limit', async () => {
    const s = await utf8Store(KEYS);
    expect(keysOf(s.range({ gte: 'b', lte: 'c' }))).toEqual(['b', 'ba', 'c']);
    expect(keysOf(s.range({ gt: 'b', lt: 'c' }))).toEqual(['ba']);
    expect(keysOf(s.range({ gt: 'b', lte: 'c', reverse: true }))).toEqual(['c', 'ba']);
    expect(keysOf(s.range({ gte: 'b' }))).toEqual(['b', 'ba', 'c', 'd']);
    expect(keysOf(s.range({ lt: 'b' }))).toEqual(['', 'a']);
    expect(keysOf(s.range({ lte: 'b', reverse: true, limit: 2 }))).toEqual(['b', 'a']);
    expect(keysOf(s.range({}))).toEqual(KEYS);
    expect(keysOf(s.range({ gt: '' }))).toEqual(KEYS.slice(1));
    expect(keysOf(s.range({ gte: 'c', lte: 'b' }))).toEqual([]);
    expect(keysOf(s.range({ gt: 'b', lt: 'b' }))).toEqual([]);
    expect(keysOf(s.range({ gt: undefined, lte: 'a' }))).toEqual(['', 'a']); // undefined: that end open
    // The [from, to) form is unchanged.
    expect(keysOf(s.range('b', 'c', { reverse: true }))).toEqual(['ba', 'b']);
    await s.close();
  });

  it('bounds at the edges of the key space: MAX_KEY_BYTES keys and their successors', async () => {
    const s = await Store.open();
    const top = new Uint8Array(MAX_KEY_BYTES).fill(0xff);
    const nearTop = top.slice(); nearTop[MAX_KEY_BYTES - 1] = 0xfe;
    const keys = [u(), u(0), u(0xff), nearTop, top];
    s.putAll(keys.map((k) => [k, u(1)]));
    const got = (it: Iterable<[Uint8Array, Uint8Array]>) => [...it].map(([k]) => k.length);
    expect(got(s.range({ gt: nearTop }))).toEqual([MAX_KEY_BYTES]); // the successor of a longest key is shorter
    expect(got(s.range({ gt: top }))).toEqual([]); // nothing is above the largest key
    expect(got(s.range({ lte: top }))).toEqual([0, 1, 1, MAX_KEY_BYTES, MAX_KEY_BYTES]);
    expect(got(s.range({ lte: nearTop, reverse: true }))).toEqual([MAX_KEY_BYTES, 1, 1, 0]);
    expect(got(s.range({ gte: top, lte: top }))).toEqual([MAX_KEY_BYTES]);
    expect(got(s.range({ gt: u(), lt: u(0xff) }))).toEqual([1]);
    await s.close();
  });

  it('bad bounds are INVALID_ARGUMENT or KEY_TOO_LARGE and change nothing', async () => {
    const s = await utf8Store(KEYS);
    const before = [...s.all()];
    const bad: [() => unknown, string][] = [
      [() => s.range({ gt: 'a', gte: 'a' }), 'INVALID_ARGUMENT'],
      [() => s.range({ lt: 'a', lte: 'a' }), 'INVALID_ARGUMENT'],
      [() => s.range({ gte: 'a', to: 'b' } as never), 'INVALID_ARGUMENT'], // an unknown name
      [() => s.range({ gte: 5 } as never), 'INVALID_ARGUMENT'], // not a key of this codec
      [() => s.range({ gte: '\uD800' }), 'INVALID_ARGUMENT'], // a lone surrogate has no UTF-8
      [() => s.range({ lt: 'x'.repeat(MAX_KEY_BYTES + 1) }), 'KEY_TOO_LARGE'],
      [() => s.range({ limit: -1 }), 'INVALID_ARGUMENT'],
      [() => s.range({ reverse: 'yes' } as never), 'INVALID_ARGUMENT'],
      [() => s.range({ gte: 'a' } as never, undefined as never, { limit: 1 }), 'INVALID_ARGUMENT'],
      [() => s.range('a' as never), 'INVALID_ARGUMENT'], // a lone key is not a bounds object
      [() => s.range(null as never), 'INVALID_ARGUMENT'],
      [() => s.prefixScan('x'.repeat(MAX_KEY_BYTES + 1)), 'KEY_TOO_LARGE'],
      [() => s.prefixScan(7 as never), 'INVALID_ARGUMENT'],
      [() => s.prefixScan('a', { limit: 1.5 }), 'INVALID_ARGUMENT'],
    ];
    expect(bad.map(([fn]) => codeOf(fn))).toEqual(bad.map(([, code]) => code));
    expect(s.stats().iterators).toBe(0); // none was left open
    expect([...s.all()]).toEqual(before);
    s.put('z', 'still writable');
    expect(s.get('z')).toBe('still writable');
    await s.close();
  });

  it('object keys (codecs.json): two arguments are always [from, to); one is bounds, whose values are keys', async () => {
    const s = await Store.open<any, number>({ keyCodec: codecs.json, valueCodec: codecs.json });
    // Keys that look like bounds objects.
    s.put({ gt: 1 }, 1);
    s.put({ gt: 2 }, 2);
    s.put({ lt: 3 }, 3);
    const keys = (it: Iterable<[any, number]>) => [...it].map(([k]) => JSON.stringify(k));
    expect(keys(s.range({ gt: 1 }, { gt: 2 }))).toEqual(['{"gt":1}']); // [from, to)
    expect(keys(s.range({ gte: { gt: 1 }, lte: { gt: 2 } }))).toEqual(['{"gt":1}', '{"gt":2}']);
    // A lone object key passed by mistake is refused unless its only names are bound names;
    // `range({ gt: 1 })` means "keys above the key 1" (here: every object key, as '{' > '1').
    expect(codeOf(() => s.range({ user: 1 } as never))).toBe('INVALID_ARGUMENT');
    expect(keys(s.range({ gt: 1 }))).toEqual(['{"gt":1}', '{"gt":2}', '{"lt":3}']);
    await s.close();
  });
});

describe('prefixScan', () => {
  it('matches encoded key bytes: utf8 prefixes, the empty prefix, 0xff prefixes', async () => {
    const s = await utf8Store(['a', 'ab', 'abc', 'abd', 'ac', 'b']);
    expect(keysOf(s.prefixScan('ab'))).toEqual(['ab', 'abc', 'abd']);
    expect(keysOf(s.prefixScan('ab', { reverse: true, limit: 2 }))).toEqual(['abd', 'abc']);
    expect(keysOf(s.prefixScan(''))).toEqual(['a', 'ab', 'abc', 'abd', 'ac', 'b']);
    expect(keysOf(s.prefixScan('abz'))).toEqual([]);
    await s.close();

    const b = await Store.open();
    const keys = [u(0xfe), u(0xfe, 0xff), u(0xff), u(0xff, 0), u(0xff, 0xff), u(0xff, 0xff, 1)];
    b.putAll(keys.map((k) => [k, u()]));
    const hex = (it: Iterable<[Uint8Array, Uint8Array]>) => [...it].map(([k]) => Buffer.from(k).toString('hex'));
    expect(hex(b.prefixScan(u(0xff)))).toEqual(['ff', 'ff00', 'ffff', 'ffff01']); // no upper bound
    expect(hex(b.prefixScan(u(0xfe)))).toEqual(['fe', 'feff']); // up to 0xff, excluded
    expect(hex(b.prefixScan(u(0xff, 0xff)))).toEqual(['ffff', 'ffff01']);
    await b.close();
  });

  it('JSON keys: the prefix is a whole encoded key, so a string prefix matches only itself', async () => {
    const s = await Store.open<any, number>({ keyCodec: codecs.json, valueCodec: codecs.json });
    s.putAll([['ab', 1], ['abc', 2], [['ab', 1], 3]]);
    expect([...s.prefixScan('ab')].map(([k]) => k)).toEqual(['ab']); // '"ab"' is not a prefix of '"abc"'
    await s.close();
  });
});

describe('Snapshot and PartitionedStore', () => {
  it('a snapshot ranges and prefix-scans as of its creation', async () => {
    const s = await utf8Store(['a', 'ab', 'b']);
    const snap = s.snapshot();
    s.put('aa', 'later');
    s.delete('ab');
    expect(keysOf(snap.range({ gte: 'a', lt: 'b' }))).toEqual(['a', 'ab']);
    expect(keysOf(snap.prefixScan('a'))).toEqual(['a', 'ab']);
    expect(keysOf(s.prefixScan('a'))).toEqual(['a', 'aa']);
    snap.close();
    expect(codeOf(() => snap.prefixScan('a'))).toBe('CLOSED');
    await s.close();
  });

  it('a partitioned store merges its partitions in key order, for bounds and prefixes', async () => {
    const p = await PartitionedStore.open<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const keys = Array.from({ length: 60 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    p.putAll(keys.map((k) => [k, k]));
    expect(new Set(keys.map((k) => p.partitionFor(k))).size).toBe(4);
    expect(keysOf(p.prefixScan('k1'))).toEqual(keys.slice(10, 20));
    expect(keysOf(p.prefixScan('k1', { reverse: true, limit: 3 }))).toEqual(['k19', 'k18', 'k17']);
    expect(keysOf(p.range({ gt: 'k05', lte: 'k12' }))).toEqual(keys.slice(6, 13));
    expect(keysOf(p.range({ lt: 'k03', reverse: true }))).toEqual(['k02', 'k01', 'k00']);
    const snap = p.snapshot();
    p.put('k105', 'later');
    expect(keysOf(snap.prefixScan('k10'))).toEqual(['k10']);
    expect(keysOf(snap.range({ gte: 'k58' }))).toEqual(['k58', 'k59']);
    snap.close();
    expect(codeOf(() => p.range({ gt: 'a', gte: 'a' }))).toBe('INVALID_ARGUMENT');
    await p.close();
  });

  it("a standby's live view has both forms of range and prefixScan", async () => {
    const log = new MemoryChangelog();
    const owner = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: log });
    owner.putAll([['a', '1'], ['ab', '2'], ['b', '3']]);
    const standby = await Standby.follow<string, string>({ source: log, partition: 0, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    await standby.caughtUp();
    expect(keysOf(standby.store.prefixScan('a'))).toEqual(['a', 'ab']);
    expect(keysOf(standby.store.range({ gt: 'a' }))).toEqual(['ab', 'b']);
    expect(keysOf(standby.store.range('a', 'b'))).toEqual(['a', 'ab']);
    await standby.close();
    await owner.close();
  });
});
