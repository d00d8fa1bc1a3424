// Properties of the iterator stack, on the real units (through the unit-test build,
// test/support/units-wasm.ts), against a model that is one sort:
//   - merge: a MergingIterator over memtables and runs, forward or reverse, and the
//     TreeMergingIterator, yield every entry of every source in internal-key order (user key
//     ascending by unsigned bytes, sequence descending); a seek lands on the model's first
//     entry at or after the target.
//   - visibility: a DbIterator at snapshot S yields, for each user key in [lower, upper) in
//     order (or reversed), its newest version with sequence <= S when that is a put.
//   - a block's point lookup (BlockCursor.seek: its hash index, or the binary search where a
//     bucket is shared or the block has none) finds the entry of the key that lowerBound
//     finds: its newest version with sequence <= S.
// The engine gives every write its own sequence, so the model needs no tie rule: sequences
// are drawn distinct. Keys share 8-byte prefixes and differ past them, and in bytes 0x00 and
// 0xff, where the merge's cached prefixes and the unsigned comparison can go wrong.
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { Units, KIND_PUT, KIND_DELETE, compareBytes, internalOrder, type Entry } from './support/units-wasm.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const show = (e: { key: Uint8Array; seq: number; kind: number; value: Uint8Array }) => `${hex(e.key)}.${e.kind}.${e.seq}:${hex(e.value)}`;

const PREFIXES = ['', 'abcdefgh', 'abcdefgh\u0000'].map((p) => Buffer.from(p, 'latin1'));
const keyArb = fc.tuple(fc.constantFrom(...PREFIXES), fc.uint8Array({ minLength: 0, maxLength: 3 }).map((t) => t.map((b) => [0x00, 0x61, 0x62, 0xff][b % 4])))
  .map(([p, t]) => Uint8Array.from([...p, ...t]))
  .filter((k) => k.length > 0);

/** Sources: each a memtable or a run, with entries whose sequences are distinct overall. */
const sourcesArb = fc.array(fc.record({
  run: fc.boolean(),
  entries: fc.array(fc.record({ key: keyArb, del: fc.boolean(), value: fc.uint8Array({ maxLength: 4 }) }), { maxLength: 12 }),
}), { minLength: 0, maxLength: 6 }).chain((sources) => {
  const total = sources.reduce((n, s) => n + s.entries.length, 0);
  return fc.shuffledSubarray(Array.from({ length: total * 2 + 1 }, (_, i) => i + 1), { minLength: total, maxLength: total }).map((seqs) => {
    let next = 0;
    return sources.map((s) => ({
      run: s.run,
      entries: s.entries.map((e): Entry => ({ key: e.key, seq: seqs[next++], kind: e.del ? KIND_DELETE : KIND_PUT, value: e.del ? new Uint8Array() : e.value })),
    }));
  });
});
type Sources = { run: boolean; entries: Entry[] }[];

let u: Units;
beforeAll(() => { u = new Units(); });

/** Builds the sources in the driver: a memtable takes its writes oldest first (its REQUIRES),
 *  a run its entries in internal-key order. */
function define(sources: Sources): void {
  u.x.src_reset();
  for (const s of sources) {
    const entries = [...s.entries].sort(s.run ? internalOrder : (a, b) => a.seq - b.seq);
    if (s.run) u.x.src_run(32); else u.x.src_mem();
    for (const e of entries) if (!u.withEntry(e, u.x.src_add)) throw new Error('out of memory');
    u.x.src_end();
  }
}

/** What the current iterator yields from `start` on, stepping with `step`. */
function drain(start: () => void, step: () => void): string[] {
  const out: string[] = [];
  for (start(); u.out().valid; step()) out.push(show(u.out()));
  return out;
}

describe('the merging iterators against a sort of every source', () => {
  it('forward, reverse and tree merges yield internal-key order; seeks land on the first entry at or after the target', () => {
    fc.assert(fc.property(sourcesArb, keyArb, fc.integer({ min: -1, max: 200 }), (sources, seekKey, seekSeq) => {
      define(sources);
      const model = sources.flatMap((s) => s.entries).sort(internalOrder);
      const expected = model.map(show);
      u.x.merge_iter(1, 0);
      expect(drain(() => u.x.it_first(), () => u.x.it_next())).toEqual(expected);
      u.x.merge_iter(0, 0);
      expect(drain(() => u.x.it_last(), () => u.x.it_prev())).toEqual([...expected].reverse());
      u.x.merge_iter(1, 1);
      expect(drain(() => u.x.it_first(), () => u.x.it_next())).toEqual(expected);
      // seek-ge (key, seq): seq -1 means before every version of the key.
      const target = (e: Entry) => compareBytes(e.key, seekKey) > 0 || (compareBytes(e.key, seekKey) === 0 && (seekSeq < 0 || e.seq <= seekSeq));
      const from = model.findIndex(target);
      const after = from < 0 ? [] : expected.slice(from);
      for (const tree of [0, 1]) {
        u.x.merge_iter(1, tree);
        expect(drain(() => u.withKey(seekKey, (kp, kl) => u.x.it_seek_ge(kp, kl, seekSeq)), () => u.x.it_next())).toEqual(after);
      }
    }), { numRuns: 300 });
  });
});

describe('the db iterator against the newest visible version of each key', () => {
  it('yields each key in [lower, upper) whose newest version at the snapshot is a put, in order or reversed', () => {
    const bound = fc.option(keyArb, { nil: undefined });
    fc.assert(fc.property(sourcesArb, fc.integer({ min: 0, max: 200 }), bound, bound, (sources, snap, lower, upper) => {
      define(sources);
      const newest = new Map<string, Entry>();
      for (const e of sources.flatMap((s) => s.entries)) {
        if (e.seq > snap) continue;
        const had = newest.get(hex(e.key));
        if (had === undefined || had.seq < e.seq) newest.set(hex(e.key), e);
      }
      const expected = [...newest.values()]
        .filter((e) => e.kind === KIND_PUT && (lower === undefined || compareBytes(e.key, lower) >= 0) && (upper === undefined || compareBytes(e.key, upper) < 0))
        .sort(internalOrder)
        .map((e) => `${hex(e.key)}:${hex(e.value)}`);
      for (const forward of [1, 0]) {
        const [lp, up] = u.args(lower ?? new Uint8Array(), upper ?? new Uint8Array());
        u.x.db_open(snap, forward, lp, lower?.length ?? 0, lower === undefined ? 0 : 1, up, upper?.length ?? 0, upper === undefined ? 0 : 1);
        const got: string[] = [];
        for (u.x.db_step(); u.out().valid; u.x.db_step()) got.push(`${hex(u.out().key)}:${hex(u.out().value)}`);
        expect(got).toEqual(forward ? expected : [...expected].reverse());
      }
    }), { numRuns: 300 });
  });
});

describe('a data block\'s point lookup against the sorted entries', () => {
  it('finds the newest version of a key at a snapshot through the hash index, shared buckets and blocks without one alike', () => {
    // Up to 300 entries: past 254 a block has no hash index. Few distinct keys, so buckets
    // are shared (a collision) and keys have several versions.
    const entryArb = fc.record({ key: keyArb, del: fc.boolean() });
    const blockArb = fc.oneof(fc.array(entryArb, { maxLength: 40 }), fc.array(entryArb, { minLength: 250, maxLength: 300 }));
    fc.assert(fc.property(blockArb, fc.array(fc.tuple(keyArb, fc.integer({ min: 0, max: 700 })), { maxLength: 20 }), (drawn, probes) => {
      const entries = drawn.map((e, i): Entry => ({ key: e.key, seq: i + 1, kind: e.del ? KIND_DELETE : KIND_PUT, value: new Uint8Array() })).sort(internalOrder);
      for (const e of entries) if (!u.withEntry(e, u.x.block_add)) throw new Error('out of memory');
      u.x.block_finish();
      const n = entries.length;
      expect(u.x.block_buckets()).toBe(n > 0 && n <= 254 ? n + Math.floor((n + 2) / 3) : 0);
      // Probe every key in the block at its versions' sequences and between them, and others.
      const all = [...probes, ...entries.flatMap((e) => [[e.key, e.seq], [e.key, e.seq - 1]] as [Uint8Array, number][])];
      for (const [key, seq] of all) {
        const expected = entries.findIndex((e) => compareBytes(e.key, key) === 0 && e.seq <= seq);
        const visible = expected >= 0 && entries.slice(0, expected).every((e) => compareBytes(e.key, key) !== 0 || e.seq > seq) ? expected : -1;
        expect(u.withKey(key, (kp, kl) => u.x.block_get(kp, kl, seq)), `${hex(key)} at ${seq}`).toBe(visible);
      }
    }), { numRuns: 300 });
  });
});
