// MemoryChangelog: append/read round trips, fromSeq, partitions, private copies, atomic
// rejection of bad batches, CLOSED, records produced by a real Store, and key compaction
// checked against a Map model (property: replaying the compacted log gives the same state
// and versions as replaying the full log, with exactly one record per key).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MemoryChangelog, Store, StrataError, type ChangeRecord } from 'strata-kv';

const enc = (s: string) => new TextEncoder().encode(s);
const rec = (partition: number, seq: number, key: string, value: string | null): ChangeRecord =>
  ({ partition, seq, key: enc(key), value: value === null ? null : enc(value) });

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'no error';
}

/** Replays records into a model: key → { value, version }; tombstones delete. */
function replay(records: Iterable<ChangeRecord>): Map<string, { value: string; version: number }> {
  const m = new Map<string, { value: string; version: number }>();
  const dec = new TextDecoder();
  for (const r of records) {
    const k = dec.decode(r.key);
    if (r.value === null) m.delete(k); else m.set(k, { value: dec.decode(r.value), version: r.seq });
  }
  return m;
}

describe('MemoryChangelog', () => {
  it('reads back what was appended, per partition, in seq order', () => {
    const log = new MemoryChangelog();
    log.append([rec(0, 1, 'a', '1'), rec(0, 2, 'b', '')]);
    log.append([rec(1, 1, 'a', 'x')]);
    log.append([rec(0, 3, 'a', null)]);
    expect([...log.read(0)]).toEqual([rec(0, 1, 'a', '1'), rec(0, 2, 'b', ''), rec(0, 3, 'a', null)]);
    expect([...log.read(1)]).toEqual([rec(1, 1, 'a', 'x')]);
    expect([...log.read(7)]).toEqual([]);
    expect(log.partitions()).toEqual([0, 1]);
    expect(log.size()).toBe(4);
    expect(log.size(0)).toBe(3);
    expect(log.lastSeq(0)).toBe(3);
    expect(log.lastSeq(9)).toBe(0);
  });

  it('read(partition, fromSeq) returns the records with seq ≥ fromSeq; each read is a fresh, re-iterable iterable', () => {
    const log = new MemoryChangelog();
    for (let s = 1; s <= 20; s++) log.append([rec(0, s * 2, `k${s}`, `v${s}`)]);
    for (const from of [-5, 0, 1, 2, 3, 21, 22, 40, 41, 1e9]) {
      const got = [...log.read(0, from)].map((r) => r.seq);
      const want = Array.from({ length: 20 }, (_, i) => (i + 1) * 2).filter((s) => s >= from);
      expect(got).toEqual(want);
    }
    const it = log.read(0, 30);
    expect([...it].length).toBe(6);
    expect([...it].length).toBe(6);
  });

  it('keeps private copies: mutating appended or read bytes does not change the log', () => {
    const log = new MemoryChangelog();
    const key = enc('key'), value = enc('value');
    log.append([{ partition: 0, seq: 1, key, value }]);
    key[0] = 0; value[0] = 0;
    const [first] = log.read(0);
    expect(first).toEqual(rec(0, 1, 'key', 'value'));
    first.key[0] = 1; first.value![0] = 1;
    expect([...log.read(0)]).toEqual([rec(0, 1, 'key', 'value')]);
  });

  it('rejects a bad batch whole, with INVALID_ARGUMENT', () => {
    const log = new MemoryChangelog();
    log.append([rec(0, 5, 'a', '1')]);
    const bad: unknown[] = [
      [rec(0, 6, 'b', '2'), rec(0, 6, 'c', '3')],                  // seq not increasing in the batch
      [rec(1, 1, 'x', 'y'), rec(0, 5, 'b', '2')],                  // seq not above the partition's last
      [rec(0, 7, 'b', '2'), { partition: 0, seq: 8, key: 'k', value: null }],
      [{ partition: 0, seq: 9, key: enc('k'), value: undefined }],
      [{ partition: -1, seq: 9, key: enc('k'), value: null }],
      [{ partition: 0, seq: 1.5, key: enc('k'), value: null }],
      [{ partition: 0, seq: Number.MAX_SAFE_INTEGER + 1, key: enc('k'), value: null }],
      [null],
      'not an array',
    ];
    for (const batch of bad) expect(codeOf(() => log.append(batch as ChangeRecord[]))).toBe('INVALID_ARGUMENT');
    expect([...log.read(0)]).toEqual([rec(0, 5, 'a', '1')]);
    expect(log.size()).toBe(1);
    // Interleaved partitions in one batch are fine as long as each one's seqs increase.
    log.append([rec(0, 6, 'b', '2'), rec(1, 1, 'x', 'y'), rec(0, 7, 'c', '3'), rec(1, 2, 'z', null)]);
    expect([...log.read(1)].map((r) => r.seq)).toEqual([1, 2]);
    expect(codeOf(() => log.read(0, NaN))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => log.read(-1))).toBe('INVALID_ARGUMENT');
  });

  it('refuses appends after close with CLOSED, and stays readable', async () => {
    const log = new MemoryChangelog();
    log.append([rec(0, 1, 'a', '1')]);
    await log.flush();
    await log.close();
    await log.close();
    expect(codeOf(() => log.append([rec(0, 2, 'b', '2')]))).toBe('CLOSED');
    await expect(log.compact()).rejects.toMatchObject({ code: 'CLOSED' });
    expect([...log.read(0)]).toEqual([rec(0, 1, 'a', '1')]);
  });

  it('takes a Store’s commits as its sink: seqs are the versions the store reports', async () => {
    const log = new MemoryChangelog();
    const s = await Store.open({ changelog: log });
    s.put(enc('a'), enc('1'));
    s.putAll([[enc('b'), enc('2')], [enc('c'), enc('')]]);
    s.delete(enc('a'));
    s.write([{ type: 'put', key: enc('a'), value: enc('3') }, { type: 'del', key: enc('b') }]);
    const state = replay(log.read(0));
    expect([...state.keys()].sort()).toEqual(['a', 'c']);
    expect(state.get('a')!.version).toBe(s.getVersioned(enc('a'))!.version);
    expect(state.get('c')!.version).toBe(s.getVersioned(enc('c'))!.version);
    const seqs = [...log.read(0)].map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await s.close();
    expect(codeOf(() => log.append([rec(0, 1000, 'z', null)]))).toBe('CLOSED'); // the store closed its sink
    expect(log.size(0)).toBe(6);
  });

  it('compaction keeps exactly the latest record per key, tombstones included (model: Map)', async () => {
    const op = fc.record({
      partition: fc.integer({ min: 0, max: 2 }),
      key: fc.integer({ min: 0, max: 12 }),
      value: fc.option(fc.string({ maxLength: 4 }), { nil: null, freq: 4 }),
      gap: fc.integer({ min: 1, max: 3 }),
    });
    await fc.assert(fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { maxLength: 40 }),
      fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), async (batches, only) => {
        const log = new MemoryChangelog();
        const next = [1, 1, 1];
        const all: ChangeRecord[] = [];
        for (const b of batches) {
          const records = b.map((o) => {
            const seq = next[o.partition];
            next[o.partition] += o.gap;
            return rec(o.partition, seq, `k${o.key}`, o.value);
          });
          log.append(records);
          all.push(...records);
        }
        const res = await log.compact(only);
        for (let p = 0; p < 3; p++) {
          const full = all.filter((r) => r.partition === p);
          const got = [...log.read(p)];
          if (only !== undefined && p !== only) { expect(got).toEqual(full); continue; }
          // Model: the latest record of each key, in seq order.
          const latest = new Map<string, ChangeRecord>();
          for (const r of full) latest.set(new TextDecoder().decode(r.key), r);
          expect(got).toEqual([...latest.values()].sort((a, b) => a.seq - b.seq));
          expect(replay(got)).toEqual(replay(full));
          expect(log.lastSeq(p)).toBe(full.length ? full[full.length - 1].seq : 0);
        }
        const touched = all.filter((r) => only === undefined || r.partition === only);
        expect(res.before).toBe(touched.length);
        // Appends continue after a compaction.
        log.append([rec(0, next[0], 'after', 'x')]);
        expect([...log.read(0)].at(-1)!.seq).toBe(next[0]);
      }), { numRuns: 150 });
  });

  it('an iteration in progress is not disturbed by a compaction', async () => {
    const log = new MemoryChangelog();
    for (let s = 1; s <= 100; s++) log.append([rec(0, s, `k${s % 5}`, `v${s}`)]);
    const it = log.read(0)[Symbol.iterator]();
    const seen = [it.next().value!.seq, it.next().value!.seq];
    await log.compact();
    for (let r = it.next(); !r.done; r = it.next()) seen.push(r.value.seq);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect([...log.read(0)].map((r) => r.seq)).toEqual([96, 97, 98, 99, 100]);
  });
});
