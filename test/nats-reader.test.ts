// The NATS changelog's reading rules (bindings/nats/reader.ts), without a server: messages fed
// in stream order, including the orders a failed-and-retried pipelined publish and a fenced
// writer produce. Property: whatever the order messages of one writer arrive in, the reader
// emits each record once, in seq order, as soon as every earlier record is there.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { PartitionReader } from '../bindings/nats/reader.js';
import { crc32c } from '../bindings/crc32c.js';
import { KIND_CLAIM, KIND_RECORDS, RecordMessageBuilder, encodeClaim, decodeMessage, type ChangelogMessage } from '../bindings/nats/format.js';

const rec = (seq: number) => ({ partition: 0, seq, key: new Uint8Array([seq & 0xff]), value: seq % 3 === 0 ? null : new Uint8Array([1, 2]) });
/** A records message of `epoch` holding seqs (prev, last]. */
function msg(epoch: number, prev: number, last: number): ChangelogMessage {
  const b = new RecordMessageBuilder();
  for (let s = prev + 1; s <= last; s++) b.add(rec(s));
  return decodeMessage(b.take(epoch, prev), 0, 'test');
}
const claim = (prev?: number): ChangelogMessage => decodeMessage(encodeClaim(prev, prev ?? 0), 0, 'test');
const seqsOf = (r: PartitionReader, feed: [ChangelogMessage, number][]) => feed.flatMap(([m, s]) => r.accept(m, s).map((x) => x.seq));

describe('PartitionReader', () => {
  it('round-trips the message format, tombstones included', () => {
    const m = msg(7, 4, 6);
    expect(m.kind).toBe(KIND_RECORDS);
    if (m.kind !== KIND_RECORDS) return;
    expect(m.records.map((r) => [r.seq, r.value === null])).toEqual([[5, false], [6, true]]);
    expect(claim(3)).toEqual({ kind: KIND_CLAIM, prev: 3, last: 3 });
    const bytes = new RecordMessageBuilder();
    bytes.add(rec(1));
    const raw = bytes.take(1, 0);
    raw[raw.length - 1] ^= 1;
    expect(() => decodeMessage(raw, 0, 'stream seq 9')).toThrow(expect.objectContaining({ code: 'CORRUPTION', message: expect.stringMatching(/stream seq 9.*checksum/) }));
  });

  it('carries expiresAt of puts from stores with ttlMs', () => {
    const b = new RecordMessageBuilder();
    b.add({ partition: 0, seq: 1, key: new Uint8Array([1]), value: new Uint8Array([9, 9]), expiresAt: 1_767_225_600_500 });
    b.add({ partition: 0, seq: 2, key: new Uint8Array([2]), value: null, expiresAt: 5 }); // a tombstone needs none
    b.add({ partition: 0, seq: 3, key: new Uint8Array([3]), value: new Uint8Array([7]) });
    const m = decodeMessage(b.take(1, 0), 0, 'test');
    if (m.kind !== KIND_RECORDS) throw new Error('expected records');
    expect(m.records.map((r) => [r.seq, r.value && [...r.value], r.expiresAt])).toEqual([
      [1, [9, 9], 1_767_225_600_500], [2, null, undefined], [3, [7], undefined],
    ]);
  });

  it('carries range deletions (flags 4, the end key as the value); a damaged one is CORRUPTION', () => {
    const b = new RecordMessageBuilder();
    b.add({ partition: 0, seq: 1, key: new Uint8Array([1]), value: null, rangeEnd: new Uint8Array([1, 0]) });
    b.add({ partition: 0, seq: 2, key: new Uint8Array([2]), value: null });
    const raw = b.take(1, 0);
    const m = decodeMessage(raw, 0, 'test');
    if (m.kind !== KIND_RECORDS) throw new Error('expected records');
    expect(m.records.map((r) => [r.seq, r.value, r.rangeEnd && [...r.rangeEnd]])).toEqual([[1, null, [1, 0]], [2, null, undefined]]);
    expect(raw[38 + 8]).toBe(4);
    // Intact messages (checksum recomputed) breaking the format: an unknown flag, an end not above the start.
    for (const [at, byte] of [[38 + 8, 5], [38 + 17 + 1, 0]] as const) {
      const bad = raw.slice();
      bad[at] = byte;
      new DataView(bad.buffer).setUint32(4, crc32c(bad, 8), true);
      expect(() => decodeMessage(bad, 0, 'stream seq 9')).toThrow(expect.objectContaining({ code: 'CORRUPTION' }));
    }
  });

  it('holds a message that follows a gap until the gap is filled (a retried pipelined publish)', () => {
    const r = new PartitionReader(0, true);
    expect(seqsOf(r, [[claim(0), 1], [msg(1, 0, 2), 2], [msg(1, 4, 6), 3]])).toEqual([1, 2]);
    expect(r.heldMessages).toBe(1);
    expect(seqsOf(r, [[msg(1, 2, 4), 4]])).toEqual([3, 4, 5, 6]);
    expect(seqsOf(r, [[msg(1, 2, 4), 5]])).toEqual([]); // a duplicate
  });

  it('ignores a fenced writer: messages of an older epoch after a newer claim', () => {
    const r = new PartitionReader(0, true);
    const out = seqsOf(r, [[claim(0), 1], [msg(1, 0, 2), 2], [msg(1, 3, 4), 3], [claim(), 4], [msg(1, 2, 3), 5], [msg(4, 2, 3), 6]]);
    expect(out).toEqual([1, 2, 3]);
    expect(r.epoch).toBe(4);
    expect(r.heldMessages).toBe(0); // the old writer's held message was dropped at the claim
  });

  it('a claim that knows its writer\'s start moves past a gap; fromSeq skips earlier records', () => {
    const r = new PartitionReader(0, true);
    expect(seqsOf(r, [[claim(0), 1], [msg(1, 0, 2), 2], [claim(10), 3], [msg(3, 10, 12), 4]])).toEqual([1, 2, 11, 12]);
    const from = new PartitionReader(5, true);
    expect(seqsOf(from, [[claim(0), 1], [msg(1, 0, 3), 2], [msg(1, 3, 7), 3]])).toEqual([5, 6, 7]);
  });

  it('property: any arrival order of one writer\'s messages yields every record once, in order', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 20 }), fc.infiniteStream(fc.nat()), (sizes, picks) => {
      const msgs: ChangelogMessage[] = [];
      let prev = 0;
      for (const n of sizes) { msgs.push(msg(1, prev, prev + n)); prev += n; }
      const order = [...msgs];
      const it = picks[Symbol.iterator]();
      for (let i = order.length - 1; i > 0; i--) { const j = it.next().value % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
      const r = new PartitionReader(0, true);
      const out = seqsOf(r, [[claim(0), 1], ...order.map((m, i) => [m, i + 2] as [ChangelogMessage, number])]);
      expect(out).toEqual(Array.from({ length: prev }, (_, i) => i + 1));
    }));
  });
});
