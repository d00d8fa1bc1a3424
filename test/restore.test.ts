// Restore (bindings/changelog/restore.ts, engine bulk ingest in assembly/ingest.ts): restoring a
// changelog gives exactly the state, versions included, of the store that wrote it — for any
// chunking (chunks of 64+ records that fill a quarter of the memtable are ingested as level-0
// runs, smaller ones go through the memtable, so small chunk bounds mix both paths), an
// overlapping tail replayed, tombstones, a target that already holds a prefix (in its
// memtable or in runs), every source kind (arrays, MemoryChangelog, FileChangelog's raw fast
// path), and a small memory cap, where OUT_OF_MEMORY leaves whole earlier chunks applied.
// Snapshots and iterators opened before a restore see none of it. Then the ttl option of
// restoreInto (an internal import), the write-ahead log of a path store, and the raw path's
// checks. A key written more than 16 times in one ingested chunk (ingest.ts sorts such groups
// with a merge sort, which must be stable) has its own tests.
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, FileChangelog, MemoryChangelog, StrataError, codecs, type ChangeRecord } from 'strata-kv';
import { restoreInto } from '../bindings/changelog/restore.js';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-restore-')); dirs.push(d); return d; };
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };
type State = Map<string, { value: string; version: number }>;

/** The state after the ops with seq <= upTo (op i has seq i + 1). */
function stateAt(ops: Op[], upTo: number): State {
  const m: State = new Map();
  for (let i = 0; i < upTo && i < ops.length; i++) {
    const op = ops[i];
    if (op.type === 'put') m.set(op.key, { value: op.value, version: i + 1 });
    else m.delete(op.key);
  }
  return m;
}

type S = Store<string, string>;
const open = (o: Parameters<typeof Store.open<string, string>>[0] = {}) =>
  Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...o });

function dump(s: S): State {
  const m: State = new Map();
  for (const [k, v] of s.all()) m.set(k, { value: v, version: s.getVersioned(k)!.version });
  return m;
}

/** Writes the ops to a fresh store and returns its change records (seqs 1..n). */
async function changelogOf(ops: Op[]): Promise<ChangeRecord[]> {
  const s = await open({ memtableBytes: 1 << 16 });
  const log: ChangeRecord[] = [];
  s.onChange((rs) => log.push(...rs));
  for (const op of ops) if (op.type === 'put') s.put(op.key, op.value); else s.delete(op.key);
  await s.close();
  return log;
}

/** Applies ops[0, n) to the store as ordinary writes: the same seqs as the changelog's. */
function writePrefix(s: S, ops: Op[], n: number): void {
  for (let i = 0; i < n; i++) { const op = ops[i]; if (op.type === 'put') s.put(op.key, op.value); else s.delete(op.key); }
}

type SourceKind = 'array' | 'memory' | 'file';
/** A source of the records with seq >= fromSeq, of the given kind. */
async function sourceOf(kind: SourceKind, log: ChangeRecord[], fromSeq: number, lists: { close(): Promise<void> }[]): Promise<Iterable<ChangeRecord>> {
  if (kind === 'array') return log.filter((r) => r.seq >= fromSeq);
  if (kind === 'memory') {
    const m = new MemoryChangelog();
    m.append(log);
    return m.read(0, fromSeq);
  }
  const f = await FileChangelog.open({ path: freshDir(), segmentBytes: 4096 }); // many segments
  lists.push(f);
  for (let i = 0; i < log.length; i += 97) f.append(log.slice(i, i + 97));
  await f.flush();
  return f.read(0, fromSeq);
}

const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 30 }).map((i) => `k${String(i).padStart(3, '0')}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }, // any key, the empty one included
);
const valueArb = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 24 }) }, { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 400 }) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key: keyArb }) },
);
/** Small memtables: chunks of 64+ records are ingested, and flushes and compactions abound. */
const SMALL = { memtableBytes: 4096, blockBytes: 256, runTargetBytes: 4096, levelBaseBytes: 16384, level0CompactionTrigger: 2 };

describe('restore(changelog(ops)) ≡ state(ops), versions included (fast-check)', () => {
  it('any chunking, source, prefix already in the target, and overlapping tail', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 700 }),
      fc.record({
        chunkRecords: fc.integer({ min: 1, max: 400 }),
        chunkBytes: fc.option(fc.integer({ min: 64, max: 40_000 }), { nil: undefined }),
        source: fc.constantFrom<SourceKind>('array', 'memory', 'file'),
        prefix: fc.nat(), // ops the target has already (as its own writes)
        flushPrefix: fc.boolean(),
        split: fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: undefined }), // restore in two calls that overlap
        small: fc.boolean(),
      }),
      async (ops, o) => {
        const log = await changelogOf(ops);
        expect(log.map((r) => r.seq)).toEqual(ops.map((_, i) => i + 1));
        const prefix = o.prefix % (ops.length + 1);
        const target = await open(o.small ? SMALL : { memtableBytes: 1 << 16 });
        writePrefix(target, ops, prefix);
        if (o.flushPrefix) await target.flush();
        // Opened before the restore: they must see none of it.
        const snap = target.snapshot();
        const it = target.all();
        const before = stateAt(ops, prefix);

        const lists: { close(): Promise<void> }[] = [];
        const chunking = { chunkRecords: o.chunkRecords, chunkBytes: o.chunkBytes } as object;
        let applied = 0;
        if (o.split === undefined) {
          const p = await target.restore(await sourceOf(o.source, log, 1, lists), chunking);
          expect(p.records).toBe(log.length);
          applied += p.applied;
        } else {
          // [1, a], then [b, n] with b <= a + 1: the second call replays an overlapping tail.
          const a = o.split[0] % (log.length + 1);
          const b = 1 + (o.split[1] % (a + 1));
          applied += (await target.restore(await sourceOf(o.source, log.slice(0, a), 1, lists), chunking)).applied;
          expect(target.stats().sequence).toBe(Math.max(a, prefix));
          applied += (await target.restore(await sourceOf(o.source, log, b, lists), chunking)).applied;
        }
        for (const l of lists) await l.close();
        expect(applied).toBe(ops.length - prefix);
        expect(dump(target)).toEqual(stateAt(ops, ops.length));
        expect(target.stats().sequence).toBe(ops.length);

        // The snapshot and the iterator opened before see the store as it was.
        const seen: State = new Map();
        for (const [k, v] of it) seen.set(k, { value: v, version: 0 });
        expect([...seen.keys()]).toEqual([...before.keys()].sort(cmp));
        for (const [k, e] of before) expect(snap.get(k)).toBe(e.value);
        expect([...snap.all()].map(([k]) => k)).toEqual([...before.keys()].sort(cmp));
        snap.close();

        // Writes after the restore go above every restored version; compaction keeps it all.
        target.put('after', 'x');
        expect(target.getVersioned('after')!.version).toBe(ops.length + 1);
        await target.compact();
        const after = stateAt(ops, ops.length);
        after.set('after', { value: 'x', version: ops.length + 1 });
        expect(dump(target)).toEqual(after);
        await target.close();
      },
    ), { numRuns: 120 });
  }, 240_000);

  it('under a small memory cap: OUT_OF_MEMORY leaves whole chunks applied and the store usable', async () => {
    const bigValue = fc.string({ minLength: 500, maxLength: 3000 });
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        { weight: 5, arbitrary: fc.record({ type: fc.constant('put' as const), key: keyArb, value: bigValue }) },
        { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key: keyArb }) },
      ), { minLength: 1, maxLength: 900 }),
      fc.integer({ min: 1, max: 500 }),
      fc.constantFrom<SourceKind>('array', 'file'),
      async (ops, chunkRecords, kind) => {
        const log = await changelogOf(ops);
        const target = await open({ memtableBytes: 1 << 16, maxMemoryBytes: 1 << 20, level0CompactionTrigger: 2 });
        const lists: { close(): Promise<void> }[] = [];
        let failed: unknown;
        try {
          await target.restore(await sourceOf(kind, log, 1, lists), { chunkRecords } as object);
        } catch (err) {
          failed = err;
        }
        for (const l of lists) await l.close();
        const seq = target.stats().sequence;
        if (failed === undefined) expect(seq).toBe(ops.length);
        else {
          expect(failed).toBeInstanceOf(StrataError);
          expect((failed as StrataError).code).toBe('OUT_OF_MEMORY');
          expect(seq).toBeLessThan(ops.length);
          if (kind === 'array') expect(seq % chunkRecords).toBe(0); // chunk boundaries
        }
        // Exactly the records up to its sequence, and the instance still answers.
        expect(dump(target)).toEqual(stateAt(ops, seq));
        expect(target.get('no such key')).toBeUndefined();
        await target.close();
      },
    ), { numRuns: 40 });
  }, 240_000);
});

const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('bulk ingest', () => {
  it('a large restore becomes level-0 runs without passing through the memtable; a flush starts their compaction, writes finish it', async () => {
    const n = 6 * 8192;
    const ops: Op[] = [];
    for (let i = 0; i < n; i++) {
      const key = `key${String((i * 7919) % 20_000).padStart(6, '0')}`; // overwrites across chunks
      ops.push(i % 11 === 5 ? { type: 'del', key } : { type: 'put', key, value: `value-${i}` });
    }
    const log = await changelogOf(ops);
    // Slices on this thread: the writes finish the merge (a background worker would instead).
    const s = await open({ memtableBytes: 1 << 20, background: false });
    const p = await s.restore(log, { chunkRecords: 8192 } as object);
    expect(p.applied).toBe(n);
    const st = s.stats();
    expect(st.memtable.entries).toBe(0); // every chunk was ingested
    expect(st.levels[0].runs).toBe(Math.ceil(n / 8192));
    expect(dump(s)).toEqual(stateAt(ops, n));
    await s.flush(); // level 0 is past its trigger: the next flush starts merging it
    expect(s.stats().compaction.running).toBe(1);
    expect(dump(s)).toEqual(stateAt(ops, n));
    // Each write advances it by a slice (deletes of an absent key change no read).
    let writes = 0;
    while (s.stats().compaction.running === 1 && writes < 100_000) { s.delete('zz-absent'); writes++; }
    expect(s.stats().compaction.running).toBe(0);
    expect(s.stats().memtable.entries).toBe(writes); // no flush came in between
    expect(s.stats().levels[0].runs).toBe(0);
    expect(dump(s)).toEqual(stateAt(ops, n));
    await s.close();
  });

  // ingest.ts keeps the LAST record of each run of equal keys after sorting, so the sort must
  // be stable: entries of one key stay in sequence order. Groups of more than 16 entries with
  // equal 8-byte prefixes go through its merge sort (smaller ones through insertion sort), so
  // a key written 17+ times in one ingested chunk, or many keys equal in their first 8 bytes
  // past the common prefix, are what an unstable merge would get wrong.
  it('a hot key written many times in one ingested chunk reads as its newest version (sort stability)', async () => {
    const hot = 'hot';
    const shared = (i: number) => `same-8-bytes:${i % 13}`; // equal prefixes, different keys
    for (const hotWrites of [17, 33, 100, 1000]) {
      for (const endsWith of ['put', 'del'] as const) {
        const ops: Op[] = [];
        for (let i = 0; i < hotWrites; i++) {
          ops.push({ type: 'put', key: hot, value: `hot-${i}` });
          for (let j = 0; j < 4; j++) ops.push({ type: 'put', key: `cold${String(4 * i + j).padStart(5, '0')}`, value: `c${i}` });
          if (i % 3 === 0) ops.push({ type: 'put', key: shared(i), value: `s${i}` });
        }
        if (endsWith === 'del') ops.push({ type: 'del', key: hot });
        const log = await changelogOf(ops);
        const s = await open(SMALL);
        await s.restore(log); // one chunk
        const st = s.stats();
        expect(st.memtable.entries).toBe(0); // it was ingested, not written through the memtable
        expect(st.levels.reduce((n, l) => n + l.runs, 0)).toBeGreaterThan(0);
        const expected = stateAt(ops, ops.length);
        const newest = expected.get(hot);
        if (endsWith === 'del') expect(s.getVersioned(hot)).toBeUndefined();
        else expect(s.getVersioned(hot)).toEqual({ value: newest!.value, version: newest!.version });
        for (let i = 0; i < 13; i++) expect(s.getVersioned(shared(i))).toEqual(expected.has(shared(i)) ? { value: expected.get(shared(i))!.value, version: expected.get(shared(i))!.version } : undefined);
        expect(dump(s)).toEqual(expected);
        await s.close();
      }
    }
  });

  it('few keys, many versions each, any chunking: restore ≡ state (fast-check)', async () => {
    // Four keys (two of them equal in their first 8 bytes) in chunks of 64+ records: every
    // ingested chunk has groups of equal prefixes far past 16.
    const few = fc.constantFrom('a', 'long-key-alpha', 'long-key-beta', 'z');
    const fewOp: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ type: fc.constant('put' as const), key: few, value: fc.string({ maxLength: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('del' as const), key: few }) },
    );
    await fc.assert(fc.asyncProperty(
      fc.array(fewOp, { minLength: 64, maxLength: 600 }),
      fc.integer({ min: 64, max: 700 }),
      async (ops, chunkRecords) => {
        const log = await changelogOf(ops);
        const s = await open(SMALL);
        await s.restore(log, { chunkRecords } as object);
        expect(dump(s)).toEqual(stateAt(ops, ops.length));
        await s.close();
      },
    ), { numRuns: 60 });
  });

  it('the raw FileChangelog path checks records like the others', async () => {
    const f = await FileChangelog.open({ path: freshDir() });
    f.append([{ partition: 0, seq: 0, key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
    const s = await Store.open();
    await expect(s.restore(f.read(0))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('record 0 has seq 0') });
    expect(s.stats().sequence).toBe(0);
    f.append([{ partition: 0, seq: 1, key: new Uint8Array(65_536), value: null }]);
    await expect(s.restore(f.read(0, 1))).rejects.toMatchObject({ code: 'KEY_TOO_LARGE' });
    await s.close();
    await f.close();
  });

  it('restores from a FileChangelog through many segments and buffers, from any seq', async () => {
    const ops: Op[] = [];
    for (let i = 0; i < 30_000; i++) ops.push({ type: 'put', key: `k${(i * 31) % 5000}`, value: 'v'.repeat(i % 300) + i });
    const log = await changelogOf(ops);
    const f = await FileChangelog.open({ path: freshDir(), segmentBytes: 1 << 20 });
    for (let i = 0; i < log.length; i += 1000) f.append(log.slice(i, i + 1000));
    // Chunks of 300 kB, and the default (16 MiB: the chunk's region starts at 1 MiB and grows).
    for (const [from, chunkBytes] of [[1, 300_000], [12_345, 300_000], [29_999, 300_000], [1, undefined], [5_000, undefined]]) {
      const s = await open({ memtableBytes: 1 << 18 });
      writePrefix(s, ops, from! - 1);
      const p = await s.restore(f.read(0, from), { chunkBytes } as object);
      expect(p.applied).toBe(ops.length - from! + 1);
      expect(dump(s)).toEqual(stateAt(ops, ops.length));
      await s.close();
    }
    await f.close();
  });
});

describe('a store with a write-ahead log logs what restore applied', () => {
  it('reopening, and replaying the log after a crash, gives the restored state', async () => {
    const ops: Op[] = [];
    for (let i = 0; i < 6000; i++) ops.push(i % 9 === 0 ? { type: 'del', key: `k${i % 700}` } : { type: 'put', key: `k${i % 700}`, value: `v${i}` });
    const log = await changelogOf(ops);
    const f = await FileChangelog.open({ path: freshDir() });
    f.append(log);
    await f.flush();
    const dir = freshDir();
    const s = await open({ path: dir, memtableBytes: 1 << 16 });
    // Big chunks are ingested (run files), small ones go through the memtable (the log).
    await s.restore(f.read(0, 1), { chunkRecords: 2000 } as object);
    await s.restore(f.read(0), { chunkRecords: 1 } as object); // all skipped
    expect(dump(s)).toEqual(stateAt(ops, ops.length));
    // A crash after the restore: the log is on disk, the memtable is not in a run.
    const s2dir = freshDir();
    const s2 = await open({ path: s2dir, memtableBytes: 1 << 20 });
    await s2.restore(f.read(0), { chunkRecords: 50 } as object); // small chunks: all in the memtable
    const wal = readdirSync(s2dir).find((n) => n.endsWith('.wal'))!;
    const copy = freshDir();
    for (const n of readdirSync(s2dir)) if (n !== 'LOCK') writeFileSync(join(copy, n), readFileSync(join(s2dir, n)));
    expect(readFileSync(join(copy, wal)).length).toBeGreaterThan(10_000);
    const crashed = await open({ path: copy });
    expect(dump(crashed)).toEqual(stateAt(ops, ops.length));
    expect(crashed.stats().sequence).toBe(ops.length);
    await crashed.close();
    await s2.close();
    await s.close();
    const again = await open({ path: dir });
    expect(dump(again)).toEqual(stateAt(ops, ops.length));
    await again.close();
    await f.close();
  });
});

describe('restore() into a store whose changelog is its log', () => {
  // Found by a bug hunt: records another source held reached the checkpoint that ends the
  // restore but never the changelog, so the next open refused the directory (CORRUPTION:
  // the changelog ends before the checkpoint), and replicas lacked them.
  it('refuses records its changelog does not hold, before applying them; the directory reopens; records it holds pass', async () => {
    const ops: Op[] = Array.from({ length: 40 }, (_, i) => ({ type: 'put', key: `k${i % 13}`, value: `v${i}` }));
    const foreign = await changelogOf(ops);
    const dir = freshDir();
    const log = await FileChangelog.open({ path: freshDir() });
    const s = await open({ path: dir, changelog: log });
    await s.put('own', 'write'); // seq 1, in the changelog
    const err = await s.restore(foreign).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('INVALID_ARGUMENT');
    expect((err as StrataError).message).toMatch(/changelog holds \(seq ≤ 1 /);
    expect(dump(s)).toEqual(new Map([['own', { value: 'write', version: 1 }]]));
    // Its own changelog's records (a task catching up on it) are held: they pass.
    await s.restore(log.read(0));
    await s.put('own2', 'write2');
    await s.close();
    const again = await open({ path: dir, changelog: log });
    expect(dump(again)).toEqual(new Map([['own', { value: 'write', version: 1 }], ['own2', { value: 'write2', version: 2 }]]));
    await again.close();
    await log.close();
  });
});

describe('restoreInto with ttl (internal)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const now = Date.UTC(2026, 0, 1);
  /** A store without ttl: its get returns the stored bytes, expiresAt prefix included. */
  const engineOf = (s: Store) => (s as unknown as { engine: Parameters<typeof restoreInto>[0] }).engine;
  const expiresOf = (v: Uint8Array) => new DataView(v.buffer, v.byteOffset, v.byteLength).getFloat64(0, true);

  it('prefixes values with expiresAt (the record\'s or now + ttlMs) and turns expired puts into tombstones', async () => {
    for (const chunkRecords of [1, 3, 1000]) {
      const s = await Store.open({ memtableBytes: 4096 });
      const records: ChangeRecord[] = [
        { partition: 0, seq: 1, key: enc('plain'), value: enc('v1') },
        { partition: 0, seq: 2, key: enc('later'), value: enc('v2'), expiresAt: now + 5000 },
        { partition: 0, seq: 3, key: enc('gone'), value: enc('v3') },
        { partition: 0, seq: 4, key: enc('gone'), value: enc('v4'), expiresAt: now }, // expired: a tombstone
        { partition: 0, seq: 5, key: enc('dead'), value: null, expiresAt: now + 1 },
        { partition: 0, seq: 6, key: enc('empty'), value: new Uint8Array(0) },
      ];
      const p = await restoreInto(engineOf(s), records, { ttl: { ttlMs: 1000, now }, chunkRecords }, () => {});
      expect(p).toMatchObject({ records: 6, applied: 6, bytes: 5 + 2 + 5 + 2 + 4 + 2 + 4 + 2 + 4 + 5 });
      const plain = s.get(enc('plain'))!;
      expect(expiresOf(plain)).toBe(now + 1000);
      expect(new TextDecoder().decode(plain.subarray(8))).toBe('v1');
      expect(expiresOf(s.get(enc('later'))!)).toBe(now + 5000);
      expect(s.get(enc('gone'))).toBeUndefined(); // the expired put hides the older value
      expect(s.get(enc('dead'))).toBeUndefined();
      const empty = s.get(enc('empty'))!;
      expect(empty.length).toBe(8);
      expect(expiresOf(empty)).toBe(now + 1000);
      expect(s.getVersioned(enc('later'))!.version).toBe(2);
      expect(s.stats().sequence).toBe(6);
      await s.close();
    }
  });

  it('the same through bulk ingest (large chunks)', async () => {
    const s = await Store.open({ memtableBytes: 4096 });
    const records: ChangeRecord[] = [];
    for (let i = 1; i <= 3000; i++) {
      records.push({ partition: 0, seq: i, key: enc(`k${i % 500}`), value: enc(`v${i}`), ...(i % 3 === 0 ? { expiresAt: i % 2 ? now - 1 : now + i } : {}) });
    }
    await restoreInto(engineOf(s), records, { ttl: { ttlMs: 60_000, now }, chunkRecords: 1000 }, () => {});
    expect(s.stats().memtable.entries).toBe(0);
    for (let k = 0; k < 500; k++) {
      const last = records.filter((r) => new TextDecoder().decode(r.key) === `k${k}`).at(-1)!;
      const got = s.get(enc(`k${k}`));
      const exp = last.expiresAt ?? now + 60_000;
      if (exp <= now) { expect(got).toBeUndefined(); continue; }
      expect(expiresOf(got!)).toBe(exp);
      expect(got!.subarray(8)).toEqual(last.value);
      expect(s.getVersioned(enc(`k${k}`))!.version).toBe(last.seq);
    }
    await s.close();
  });

  it('counts the prefix against the value limit and checks expiresAt', async () => {
    const s = await Store.open();
    const e = engineOf(s);
    const big = new Uint8Array(64 * 1024 * 1024 - 7);
    await expect(restoreInto(e, [{ partition: 0, seq: 1, key: enc('k'), value: big }], { ttl: { ttlMs: 1, now } }, () => {}))
      .rejects.toMatchObject({ code: 'VALUE_TOO_LARGE' });
    await expect(restoreInto(e, [{ partition: 0, seq: 1, key: enc('k'), value: enc('v'), expiresAt: Number.NaN }], { ttl: { ttlMs: 1, now } }, () => {}))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.restore([{ partition: 0, seq: 1, key: enc('k'), value: enc('v'), expiresAt: Infinity }]))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(s.stats().sequence).toBe(0);
    // Without ttl, the limit is the plain one and expiresAt is only checked.
    await restoreInto(e, [{ partition: 0, seq: 1, key: enc('k'), value: big, expiresAt: now }], {}, () => {});
    expect(s.get(enc('k'))!.length).toBe(big.length);
    await s.close();
  });
});
