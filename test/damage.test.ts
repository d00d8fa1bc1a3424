// Damage to a closed store's files: every key reads its right value or throws CORRUPTION,
// before and after a compaction, and a compaction that meets damage fails and keeps its
// inputs (issue #14, item 1).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs, StrataError } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-damage-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const key = (i: number) => `key${String(i).padStart(6, '0')}`;
const value = (i: number) => `value-${i}-${'x'.repeat(i % 23)}`;
const open = (dir: string) => Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, blockBytes: 1024 });

/** The keys the store was given and their values, in the order written. */
type Expected = Map<string, string>;
const firstKeys = (n: number): Expected => new Map(Array.from({ length: n }, (_, i) => [key(i), value(i)]));

/** Reads every expected key: how many read right, threw CORRUPTION, read undefined, read wrong. */
function readAll(s: Store<string, string>, expected: Expected) {
  const r = { right: 0, corrupt: 0, missing: 0, wrong: 0 };
  for (const [k, v] of expected) {
    try {
      const got = s.get(k);
      if (got === v) r.right++;
      else if (got === undefined) r.missing++;
      else r.wrong++;
    } catch (err) {
      if (err instanceof StrataError && err.code === 'CORRUPTION') r.corrupt++;
      else throw err;
    }
  }
  return r;
}

/** A closed store of `n` keys with byte 1500 of its oldest run file flipped (the case). */
async function damagedStore(n: number): Promise<{ dir: string; run: string }> {
  const dir = freshDir();
  const s = await open(dir);
  for (let i = 0; i < n; i++) s.put(key(i), value(i));
  await s.close();
  const run = readdirSync(dir).filter((f) => f.endsWith('.run')).sort()[0];
  const bytes = readFileSync(join(dir, run));
  bytes[1500] ^= 0x40;
  writeFileSync(join(dir, run), bytes);
  return { dir, run };
}

/** The error `fn` throws or rejects with ('none' when it does not). */
async function errorOf(fn: () => unknown): Promise<string> {
  try { await fn(); return 'none'; } catch (err) { return String(err); }
}

describe('a compaction that meets a damaged run', () => {
  it('compact() rejects with CORRUPTION naming the file, and keeps its inputs: no key is lost', async () => {
    const { dir, run } = await damagedStore(3000);
    const s = await open(dir);
    const before = readAll(s, firstKeys(3000));
    expect(before.corrupt).toBeGreaterThan(0);
    expect(before).toEqual({ right: 3000 - before.corrupt, corrupt: before.corrupt, missing: 0, wrong: 0 });
    expect(await errorOf(() => s.compact())).toMatch(new RegExp(`^StrataError: CORRUPTION: .*${run} at offset \\d+: bad data block`));
    expect(readAll(s, firstKeys(3000))).toEqual(before);
    await s.close().catch(() => {});
    const again = await open(dir);
    expect(readAll(again, firstKeys(3000))).toEqual(before);
    await again.close().catch(() => {});
  });

  it('automatic compactions over 20,000 more puts lose no key', async () => {
    const { dir } = await damagedStore(3000);
    const s = await open(dir);
    const acked = firstKeys(3000);
    // New keys between the old ones, so compactions must merge the damaged run's range.
    for (let i = 0; i < 20000; i++) {
      const k = `${key(i % 3000)}-${i}`;
      try { s.put(k, value(i)); } catch (err) {
        expect((err as StrataError).code).toBe('CORRUPTION'); // refused, so not acknowledged
        continue;
      }
      acked.set(k, value(i));
    }
    const check = (t: Store<string, string>) => {
      const r = readAll(t, acked);
      expect([r.missing, r.wrong, r.right + r.corrupt]).toEqual([0, 0, acked.size]);
    };
    check(s);
    await s.close().catch(() => {});
    const again = await open(dir);
    check(again);
    await again.close().catch(() => {});
  });

  it('an automatic compaction that meets damage latches a background error: writes, flush, checkpoint and compact refused, reads go on', async () => {
    const { dir, run } = await damagedStore(3000);
    const s = await open(dir);
    expect(s.stats().backgroundError).toBeUndefined();
    const acked = firstKeys(3000);
    let latchedBy: string | undefined;
    for (let i = 0; i < 20000 && !latchedBy; i++) {
      const k = `${key(i % 3000)}-${i}`;
      s.put(k, value(i)); // the write whose slice meets the damage is applied and returns
      acked.set(k, value(i));
      if (s.stats().backgroundError) latchedBy = k;
    }
    expect(latchedBy).toBeDefined();
    expect(s.get(latchedBy!)).toBe(acked.get(latchedBy!));
    const bg = s.stats().backgroundError!;
    expect(bg.code).toBe('CORRUPTION');
    expect(bg.message).toMatch(new RegExp(`${run} at offset \\d+: bad data block`));
    const seq = s.stats().sequence;
    const refused = new RegExp(`^StrataError: CORRUPTION: .*refused: .*${run} at offset \\d+`);
    expect(await errorOf(() => s.put('refused', 'x'))).toMatch(refused);
    expect(await errorOf(() => s.putAll([['refused', 'x'], ['refused2', 'y']]))).toMatch(refused);
    expect(await errorOf(() => s.delete(key(1)))).toMatch(refused);
    expect(await errorOf(() => s.putIfVersion('refused', 'x', 0))).toMatch(refused);
    expect(await errorOf(() => s.flush())).toMatch(refused);
    expect(await errorOf(() => s.checkpoint())).toMatch(refused);
    expect(await errorOf(() => s.compact())).toMatch(refused);
    // Refused before anything changed; reads answer (a damaged block's keys throw).
    expect(s.stats().sequence).toBe(seq);
    expect(s.get('refused')).toBeUndefined();
    const r = readAll(s, acked);
    expect([r.missing, r.wrong, r.right + r.corrupt]).toEqual([0, 0, acked.size]);
    await s.close().catch(() => {});
    // Reopened: the latch is gone, every acknowledged write is there.
    const again = await open(dir);
    expect(again.stats().backgroundError).toBeUndefined();
    const r2 = readAll(again, acked);
    expect([r2.missing, r2.wrong, r2.right + r2.corrupt]).toEqual([0, 0, acked.size]);
    await again.close().catch(() => {});
  });

  it('a log replayed at open whose compaction meets the damage still opens, with every logged write', async () => {
    const { dir } = await damagedStore(3000);
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, blockBytes: 1024, autoCompaction: false });
    const acked = firstKeys(3000);
    for (let i = 0; i < 1400; i++) { s.put(`${key(i * 2)}-${i}`, value(i)); acked.set(`${key(i * 2)}-${i}`, value(i)); }
    // A crash: the log's buffer is written, nothing else; the copy is what it leaves.
    (s as unknown as { disk: { wal: { flush(): void } } }).disk.wal.flush();
    const crash = freshDir();
    for (const n of readdirSync(dir)) if (n !== 'LOCK') writeFileSync(join(crash, n), readFileSync(join(dir, n)));
    await s.close();
    // Replay flushes the memtable, level 0 is over its trigger, and the replayed writes would
    // step a compaction through the damaged run: they must all be applied all the same.
    // (A smaller memtable now, so the replayed writes fill several.)
    const t = await Store.open<string, string>({ path: crash, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 2048, blockBytes: 1024, level0CompactionTrigger: 1 });
    const r = readAll(t, acked);
    expect([r.missing, r.wrong, r.right + r.corrupt]).toEqual([0, 0, acked.size]);
    await t.close().catch(() => {});
  });

  it('a scan over the damaged block throws CORRUPTION rather than ending early', async () => {
    const { dir, run } = await damagedStore(3000);
    const s = await open(dir);
    for (const reverse of [false, true]) {
      expect(await errorOf(() => [...s.all({ reverse })])).toMatch(new RegExp(`CORRUPTION: .*${run} at offset \\d+`));
      expect(await errorOf(() => [...s.range(key(0), key(3000), { reverse })])).toMatch(new RegExp(`CORRUPTION: .*${run} at offset \\d+`));
    }
    await s.close();
  });
});

describe('an in-memory store', () => {
  it('compact() that fails (out of memory) keeps every run and value', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, maxMemoryBytes: 2 << 20, autoCompaction: false });
    const expected: Expected = new Map();
    // Fill until about half the cap is in runs: a full compaction needs that much again.
    for (let i = 0; s.stats().engineBytes < (1 << 20) + (256 << 10); i++) {
      const k = key(i), v = value(i).repeat(8);
      s.put(k, v);
      expected.set(k, v);
    }
    await s.flush();
    const runs = s.stats().runs;
    const err = await errorOf(() => s.compact());
    expect(err).toMatch(/^StrataError: OUT_OF_MEMORY/);
    expect(s.stats().runs).toBe(runs);
    expect(s.stats().backgroundError).toBeUndefined(); // memory is not latched: it passes
    expect(readAll(s, expected)).toEqual({ right: expected.size, corrupt: 0, missing: 0, wrong: 0 });
    expect([...s.all()].length).toBe(expected.size);
    s.put('after', 'x'); // writes go on
    await s.close();
  });
});
