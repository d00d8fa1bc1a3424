// PartitionedStore by example: opening, routing (kafkaPartition, agreeing with kafkajs),
// merged order across partitions, per-partition atomicity of batches, snapshots, the shared
// changelog sink, stats and lifecycle, restore, and checkpoints restored per partition. The
// model-based property is in partitioned-store.model.test.ts.
import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { existsSync, rmSync } from 'node:fs';
import {
  PartitionedStore, Store, codecs, kafkaPartition, type ChangeRecord, type ChangelogSink,
} from 'strata-kv';
import { copyCrashImage } from './support/crash-image.js';
import { utf8, TINY, codeOf, asyncCodeOf, withStore } from './support/partitioned-store.js';

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

  it('an empty path is INVALID_ARGUMENT, as for a Store (it made /partition-<i> at the root of the file system)', async () => {
    const made = ['/partition-0', '/partition-1'].filter((d) => !existsSync(d)); // removed below if the open makes them
    let err: unknown;
    try {
      await (await PartitionedStore.open({ partitions: 2, path: '' })).close();
    } catch (e) { err = e; }
    for (const d of made) if (existsSync(d)) rmSync(d, { recursive: true, force: true });
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' }); // found by the hunt: it opened
    expect(await asyncCodeOf(() => Store.open({ path: '' }))).toBe('INVALID_ARGUMENT');
  });

  it('a directory keeps its partition count: reopening it with another is INVALID_ARGUMENT and opens no partition', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'strata-pcount-'));
    try {
      const o = { path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8 };
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
      const a = await PartitionedStore.open<string, string>({ ...o, partitions: 3 });
      for (const k of keys) a.put(k, 'v');
      await a.close();
      // Before the fix these opened: get() then missed most keys (hashed to another partition),
      // and a put of one made a second copy that all() showed twice.
      for (const partitions of [4, 2, 1]) {
        expect(await asyncCodeOf(() => PartitionedStore.open({ ...o, partitions }))).toBe('INVALID_ARGUMENT');
      }
      expect(existsSync(join(dir, 'partition-3'))).toBe(false);
      const b = await PartitionedStore.open<string, string>({ ...o, partitions: 3 });
      expect(b.getAll(keys)).toEqual(keys.map(() => 'v'));
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
      // A batch across partitions, in the order asked, as of the snapshot.
      expect(snap.getAll(['k2', 'nope', 'k1', 'k29', 'k2'])).toEqual(['old', undefined, 'old', 'old', 'old']);
      expect(s.getAll(['k2', 'k3'])).toEqual([undefined, 'new']);
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
