// PartitionedStore, model-based: on any sequence of operations a PartitionedStore behaves like
// PartitionedModel (one SortedModel per partition, keys routed by kafkaPartition, reads merged
// in byte order; deleteRange in every partition) and returns what a single Store given the
// same operations returns, and its changelog restores it. Memtables
// of 512 bytes make flushes and compactions constant.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  PartitionedStore, Store, MemoryChangelog, codecs, kafkaPartition, type ChangeRecord, type Codec, type KeyValueIterator, type Snapshot,
} from 'strata-kv';
import { SortedModel, hex, unhex } from './support/model.js';
import { TINY, codeOf } from './support/partitioned-store.js';

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
    // A range spans every partition: each gets a tombstone and a record of its own.
    fc.tuple(keyArb, keyArb).map(([from, to]) => cmd(`deleteRange(${JSON.stringify(from)}, ${JSON.stringify(to)})`, (m, r) => {
      const a = enc(from), b = enc(to);
      const c = Buffer.compare(a, b);
      r.batches.length = 0;
      const before = r.store.stats().sequence;
      if (c > 0) {
        expect(codeOf(() => r.store.deleteRange(from, to))).toBe('INVALID_ARGUMENT');
        expect(codeOf(() => r.ref.deleteRange(from, to))).toBe('INVALID_ARGUMENT');
        expect(r.store.stats().sequence).toBe(before);
      } else {
        r.store.deleteRange(from, to);
        r.ref.deleteRange(from, to);
      }
      if (c < 0) for (const part of m.parts) part.deleteRange(a, b);
      const shown = r.batches.map((bs) => bs.map((x) => ({ partition: x.partition, seq: x.seq, key: hex(x.key), value: x.value, rangeEnd: x.rangeEnd && hex(x.rangeEnd) })));
      expect(shown).toEqual(c < 0 ? m.parts.map((part, i) => [{ partition: i, seq: part.seq, key: hex(a), value: null, rangeEnd: hex(b) }]) : []);
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
      const log = new MemoryChangelog();
      const real: R = {
        store: await PartitionedStore.open<K, V>({ ...options, partitions: n, changelog: log }),
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
        // The shared changelog restores the same store: range records go to their partition
        // whatever their start key hashes to.
        const restored = await PartitionedStore.open<K, V>({ ...options, partitions: n });
        try {
          await restored.restore((function* () { for (let p = 0; p < n; p++) yield* log.read(p); })());
          expect(list(restored.all())).toEqual(decoded(model.range()));
          for (const k of f.keys) expect(restored.getVersioned(k)).toEqual(real.store.getVersioned(k));
        } finally {
          await restored.close();
        }
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
