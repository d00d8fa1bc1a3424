// getAll (issue #18): one engine call for a batch of keys, the values found packed end to
// end and copied out with one slice (assembly/abi-reads.ts get_many). The model tests
// (store, merge and range-delete .model.test.ts) check random batches against a model; these
// are the examples that name each edge: repeats, the empty key, values too large for the
// pack, views of one copy, codecs that call the store, merges, file-backed runs with no
// cache, damaged blocks and bad keys.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs, type Codec } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-getall-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const TINY = { memtableBytes: 1024, blockBytes: 256, runTargetBytes: 2048, levelBaseBytes: 4096, level0CompactionTrigger: 2 };
const key = (i: number) => `k${String(i).padStart(6, '0')}`;
const bytesOf = (i: number, n = 100) => { const v = new Uint8Array(n); v[0] = i; v[1] = i >> 8; v[n - 1] = 0xa5; return v; };

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('getAll', () => {
  it('answers repeats, the empty key, empty values and absent keys in the order asked, without holes', async () => {
    const s = await Store.open({ ...TINY });
    const k = (t: string) => new TextEncoder().encode(t);
    s.put(k(''), k('empty key'));
    s.put(k('a'), new Uint8Array(0));
    for (let i = 0; i < 300; i++) s.put(k(key(i)), bytesOf(i));
    const asked = [k(key(7)), k('nope'), k(''), k(key(7)), k('a'), k(key(299)), k('nope')];
    const got = s.getAll(asked);
    expect(got).toEqual(asked.map((x) => s.get(x)));
    expect(got.length).toBe(asked.length);
    // Absent answers are undefined entries, not holes (flatMap and forEach skip holes).
    expect(Object.keys(got).length).toBe(asked.length);
    expect(got[4]).toEqual(new Uint8Array(0));
    expect(s.getAll([])).toEqual([]);
    await s.close();
  });

  it('returns bytes values as views of one copy: the caller owns them, and changing one changes no other', async () => {
    const s = await Store.open({ ...TINY });
    for (let i = 0; i < 50; i++) s.put(new TextEncoder().encode(key(i)), bytesOf(i));
    const ks = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(key(i)));
    const got = s.getAll(ks) as Uint8Array[];
    expect(got[3].buffer).toBe(got[4].buffer); // one copy of the batch's values
    got[3].fill(0);
    expect(got[4]).toEqual(bytesOf(4));
    expect(s.get(ks[3])).toEqual(bytesOf(3));
    s.put(ks[5], bytesOf(99)); // later writes change nothing returned
    expect(got[5]).toEqual(bytesOf(5));
    await s.close();
  });

  it('reads values larger than the pack from linear memory, each right', async () => {
    // Three 400 KiB values: more than the 1 MiB pack holds, so the last one is left unpacked.
    const s = await Store.open({ memtableBytes: 1 << 20 });
    const big = (i: number) => { const v = new Uint8Array(400 << 10); v.fill(i); v[0] = 0xee; return v; };
    const ks = [0, 1, 2].map((i) => new TextEncoder().encode(key(i)));
    ks.forEach((k, i) => { s.put(k, big(i + 1)); });
    for (const asked of [ks, [ks[2], ks[0], ks[1], ks[2]]]) {
      const got = s.getAll(asked);
      expect(got.map((v) => v?.length)).toEqual(asked.map(() => 400 << 10));
      expect(got[0]!.buffer).toBe(got[1]!.buffer); // the first two in the pack's copy
      expect(got[2]!.buffer).not.toBe(got[0]!.buffer); // the third copied alone
      // Buffer.equals: toEqual compares megabytes element by element, for seconds.
      asked.forEach((k, i) => { expect(Buffer.from(got[i]!).equals(Buffer.from(s.get(k)!))).toBe(true); });
    }
    await s.close();
  });

  it('copies every value out before a user codec decodes one, which may call the store', async () => {
    let store: Store<string, string> | undefined;
    const calls: string[] = [];
    // decode reads the store again (a different batch): the first batch's values must already
    // be out of linear memory, whose regions that read reuses.
    const reentrant: Codec<string> = {
      encode: (v) => new TextEncoder().encode(v),
      decode: (b) => {
        const text = new TextDecoder().decode(b);
        if (calls.length < 3) { calls.push(text); store!.getAll([key(40), key(41)]); store!.get(key(42)); }
        return text;
      },
    };
    store = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: reentrant, ...TINY });
    for (let i = 0; i < 100; i++) store.put(key(i), `v${i}-`.padEnd(40, 'x'));
    const asked = [key(1), key(2), 'nope', key(3), key(1)];
    expect(store.getAll(asked)).toEqual([1, 2, -1, 3, 1].map((i) => (i < 0 ? undefined : `v${i}-`.padEnd(40, 'x'))));
    expect(calls.length).toBe(3);
    await store.close();
  });

  it('folds merge operands, and leaves out what deletes and range deletions hide', async () => {
    const s = await Store.open<string, number>({ keyCodec: codecs.utf8, valueCodec: codecs.json, ...TINY });
    for (let i = 0; i < 200; i++) s.put(key(i), i);
    for (let i = 0; i < 200; i += 3) s.merge(key(i), 1000, 'add');
    s.merge('fresh', 5, 'add');
    s.delete(key(10));
    s.deleteRange(key(50), key(60));
    const asked = [key(0), key(1), key(10), key(51), key(60), 'fresh', key(3), key(0), 'nope'];
    const got = s.getAll(asked);
    expect(got).toEqual(asked.map((k) => s.get(k)));
    expect(got).toEqual([1000, 1, undefined, undefined, 1060, 5, 1003, 1000, undefined]);
    await s.close();
  });

  it('counts one get per key asked, as single gets do, merged keys included', async () => {
    // The interleaved path (assembly/batch-lookup.ts) counts its own answers and leaves a
    // merged key to lookup(); the host then gets that key again, alone, to fold it. Before,
    // a merged key counted twice (get_many's lookup, then the host's).
    const s = await Store.open<string, number>({ keyCodec: codecs.utf8, valueCodec: codecs.json, ...TINY });
    for (let i = 0; i < 100; i++) s.put(key(i), i);
    for (let i = 0; i < 100; i += 7) s.merge(key(i), 1, 'add');
    const asked = [...Array.from({ length: 40 }, (_, i) => key(i * 3)), 'nope', key(7), key(7)];
    const before = s.stats().counters.gets;
    const got = s.getAll(asked);
    const between = s.stats().counters.gets;
    expect(got).toEqual(asked.map((k) => s.get(k)));
    expect(between - before).toBe(asked.length);
    expect(s.stats().counters.gets - between).toBe(asked.length);
    await s.close();
  });

  it('refuses a key too large with KEY_TOO_LARGE and reads nothing', async () => {
    const s = await Store.open({ ...TINY });
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    expect(codeOf(() => s.getAll([new Uint8Array([1]), new Uint8Array(65_536)]))).toBe('KEY_TOO_LARGE');
    expect(codeOf(() => s.getAll('x' as never))).toBe('INVALID_ARGUMENT');
    expect(s.getAll([new Uint8Array([1])])).toEqual([new Uint8Array([2])]);
    await s.close();
  });

  it('reads file-backed runs with a zero-byte block cache exactly as single gets do', async () => {
    // Every safe point evicts every unpinned block: a value kept past one would read poison.
    const dir = freshDir();
    const fill = await Store.open<string, Uint8Array>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.bytes, memtableBytes: 16 << 10, blockBytes: 1024 });
    for (let i = 0; i < 3000; i++) fill.put(key(i), bytesOf(i));
    await fill.close();
    const s = await Store.open<string, Uint8Array>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.bytes, blockCacheBytes: 0 });
    expect(s.stats().fileBackedRuns).toBeGreaterThan(1);
    const asked = Array.from({ length: 1500 }, (_, i) => (i % 5 === 0 ? `absent${i}` : key((i * 7919) % 3000)));
    const got = s.getAll(asked);
    expect(got).toEqual(asked.map((k) => s.get(k)));
    expect(got.filter((v) => v !== undefined).length).toBe(1200);
    await s.close();
  });

  it('throws CORRUPTION naming the run file and offset when a key\'s block is damaged', async () => {
    const dir = freshDir();
    const fill = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, blockBytes: 1024 });
    for (let i = 0; i < 3000; i++) fill.put(key(i), `value-${i}`);
    await fill.close();
    const run = readdirSync(dir).filter((f) => f.endsWith('.run')).sort()[0];
    const bytes = readFileSync(join(dir, run));
    bytes[1500] ^= 0x40;
    writeFileSync(join(dir, run), bytes);
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    // The keys whose single get meets the damage: getAll of a batch holding any of them fails.
    const damaged = Array.from({ length: 3000 }, (_, i) => key(i)).filter((k) => codeOf(() => s.get(k)) === 'CORRUPTION');
    expect(damaged.length).toBeGreaterThan(0);
    const asked = [key(2999), damaged[0], 'nope'];
    let err: unknown;
    try { s.getAll(asked); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StrataError);
    expect(String(err)).toMatch(new RegExp(`\\[CORRUPTION\\]: .*${run} at offset \\d+`));
    // A batch clear of the damage still reads.
    expect(s.getAll([key(2999), 'nope'])).toEqual([`value-2999`, undefined]);
    await s.close();
  });
});
