// Model test of range(bounds), prefixScan, putIfAbsent, getAndDelete and
// approximateNumEntries. Model: SortedModel (test/support/model.ts), a Map of hex keys kept
// in byte order, plus its clones as snapshots. Random sequences of puts, deletes,
// putIfAbsent, getAndDelete, snapshots, flushes and compactions run against a Store with a
// tiny memtable (so entries sit in the memtable, level 0 and deeper levels) and against a
// PartitionedStore; after each step, scans with random bounds (gt/gte/lt/lte in any
// combination, open ends, reverse, limit) and random prefixes, of the store now or of a
// snapshot taken earlier (then written after), must equal the model's.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Store, PartitionedStore, type KeyValueIterator, type RangeBounds } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';

// Keys that are prefixes of each other, the empty key, 0x00 and 0xff edges.
const KEYS = ['', '00', '0000', '61', '6100', '6161', '616100', '6162', '62', '6261', 'fe', 'feff', 'ff', 'ff00', 'ffff', 'ffffff']
  .map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const keyArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 3 }) });
const valueArb = fc.uint8Array({ maxLength: 24 });

type Op =
  | { op: 'put'; key: Uint8Array; value: Uint8Array }
  | { op: 'del'; key: Uint8Array }
  | { op: 'putIfAbsent'; key: Uint8Array; value: Uint8Array }
  | { op: 'getAndDelete'; key: Uint8Array }
  | { op: 'snapshot' }
  | { op: 'flush' | 'compact' }
  | { op: 'range'; bounds: RangeBounds<Uint8Array>; snap: number }
  | { op: 'prefix'; prefix: Uint8Array; reverse: boolean; limit: number | undefined; snap: number };

const boundsArb: fc.Arbitrary<RangeBounds<Uint8Array>> = fc.record({
  lower: fc.option(fc.record({ key: keyArb, inclusive: fc.boolean() }), { nil: undefined }),
  upper: fc.option(fc.record({ key: keyArb, inclusive: fc.boolean() }), { nil: undefined }),
  reverse: fc.boolean(),
  limit: fc.option(fc.nat(8), { nil: undefined }),
}).map(({ lower, upper, reverse, limit }) => ({
  ...(lower === undefined ? {} : lower.inclusive ? { gte: lower.key } : { gt: lower.key }),
  ...(upper === undefined ? {} : upper.inclusive ? { lte: upper.key } : { lt: upper.key }),
  reverse,
  ...(limit === undefined ? {} : { limit }),
}));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('putIfAbsent' as const), key: keyArb, value: valueArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('getAndDelete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constantFrom({ op: 'flush' as const }, { op: 'compact' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('range' as const), bounds: boundsArb, snap: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({
    op: fc.constant('prefix' as const), prefix: fc.oneof(keyArb, fc.constant(new Uint8Array(0))),
    reverse: fc.boolean(), limit: fc.option(fc.nat(8), { nil: undefined }), snap: fc.nat(3),
  }) },
);

/** The model's entries within `b`, in its order, limited. Hex order is byte order. */
function modelRange(m: SortedModel, b: RangeBounds<Uint8Array>): string[] {
  const gt = b.gt && hex(b.gt), gte = b.gte && hex(b.gte), lt = b.lt && hex(b.lt), lte = b.lte && hex(b.lte);
  const keys = [...m.map.keys()].filter((k) => (gt === undefined || k > gt) && (gte === undefined || k >= gte)
    && (lt === undefined || k < lt) && (lte === undefined || k <= lte)).sort();
  if (b.reverse) keys.reverse();
  return keys.slice(0, b.limit ?? Infinity).map((k) => `${k}=${hex(m.map.get(k)!.value)}`);
}

function modelPrefix(m: SortedModel, prefix: Uint8Array, reverse: boolean, limit: number | undefined): string[] {
  const p = hex(prefix);
  const keys = [...m.map.keys()].filter((k) => k.startsWith(p)).sort();
  if (reverse) keys.reverse();
  return keys.slice(0, limit ?? Infinity).map((k) => `${k}=${hex(m.map.get(k)!.value)}`);
}

const shown = (it: KeyValueIterator<Uint8Array, Uint8Array>) => [...it].map(([k, v]) => `${hex(k)}=${hex(v)}`);

/** What both kinds of store offer this test. */
type AnyStore = Store | PartitionedStore;

async function check(open: () => Promise<AnyStore>, ops: Op[]): Promise<void> {
  const store = await open();
  const model = new SortedModel();
  const snaps: { snap: ReturnType<AnyStore['snapshot']>; model: SortedModel }[] = [];
  try {
    for (const o of ops) {
      switch (o.op) {
        case 'put': store.put(o.key, o.value); model.put(o.key, o.value); break;
        case 'del': store.delete(o.key); model.delete(o.key); break;
        case 'putIfAbsent': {
          const had = model.get(o.key)?.value;
          const got = store.putIfAbsent(o.key, o.value);
          expect(got === undefined ? undefined : hex(got)).toBe(had === undefined ? undefined : hex(had));
          if (had === undefined) model.put(o.key, o.value);
          break;
        }
        case 'getAndDelete': {
          const had = model.get(o.key)?.value;
          const got = store.getAndDelete(o.key);
          expect(got === undefined ? undefined : hex(got)).toBe(had === undefined ? undefined : hex(had));
          if (had !== undefined) model.delete(o.key); // absent: no tombstone, no sequence
          break;
        }
        case 'snapshot': snaps.push({ snap: store.snapshot(), model: model.clone() }); break;
        case 'flush': await store.flush(); break;
        case 'compact': await store.compact(); break;
        case 'range': {
          const s = o.snap < snaps.length ? snaps[o.snap] : undefined;
          const got = shown(s ? s.snap.range(o.bounds) : store.range(o.bounds));
          expect(got).toEqual(modelRange(s ? s.model : model, o.bounds));
          break;
        }
        case 'prefix': {
          const s = o.snap < snaps.length ? snaps[o.snap] : undefined;
          const opts = { reverse: o.reverse, limit: o.limit };
          const got = shown(s ? s.snap.prefixScan(o.prefix, opts) : store.prefixScan(o.prefix, opts));
          expect(got).toEqual(modelPrefix(s ? s.model : model, o.prefix, o.reverse, o.limit));
          break;
        }
      }
      // Never below the live keys (docs/API.md, approximateNumEntries).
      expect(store.approximateNumEntries()).toBeGreaterThanOrEqual(model.map.size);
    }
    // The whole store, in both directions, and the sequence: getAndDelete of an absent key
    // and a refused putIfAbsent took none.
    expect(shown(store.range({}))).toEqual(modelRange(model, {}));
    expect(shown(store.range({ reverse: true }))).toEqual(modelRange(model, { reverse: true }));
    if (store instanceof Store) expect(store.stats().sequence).toBe(model.seq);
  } finally {
    for (const s of snaps) s.snap.close();
    await store.close();
  }
}

const TINY = { memtableBytes: 256, blockBytes: 64, runTargetBytes: 512, levelBaseBytes: 1024, levelSizeMultiplier: 2, level0CompactionTrigger: 2 };

describe('range bounds, prefixes and read-modify-writes against a sorted-map model', () => {
  it('Store (tiny memtable: memtable, level 0 and deeper levels), snapshots written after', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 150 }), (ops) => check(() => Store.open(TINY), ops)),
      { numRuns: 150 });
  }, 120_000);

  it('PartitionedStore (3 partitions): merged scans in key order', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 100 }),
      (ops) => check(() => PartitionedStore.open({ ...TINY, partitions: 3 }), ops)),
    { numRuns: 60 });
  }, 120_000);
});
