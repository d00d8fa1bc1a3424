// PartitionedStore's batches (putAll, write) against one Store with the same options: the
// partitions apply their shares one after another, so a batch that one op makes invalid
// must be refused before any partition is written. The property: a batch the Store refuses
// (with some code) the PartitionedStore refuses with the same code and changes nothing; a
// batch the Store takes it takes too, and both then hold the same entries. Ops include the
// ones whose check depends on the store's options: a value the size limit allows but a ttl's
// 8-byte expiry header does not, a merge on a ttl store, and a merge operand that fits only
// without its operator's name before it.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Store, PartitionedStore, StrataError, codecs, type Codec, type WriteOp } from 'strata-kv';
import { MAX_VALUE_BYTES } from '../bindings/engine/abi.js';

/** 'BIG' encodes to this many bytes: refused on a ttl store (8 bytes of expiry header) and
 *  as an 'append' operand (7 bytes of operator name), taken as a plain put. */
const BIG = new Uint8Array(MAX_VALUE_BYTES - 4);
const valueCodec: Codec<string> = {
  encode: (v) => (v === 'BIG' ? BIG : codecs.utf8.encode(v)),
  decode: (b) => codecs.utf8.decode(b),
};

function codeOf(fn: () => unknown): string {
  try { fn(); return 'ok'; } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
}

const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
const smallArb = fc.string({ maxLength: 3 });
/** Ops for a store with or without ttlMs; a plain store never gets a BIG put (it would take it). */
const opArb = (ttl: boolean): fc.Arbitrary<WriteOp<string, string>> => fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: ttl ? fc.oneof({ weight: 5, arbitrary: smallArb }, { weight: 1, arbitrary: fc.constant('BIG') }) : smallArb }),
  fc.record({ type: fc.constant('del' as const), key: keyArb }),
  fc.record({ type: fc.constant('merge' as const), key: keyArb, value: fc.oneof({ weight: 5, arbitrary: smallArb }, { weight: 1, arbitrary: fc.constant('BIG') }), operator: fc.constant('append') }),
);
const caseArb = fc.boolean().chain((ttl) => fc.record({
  ttl: fc.constant(ttl),
  before: fc.array(fc.tuple(keyArb, smallArb), { maxLength: 8 }),
  batch: fc.array(opArb(ttl), { minLength: 1, maxLength: 8 }),
  asPutAll: fc.boolean(),
}));

async function both(ttl: boolean): Promise<[Store<string, string>, PartitionedStore<string, string>]> {
  const o = { keyCodec: codecs.utf8, valueCodec, ...(ttl ? { ttlMs: 3_600_000 } : {}) };
  return [await Store.open<string, string>(o), await PartitionedStore.open<string, string>({ ...o, partitions: 4 })];
}

describe('PartitionedStore batches are checked whole before any partition is written', () => {
  it('counterexamples (kept as regular tests): a check that depends on the options refuses the batch, and no partition holds a part of it', async () => {
    const [s, ps] = await both(true);
    // 'a' is in partition 0 and 'c' in 2 (of 4): the first share would be applied before the second failed.
    expect([ps.partitionFor('a'), ps.partitionFor('c')]).toEqual([0, 2]);
    expect(codeOf(() => ps.putAll([['a', '1'], ['c', 'BIG']]))).toBe('VALUE_TOO_LARGE');
    expect(codeOf(() => ps.write([{ type: 'put', key: 'a', value: '1' }, { type: 'merge', key: 'c', value: 'x', operator: 'append' }]))).toBe('INVALID_ARGUMENT');
    expect([...ps.all()]).toEqual([]);
    await s.close(); await ps.close();
    const [, plain] = await both(false);
    expect(codeOf(() => plain.write([{ type: 'put', key: 'a', value: '1' }, { type: 'merge', key: 'c', value: 'BIG', operator: 'append' }]))).toBe('VALUE_TOO_LARGE');
    expect([...plain.all()]).toEqual([]);
    await plain.close();
  });

  it('a batch is refused with the code one Store gives, and leaves every partition as it was; else both hold the same', async () => {
    let refused = 0;
    await fc.assert(fc.asyncProperty(caseArb, async ({ ttl, before, batch, asPutAll }) => {
      const [s, ps] = await both(ttl);
      try {
        s.putAll(before);
        ps.putAll(before);
        const puts = batch.filter((op) => op.type === 'put').map((op) => [op.key, (op as { value: string }).value] as const);
        const code = codeOf(() => (asPutAll ? s.putAll(puts) : s.write(batch)));
        expect(codeOf(() => (asPutAll ? ps.putAll(puts) : ps.write(batch)))).toBe(code);
        if (code !== 'ok') refused++;
        expect([...ps.all()]).toEqual([...s.all()]);
      } finally {
        await s.close();
        await ps.close();
      }
    }), { numRuns: 120 });
    expect(refused).toBeGreaterThan(0); // the property met refused batches, not only good ones
  });
});
