// PartitionedStore: examples of routing, merged order, per-partition atomicity, snapshots,
// the changelog and restore; then a model-based property: on any sequence of operations a
// PartitionedStore behaves like PartitionedModel (one SortedModel per partition, keys routed
// by kafkaPartition, reads merged in byte order) and returns what a single Store given the
// same operations returns. Memtables of 512 bytes make flushes and compactions constant.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import {
  PartitionedStore, Store, StrataError, codecs, kafkaPartition,
  type ChangeRecord, type ChangelogSink, type Codec, type KeyValueIterator, type Snapshot,
} from 'strata-kv';
import { SortedModel, hex, unhex } from './support/model.js';
import { copyCrashImage } from './support/crash-image.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const TINY = { memtableBytes: 512, blockBytes: 128, level0CompactionTrigger: 2 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    return (err as StrataError).code;
  }
  return undefined;
}

async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    return (err as StrataError).code;
  }
  return undefined;
}

/** Opens a store, runs `body`, and closes it whatever happens. */
async function withStore<K, V>(options: Parameters<typeof PartitionedStore.open<K, V>>[0],
                               body: (s: PartitionedStore<K, V>) => Promise<void> | void): Promise<void> {
  const s = await PartitionedStore.open<K, V>(options);
  try { await body(s); } finally { await s.close(); }
}

// ---- examples ------------------------------------------------------------------------------

describe('PartitionedStore.open', () => {
  it.each([[0], [-1], [1.5], [NaN], [4097], ['4'], [undefined]])('rejects partitions = %j', async (partitions) => {
    expect(await asyncCodeOf(() => PartitionedStore.open({ partitions } as never))).toBe('INVALID_ARGUMENT');
  });

  it('rejects a partition option (it numbers partitions itself) and bad sinks', async () => {
    expect(await asyncCodeOf(() => PartitionedStore.open({ partitions: 2, partition: 1 }))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(() => PartitionedStore.open({ partitions: 2, changelog: {} as ChangelogSink }))).toBe('INVALID_ARGUMENT');
    expect(await asyncCodeOf(() => PartitionedStore.open({ partitions: 2, memtableBytes: 1 }))).toBe('INVALID_ARGUMENT');
  });

  it('partition(i) accepts exactly 0..n-1', () => withStore({ partitions: 3 }, (s) => {
    expect(s.partitions).toBe(3);
    expect(s.partition(2)).toBeInstanceOf(Store);
    for (const bad of [-1, 3, 1.5, '0']) expect(codeOf(() => s.partition(bad as number))).toBe('INVALID_ARGUMENT');
  }));
});

describe('routing', () => {
  it('puts each key in kafkaPartition(encoded key, n), the partition its change records name', () =>
    withStore<string, string>({ partitions: 6, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      const records: ChangeRecord[] = [];
      s.onChange((rs) => records.push(...rs));
      const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
      for (const k of keys) s.put(k, k.toUpperCase());
      for (const [i, k] of keys.entries()) {
        const p = kafkaPartition(utf8(k), 6);
        expect(s.partitionFor(k)).toBe(p);
        expect(s.partition(p).get(k)).toBe(k.toUpperCase());
        for (let q = 0; q < 6; q++) if (q !== p) expect(s.partition(q).has(k)).toBe(false);
        expect(records[i].partition).toBe(p);
        expect(records[i].seq).toBe(s.getVersioned(k)!.version);
      }
      // Every partition got some of 300 keys: the hash spreads them.
      for (let q = 0; q < 6; q++) expect(s.partition(q).stats().counters.puts).toBeGreaterThan(0);
    }));

  it('agrees with kafkajs (a Kafka producer) on where a key goes', () =>
    withStore<string, string>({ partitions: 12, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      const require = createRequire(import.meta.url);
      const { Partitioners } = require('kafkajs') as { Partitioners: { DefaultPartitioner: () => (a: object) => number } };
      const partitioner = Partitioners.DefaultPartitioner();
      const partitionMetadata = Array.from({ length: 12 }, (_, i) => ({ partitionId: i, leader: 0 }));
      for (const k of ['', 'a', 'order-1', 'é☃𝄞', 'x'.repeat(1000)]) {
        expect(s.partitionFor(k)).toBe(partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(k) } }));
      }
    }));

  it('getAll answers in input order across partitions, duplicates and absent keys included', () =>
    withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      for (const k of ['a', 'b', 'c', 'd', 'e']) s.put(k, k + k);
      expect(s.getAll(['e', 'x', 'a', 'c', 'a', 'b', ''])).toEqual(['ee', undefined, 'aa', 'cc', 'aa', 'bb', undefined]);
      expect(s.getAll([])).toEqual([]);
      expect(codeOf(() => s.getAll('a' as never))).toBe('INVALID_ARGUMENT');
    }));

  it('versions are per partition, and putIfVersion/deleteIfVersion route like put', () =>
    withStore<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      expect(s.putIfVersion('k', 'v1', 0)).toBe(true);
      const v1 = s.getVersioned('k')!.version;
      expect(s.partition(s.partitionFor('k')).getVersioned('k')!.version).toBe(v1);
      expect(s.putIfVersion('k', 'v2', 0)).toBe(false);
      expect(s.putIfVersion('k', 'v2', v1)).toBe(true);
      expect(s.deleteIfVersion('k', v1)).toBe(false);
      expect(s.deleteIfVersion('k', s.getVersioned('k')!.version)).toBe(true);
      expect(s.get('k')).toBeUndefined();
    }));
});

describe('merged iteration', () => {
  it('all/range follow the global unsigned byte order of encoded keys (uint32: numeric)', () =>
    withStore<number, string>({ partitions: 5, keyCodec: codecs.uint32, valueCodec: codecs.utf8, ...TINY }, async (s) => {
      const keys = [0, 1, 2, 255, 256, 1000, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
      s.putAll(keys.map((k) => [k, `v${k}`] as const));
      await s.flush();
      s.put(7, 'v7'); // one key in a memtable, the rest in runs
      const sorted = [...keys, 7].sort((a, b) => a - b);
      expect([...s.all()].map(([k]) => k)).toEqual(sorted);
      expect([...s.all({ reverse: true })].map(([k]) => k)).toEqual([...sorted].reverse());
      expect([...s.all({ limit: 3 })].map(([k]) => k)).toEqual(sorted.slice(0, 3));
      expect([...s.all({ reverse: true, limit: 2 })].map(([k]) => k)).toEqual([2 ** 32 - 1, 2 ** 31]);
      expect([...s.range(2, 65536)].map(([k]) => k)).toEqual([2, 7, 255, 256, 1000, 65535]);
      expect([...s.range(2, 65536, { reverse: true, limit: 4 })].map(([k]) => k)).toEqual([65535, 1000, 256, 255]);
      expect([...s.range(1000, 1000)]).toEqual([]);
      expect([...s.range(1000, 2)]).toEqual([]);
      expect([...s.all({ limit: 0 })]).toEqual([]);
    }));

  it('orders UTF-8 keys by their bytes, not by UTF-16 code units', () =>
    withStore<string, number>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.json }, (s) => {
      const keys = ['\uFFFF', '𝄞', 'a', 'é', ''];
      keys.forEach((k, i) => { s.put(k, i); });
      const byBytes = [...keys].sort((a, b) => Buffer.compare(utf8(a), utf8(b)));
      expect(byBytes).not.toEqual([...keys].sort()); // the two orders differ on these keys
      expect([...s.all()].map(([k]) => k)).toEqual(byBytes);
    }));

  it('sees the store as of its creation and releases every partition iterator on break, close or the end', () =>
    withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY }, (s) => {
      for (let i = 0; i < 40; i++) s.put(`k${String(i).padStart(2, '0')}`, 'old');
      const it = s.all();
      const first = it.next().value!;
      s.put('k00', 'new');
      s.delete('k39');
      s.put('k40', 'new');
      const rest = [...it];
      expect([first, ...rest].map(([k, v]) => `${k}=${v}`)).toEqual(Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}=old`));
      expect(s.stats().iterators).toBe(0);

      for (const _ of s.all()) break;
      expect(s.stats().iterators).toBe(0);

      const open = s.range('k10', 'k20');
      expect(s.stats().iterators).toBe(4);
      open.close();
      open.close();
      expect(s.stats().iterators).toBe(0);
      expect(codeOf(() => open.next())).toBe('ITERATOR_CLOSED');

      const limited = s.all({ limit: 2 });
      limited.next();
      limited.next(); // the last entry the limit allows: nothing stays pinned
      expect(s.stats().iterators).toBe(0);
      expect(limited.next().done).toBe(true);
    }));

  it('bad range arguments fail before any partition iterator is opened', () =>
    withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      expect(codeOf(() => s.range('a', 7 as never))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.range('a', 'x'.repeat(70_000)))).toBe('KEY_TOO_LARGE');
      expect(codeOf(() => s.all({ limit: -1 }))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.all({ reverse: 'yes' as never }))).toBe('INVALID_ARGUMENT');
      expect(s.stats().iterators).toBe(0);
    }));
});

describe('batches', () => {
  it('putAll/write/deleteAll with one bad operation change nothing in any partition', () =>
    withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      s.putAll([['a', '1'], ['b', '2'], ['c', '3']]);
      const before = [...s.all()];
      let records = 0;
      s.onChange((rs) => { records += rs.length; });
      const many = (n: number) => Array.from({ length: n }, (_, i) => `key-${i}`);
      expect(codeOf(() => s.putAll([...many(20).map((k) => [k, 'v'] as const), ['z', 5 as never]]))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.putAll([['z', 'v'], ['x'.repeat(65_536), 'v']]))).toBe('KEY_TOO_LARGE');
      expect(codeOf(() => s.putAll([['z', 'v'], ['y'] as never]))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.deleteAll(['a', 'b', null as never]))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.write([{ type: 'del', key: 'a' }, { type: 'upsert', key: 'b' } as never]))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.write([{ type: 'put', key: 'q', value: 'v' }, null as never]))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => s.write(42 as never))).toBe('INVALID_ARGUMENT');
      expect([...s.all()]).toEqual(before);
      expect(records).toBe(0);
    }));

  it('a value over the size limit fails the whole batch with VALUE_TOO_LARGE', () =>
    withStore({ partitions: 3 }, (s) => {
      const k = (c: string) => utf8(c);
      const huge = new Uint8Array(64 * 1024 * 1024 + 1);
      expect(codeOf(() => s.putAll([[k('a'), k('1')], [k('b'), huge]]))).toBe('VALUE_TOO_LARGE');
      expect(codeOf(() => s.write([{ type: 'put', key: k('a'), value: k('1') }, { type: 'put', key: k('b'), value: huge }]))).toBe('VALUE_TOO_LARGE');
      expect([...s.all()]).toEqual([]);
    }));

  it('applies one atomic batch per partition: one record array per partition, in partition order', () =>
    withStore<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      const batches: ChangeRecord[][] = [];
      s.onChange((rs) => batches.push(rs));
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      s.write(keys.map((key, i) => (i % 3 === 0 ? { type: 'del' as const, key } : { type: 'put' as const, key, value: 'v' })));
      const touched = [...new Set(keys.map((k) => s.partitionFor(k)))].sort();
      expect(batches.map((b) => b[0].partition)).toEqual(touched);
      for (const b of batches) {
        const p = b[0].partition;
        const mine = keys.filter((k) => s.partitionFor(k) === p);
        expect(b.map((r) => new TextDecoder().decode(r.key))).toEqual(mine);
        expect(b.every((r) => r.partition === p)).toBe(true);
        expect(b.map((r) => r.seq)).toEqual(b.map((_, i) => b[0].seq + i)); // consecutive: one commit
        expect(b.map((r) => r.value === null)).toEqual(mine.map((k) => Number(k.slice(1)) % 3 === 0));
      }
    }));
});

describe('snapshots', () => {
  it('freeze every partition at one instant', () =>
    withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY }, async (s) => {
      for (let i = 0; i < 30; i++) s.put(`k${i}`, 'old');
      const snap = s.snapshot();
      expect(s.stats().snapshots).toBe(4);
      for (let i = 0; i < 30; i++) s.put(`k${i}`, 'new');
      s.deleteAll(['k1', 'k2']);
      await s.flush();
      await s.compact();
      expect(snap.get('k1')).toBe('old');
      expect(snap.has('k2')).toBe(true);
      expect([...snap.all()].every(([, v]) => v === 'old')).toBe(true);
      expect([...snap.all({ reverse: true, limit: 3 })].map(([k]) => k)).toEqual(['k9', 'k8', 'k7']);
      expect([...snap.range('k1', 'k2')].map(([k]) => k)).toEqual(['k1', 'k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16', 'k17', 'k18', 'k19']);
      expect(s.get('k1')).toBeUndefined();
      snap.close();
      snap.close();
      expect(s.stats().snapshots).toBe(0);
      expect(codeOf(() => snap.get('k1'))).toBe('CLOSED');
      expect(codeOf(() => snap.all())).toBe('CLOSED');
    }));
});

describe('changelog, stats and lifecycle', () => {
  it('shares one sink among the partitions: every record once, a flush per flush(), one close', async () => {
    const appended: ChangeRecord[] = [];
    let flushes = 0, closes = 0;
    const sink: ChangelogSink = {
      append: (rs) => { appended.push(...rs); },
      flush: async () => { flushes++; },
      close: async () => { closes++; },
    };
    const s = await PartitionedStore.open<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: sink });
    s.putAll(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'] as const));
    s.delete('k3');
    expect(appended.length).toBe(21);
    expect(appended.every((r) => r.partition === kafkaPartition(r.key, 4))).toBe(true);
    await s.flush();
    expect(flushes).toBe(1);
    await s.close();
    await s.close();
    expect(closes).toBe(1);
  });

  it('onChange listens to every partition until unsubscribed', () =>
    withStore<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, (s) => {
      const seen: number[] = [];
      const off = s.onChange((rs) => seen.push(...rs.map((r) => r.partition)));
      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
      for (const k of keys) s.put(k, 'v');
      expect(seen).toEqual(keys.map((k) => s.partitionFor(k)));
      off();
      s.put('later', 'v');
      expect(seen.length).toBe(12);
      expect(codeOf(() => s.onChange('x' as never))).toBe('INVALID_ARGUMENT');
    }));

  it('stats() sums the partitions and lists each', () =>
    withStore<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY }, async (s) => {
      for (let i = 0; i < 100; i++) s.put(`key-${i}`, 'value-'.repeat(5));
      s.delete('key-1');
      await s.flush();
      const st = s.stats();
      expect(st.partitions.length).toBe(3);
      expect(st.counters.puts).toBe(100);
      expect(st.counters.deletes).toBe(1);
      expect(st.sequence).toBe(101);
      expect(st.runs).toBe(st.partitions.reduce((a, p) => a + p.runs, 0));
      expect(st.levels.map((l) => l.level)).toEqual(st.partitions[0].levels.map((l) => l.level));
      expect(st.levels.reduce((a, l) => a + l.bytes, 0)).toBe(st.runBytes);
      expect(st.writeAmplification).toBeGreaterThan(0);
    }));

  it('after close every call fails with CLOSED, and open iterators too', async () => {
    const s = await PartitionedStore.open<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    for (let i = 0; i < 10; i++) s.put(`k${i}`, 'v');
    const it = s.all();
    it.next();
    await s.close();
    for (const call of [() => s.get('k'), () => s.put('k', 'v'), () => s.putAll([]), () => s.all(), () => s.snapshot(),
      () => s.stats(), () => s.partitionFor('k'), () => s.getAll(['k'])]) expect(codeOf(call)).toBe('CLOSED');
    expect(codeOf(() => it.next())).toBe('CLOSED');
    expect(await asyncCodeOf(() => s.flush())).toBe('CLOSED');
    expect(await asyncCodeOf(() => s.restore([]))).toBe('CLOSED');
  });
});

describe('restore', () => {
  it('rebuilds the same keys, values and versions from the change records', async () => {
    const records: ChangeRecord[] = [];
    await withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY }, async (a) => {
      a.onChange((rs) => records.push(...rs));
      for (let i = 0; i < 200; i++) a.put(`k${i % 70}`, `v${i}`);
      a.deleteAll(['k1', 'k2', 'k3']);
      a.write([{ type: 'put', key: 'k1', value: 'back' }, { type: 'del', key: 'k5' }]);
      const expected = [...a.all()].map(([k, v]) => [k, v, a.getVersioned(k)!.version]);
      async function* slowly() { for (const r of records) { await null; yield r; } }
      await withStore<string, string>({ partitions: 4, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY }, async (b) => {
        expect(await b.restore(slowly())).toMatchObject({ records: records.length, applied: records.length });
        expect([...b.all()].map(([k, v]) => [k, v, b.getVersioned(k)!.version])).toEqual(expected);
        b.put('k1', 'after'); // versions continue above the restored ones
        expect(b.getVersioned('k1')!.version).toBeGreaterThan(a.getVersioned('k1')!.version);
      });
    });
  });

  it('refuses records tagged with a partition their key does not hash to, or out of range', () =>
    withStore({ partitions: 4 }, async (s) => {
      const key = utf8('k');
      const home = kafkaPartition(key, 4);
      const rec = (partition: number): ChangeRecord => ({ partition, seq: 1, key, value: utf8('v') });
      expect(await asyncCodeOf(() => s.restore([rec((home + 1) % 4)]))).toBe('INVALID_ARGUMENT');
      expect(await asyncCodeOf(() => s.restore([rec(4)]))).toBe('INVALID_ARGUMENT');
      expect(await asyncCodeOf(() => s.restore([rec(-1)]))).toBe('INVALID_ARGUMENT');
      expect(await asyncCodeOf(() => s.restore([{ ...rec(home), key: 'k' as never }]))).toBe('INVALID_ARGUMENT');
      expect(await asyncCodeOf(() => s.restore(7 as never))).toBe('INVALID_ARGUMENT');
      expect(s.has(key)).toBe(false);
      expect(await s.restore([rec(home)])).toMatchObject({ records: 1, applied: 1 });
      expect(s.getVersioned(key)).toEqual({ value: utf8('v'), version: 1 });
    }));
});

// ---- model-based property --------------------------------------------------------------------

/**
 * The model of a PartitionedStore: one SortedModel per partition (its own sequence counter
 * gives the versions), keys routed by kafkaPartition, whole-store reads merged and sorted.
 * Keys and values are held encoded; the flavor's codecs decode them for comparison.
 */
class PartitionedModel {
  constructor(readonly parts: SortedModel[]) {}
  static empty(n: number): PartitionedModel { return new PartitionedModel(Array.from({ length: n }, () => new SortedModel())); }
  clone(): PartitionedModel { return new PartitionedModel(this.parts.map((p) => p.clone())); }
  home(k: Uint8Array): number { return kafkaPartition(k, this.parts.length); }
  get(k: Uint8Array) { return this.parts[this.home(k)].get(k); }
  /** Applies ops in order; returns the change records, grouped per partition ascending. */
  apply(ops: ModelOp[]): ExpectedRecord[][] {
    const byPartition = new Map<number, ExpectedRecord[]>();
    for (const op of ops) {
      const p = this.home(op.k);
      const part = this.parts[p];
      if (op.v === undefined) part.delete(op.k); else part.put(op.k, op.v);
      if (!byPartition.has(p)) byPartition.set(p, []);
      byPartition.get(p)!.push({ partition: p, seq: part.seq, key: hex(op.k), value: op.v === undefined ? null : hex(op.v) });
    }
    return [...byPartition.keys()].sort((a, b) => a - b).map((p) => byPartition.get(p)!);
  }
  range(from?: Uint8Array, to?: Uint8Array, reverse = false, limit = Infinity): [Uint8Array, Uint8Array][] {
    const all = this.parts.flatMap((p) => p.range(from, to)).sort(([a], [b]) => Buffer.compare(a, b));
    if (reverse) all.reverse();
    return all.slice(0, limit);
  }
}
interface ModelOp { k: Uint8Array; v?: Uint8Array }
interface ExpectedRecord { partition: number; seq: number; key: string; value: string | null }

/** Key and value types, their codecs, a small key alphabet, and inputs the codecs refuse. */
interface Flavor<K, V> {
  name: string;
  keyCodec: Codec<K>;
  valueCodec: Codec<V>;
  keys: K[];
  value: fc.Arbitrary<V>;
  badKey: unknown;
  hugeKey: K;
  badValue: unknown;
}

const bytesFlavor: Flavor<Uint8Array, Uint8Array> = {
  name: 'bytes keys and values',
  keyCodec: codecs.bytes,
  valueCodec: codecs.bytes,
  // Prefixes of each other, the empty key, 0x00/0x7f/0x80/0xff edges (signed order would differ).
  keys: ['', '00', '0000', '00ff', '01', '61', '6162', '616263', '7f', '7f80', '80', 'ff', 'ff00', 'ffff'].map(unhex),
  value: fc.uint8Array({ maxLength: 40 }),
  badKey: 'not bytes',
  hugeKey: new Uint8Array(65_536),
  badValue: 42,
};

const textFlavor: Flavor<string, unknown> = {
  name: 'utf8 keys, json values',
  keyCodec: codecs.utf8,
  valueCodec: codecs.json,
  // UTF-8 byte order differs from UTF-16 order on '\uFFFF' vs '𝄞'.
  keys: ['', '\u0000', 'A', 'a', 'ab', 'b', 'z', 'é', 'éa', '☃', '\uFFFF', '𝄞', '𝄞a'],
  value: fc.jsonValue({ maxDepth: 2 }),
  badKey: 42,
  hugeKey: 'x'.repeat(65_536),
  badValue: 1n,
};

interface Real<K, V> {
  store: PartitionedStore<K, V>;
  /** A single Store given the same operations: every read must answer the same. */
  ref: Store<K, V>;
  batches: ChangeRecord[][];
  snapshots: { snap: Snapshot<K, V>; ref: Snapshot<K, V>; model: PartitionedModel }[];
}

function modelBased<K, V>(f: Flavor<K, V>, numRuns: number): void {
  type R = Real<K, V>;
  type Cmd = fc.AsyncCommand<PartitionedModel, R, false>;
  const enc = (k: K) => f.keyCodec.encode(k);
  const encV = (v: V) => f.valueCodec.encode(v);
  const decoded = (pairs: [Uint8Array, Uint8Array][]) => pairs.map(([k, v]) => [f.keyCodec.decode(k), f.valueCodec.decode(v)]);
  const list = (it: KeyValueIterator<K, V>) => [...it];
  const keyArb = fc.constantFrom(...f.keys);
  const opsArb = fc.array(fc.oneof(
    fc.record({ type: fc.constant('put' as const), key: keyArb, value: f.value }),
    fc.record({ type: fc.constant('del' as const), key: keyArb }),
  ), { maxLength: 12 });
  const rangeArb = fc.record({
    from: keyArb, to: keyArb,
    opts: fc.option(fc.record({ reverse: fc.boolean(), limit: fc.option(fc.nat(5), { nil: undefined }) }, { requiredKeys: [] }), { nil: undefined }),
  });

  const cmd = (name: string, run: (m: PartitionedModel, r: R) => void | Promise<void>,
               check: (m: PartitionedModel) => boolean = () => true): Cmd =>
    ({ check, run: async (m, r) => { await run(m, r); }, toString: () => name });

  /** Runs a write on both stores and checks the change records the model expects. */
  const writes = (m: PartitionedModel, r: R, ops: ModelOp[], run: (s: PartitionedStore<K, V> | Store<K, V>) => void) => {
    r.batches.length = 0;
    run(r.store);
    run(r.ref);
    const actual = r.batches.map((b) => b.map((x) => ({ partition: x.partition, seq: x.seq, key: hex(x.key), value: x.value && hex(x.value) })));
    expect(actual).toEqual(m.apply(ops));
  };

  const expectRead = <T>(m: T, real: T, ref: T) => { expect(real).toEqual(m); expect(ref).toEqual(m); };

  const commands = [
    fc.tuple(keyArb, f.value).map(([k, v]) => cmd(`put(${JSON.stringify(k)})`, (m, r) =>
      writes(m, r, [{ k: enc(k), v: encV(v) }], (s) => s.put(k, v)))),
    keyArb.map((k) => cmd(`delete(${JSON.stringify(k)})`, (m, r) => writes(m, r, [{ k: enc(k) }], (s) => s.delete(k)))),
    fc.array(fc.tuple(keyArb, f.value), { maxLength: 12 }).map((entries) => cmd(`putAll(${entries.length})`, (m, r) =>
      writes(m, r, entries.map(([k, v]) => ({ k: enc(k), v: encV(v) })), (s) => s.putAll(entries)))),
    fc.array(keyArb, { maxLength: 8 }).map((keys) => cmd(`deleteAll(${keys.length})`, (m, r) =>
      writes(m, r, keys.map((k) => ({ k: enc(k) })), (s) => s.deleteAll(keys)))),
    opsArb.map((ops) => cmd(`write(${ops.length})`, (m, r) =>
      writes(m, r, ops.map((o) => ({ k: enc(o.key), v: o.type === 'put' ? encV(o.value) : undefined })), (s) => s.write(ops)))),
    fc.tuple(keyArb, f.value, fc.boolean(), fc.boolean()).map(([k, v, del, right]) => cmd(`${del ? 'delete' : 'put'}IfVersion(${right})`, (m, r) => {
      const current = m.get(enc(k))?.version ?? 0;
      const expected = right ? current : current + 1;
      r.batches.length = 0;
      const ok = del ? r.store.deleteIfVersion(k, expected) : r.store.putIfVersion(k, v, expected);
      expect(ok).toBe(right);
      if (ok) {
        const want = m.apply([{ k: enc(k), v: del ? undefined : encV(v) }]);
        expect(r.batches.map((b) => b.map((x) => x.seq))).toEqual(want.map((b) => b.map((x) => x.seq)));
        if (del) r.ref.delete(k); else r.ref.put(k, v);
      } else {
        expect(r.batches).toEqual([]);
      }
    })),
    keyArb.map((k) => cmd(`get(${JSON.stringify(k)})`, (m, r) => {
      const e = m.get(enc(k));
      expectRead(e && f.valueCodec.decode(e.value), r.store.get(k), r.ref.get(k));
      expectRead(e !== undefined, r.store.has(k), r.ref.has(k));
      expect(r.store.getVersioned(k)).toEqual(e && { value: f.valueCodec.decode(e.value), version: e.version });
    })),
    fc.array(keyArb, { maxLength: 6 }).map((keys) => cmd(`getAll(${keys.length})`, (m, r) => {
      expectRead(keys.map((k) => { const e = m.get(enc(k)); return e && f.valueCodec.decode(e.value); }), r.store.getAll(keys), r.ref.getAll(keys));
    })),
    rangeArb.map(({ from, to, opts }) => cmd(`range(${JSON.stringify(from)}, ${JSON.stringify(to)}, ${JSON.stringify(opts)})`, (m, r) => {
      expectRead(decoded(m.range(enc(from), enc(to), opts?.reverse, opts?.limit)), list(r.store.range(from, to, opts)), list(r.ref.range(from, to, opts)));
    })),
    rangeArb.map(({ opts }) => cmd(`all(${JSON.stringify(opts)})`, (m, r) => {
      expectRead(decoded(m.range(undefined, undefined, opts?.reverse, opts?.limit)), list(r.store.all(opts)), list(r.ref.all(opts)));
    })),
    fc.tuple(keyArb, f.value, fc.boolean(), fc.nat(3)).map(([k, v, reverse, after]) => cmd(`iterate while writing ${JSON.stringify(k)}`, (m, r) => {
      const expected = decoded(m.range(undefined, undefined, reverse));
      const it = r.store.all({ reverse });
      const got: [K, V][] = [];
      for (let i = 0; i < after; i++) { const x = it.next(); if (!x.done) got.push(x.value); }
      writes(m, r, [{ k: enc(k), v: encV(v) }], (s) => s.put(k, v));
      got.push(...it);
      expect(got).toEqual(expected);
    })),
    fc.constant(cmd('snapshot', (m, r) => {
      r.snapshots.push({ snap: r.store.snapshot(), ref: r.ref.snapshot(), model: m.clone() });
    }, () => true)),
    fc.tuple(fc.nat(), rangeArb).map(([i, { from, to, opts }]) => cmd(`read snapshot ${i}`, (_m, r) => {
      if (r.snapshots.length === 0) return;
      const { snap, ref, model } = r.snapshots[i % r.snapshots.length];
      const e = model.get(enc(from));
      expectRead(e && f.valueCodec.decode(e.value), snap.get(from), ref.get(from));
      expectRead(e !== undefined, snap.has(from), ref.has(from));
      expectRead(decoded(model.range(enc(from), enc(to), opts?.reverse, opts?.limit)), list(snap.range(from, to, opts)), list(ref.range(from, to, opts)));
      expectRead(decoded(model.range(undefined, undefined, opts?.reverse, opts?.limit)), list(snap.all(opts)), list(ref.all(opts)));
    })),
    fc.nat().map((i) => cmd(`close snapshot ${i}`, (_m, r) => {
      if (r.snapshots.length === 0) return;
      const [s] = r.snapshots.splice(i % r.snapshots.length, 1);
      s.snap.close();
      s.ref.close();
    })),
    fc.constant(cmd('flush', async (_m, r) => { await r.store.flush(); })),
    fc.constant(cmd('compact', async (_m, r) => { await r.store.compact(); })),
    fc.tuple(fc.constantFrom('putAll', 'deleteAll', 'write'), fc.constantFrom('badKey', 'hugeKey', 'badValue', 'badShape'),
      opsArb, fc.nat()).map(([kind, bad, ops, at]) => cmd(`bad ${kind} (${bad})`, (_m, r) => {
      const code = bad === 'hugeKey' ? 'KEY_TOO_LARGE' : 'INVALID_ARGUMENT';
      const key = (bad === 'badKey' ? f.badKey : bad === 'hugeKey' ? f.hugeKey : f.keys[0]) as K;
      const value = (bad === 'badValue' ? f.badValue : ops.find((o) => o.type === 'put')?.value ?? f.keys[0]) as V;
      const insert = <T>(items: T[], item: T) => { const out = [...items]; out.splice(at % (items.length + 1), 0, item); return out; };
      r.batches.length = 0;
      const before = r.store.stats().sequence;
      let call: () => void;
      if (kind === 'putAll') {
        const entries = ops.flatMap((o) => (o.type === 'put' ? [[o.key, o.value] as [K, V]] : []));
        call = () => r.store.putAll(insert(entries, (bad === 'badShape' ? [key] : [key, value]) as [K, V]));
      } else if (kind === 'deleteAll') {
        call = () => r.store.deleteAll(insert(ops.map((o) => o.key), (bad === 'badShape' || bad === 'badValue' ? null : key) as K));
      } else {
        const badOp = bad === 'badShape' ? { type: 'merge', key } : bad === 'badValue' ? { type: 'put', key, value } : { type: 'del', key };
        call = () => r.store.write(insert(ops, badOp as never));
      }
      const expected = kind === 'deleteAll' && bad === 'badValue' ? 'INVALID_ARGUMENT' : code;
      expect(codeOf(call)).toBe(expected);
      expect(r.batches).toEqual([]);
      expect(r.store.stats().sequence).toBe(before);
    })),
  ];

  it(`behaves like PartitionedModel and a single Store (${f.name}, ${numRuns} runs)`, async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(1, 2, 3, 5, 8), fc.commands(commands, { maxCommands: 60 }), async (n, cmds) => {
      const options = { ...TINY, keyCodec: f.keyCodec, valueCodec: f.valueCodec };
      const real: R = {
        store: await PartitionedStore.open<K, V>({ ...options, partitions: n }),
        ref: await Store.open<K, V>(options),
        batches: [],
        snapshots: [],
      };
      try {
        real.store.onChange((rs) => real.batches.push(rs));
        const model = PartitionedModel.empty(n);
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        // Everything, and every key's version, still agrees; nothing is left pinned.
        expect(list(real.store.all())).toEqual(decoded(model.range()));
        for (const k of f.keys) {
          const e = model.get(enc(k));
          expect(real.store.getVersioned(k)).toEqual(e && { value: f.valueCodec.decode(e.value), version: e.version });
        }
        const st = real.store.stats();
        expect(st.iterators).toBe(0);
        expect(st.snapshots).toBe(n * real.snapshots.length);
        expect(st.sequence).toBe(model.parts.reduce((a, p) => a + p.seq, 0));
      } finally {
        await real.store.close();
        await real.ref.close();
      }
    }), { numRuns });
  });
}

describe('model-based', () => {
  modelBased(bytesFlavor, 200);
  modelBased(textFlavor, 200);
});

describe('merged order uses the stored key bytes', () => {
  it('keys that are not valid UTF-8 under the utf8 codec still merge in byte order', async () => {
    // 0x80 and 0xff both decode to U+FFFD, which re-encodes to ef bf bd: an order computed
    // from re-encoded keys would put them together, not around 0xc3a9 ('é').
    const raw = [[0x80], [0xc3, 0xa9], [0xff], [0x41]].map((b) => new Uint8Array(b));
    const ps = await PartitionedStore.open<string, Uint8Array>({ partitions: 4, keyCodec: codecs.utf8 });
    await ps.restore(raw.map((key, i) => ({ partition: kafkaPartition(key, 4), seq: i + 1, key, value: new Uint8Array([i]) })));
    expect([...ps.all()].map(([, v]) => v[0])).toEqual([3, 0, 1, 2]);
    expect([...ps.all({ reverse: true })].map(([, v]) => v[0])).toEqual([2, 1, 0, 3]);
    await ps.close();
  });
});

describe('checkpoints and restore progress', () => {
  it('sums restore progress over the partitions', async () => {
    const records: ChangeRecord[] = [];
    await withStore<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, async (a) => {
      a.onChange((rs) => records.push(...rs));
      for (let i = 0; i < 9000; i++) a.put(`k${i}`, 'v'.repeat(i % 50));
    });
    const seen: number[] = [];
    await withStore<string, string>({ partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.utf8 }, async (b) => {
      const done = await b.restore(records, { onProgress: (p) => seen.push(p.records) });
      expect(done.records).toBe(9000);
      expect(done.applied).toBe(9000);
      expect(done.bytes).toBe(records.reduce((n, r) => n + r.key.length + r.value!.length, 0));
    });
    expect(seen.length).toBeGreaterThan(1); // 9000 records travel in more than one chunk
    expect(seen.at(-1)).toBe(9000);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });

  it('checkpoints each partition; reopening from a crash image restores each after its own checkpoint', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { MemoryChangelog } = await import('strata-kv');
    const dir = mkdtempSync(join(tmpdir(), 'strata-pckpt-'));
    const image = mkdtempSync(join(tmpdir(), 'strata-pckpt-image-'));
    try {
      const log = new MemoryChangelog();
      const a = await PartitionedStore.open<string, string>({ partitions: 4, path: dir, changelog: log, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY });
      for (let i = 0; i < 400; i++) a.put(`k${i % 97}`, `v${i}`);
      const marks = await a.checkpoint();
      expect(marks.map((m) => m.seq)).toEqual([0, 1, 2, 3].map((p) => log.lastSeq(p)));
      for (let i = 0; i < 60; i++) a.delete(`k${i}`);
      const expected = [...a.all()].map(([k, v]) => [k, v, a.getVersioned(k)!.version]);
      copyCrashImage(dir, image); // what a kill now would leave
      await a.close();

      const asked: [number, number][] = [];
      const source = { read: (p: number, from = 0) => { asked.push([p, from]); return log.read(p, from); } };
      const b = await PartitionedStore.open<string, string>({ partitions: 4, path: image, changelog: log, restoreFrom: source, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY });
      expect(asked.sort((x, y) => x[0] - y[0])).toEqual(marks.map((m, p) => [p, m.seq + 1]));
      expect([...b.all()].map(([k, v]) => [k, v, b.getVersioned(k)!.version])).toEqual(expected);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(image, { recursive: true, force: true });
    }
  });
});
