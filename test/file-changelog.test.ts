// FileChangelog: the segment format byte by byte (docs/CHANGELOG-FORMAT.md, checked with a
// bitwise CRC-32C written here), round trips across reopen, fromSeq across segments, torn
// tails forgiven, damage reported as CORRUPTION with file and offset, key compaction checked
// against a Map model and against MemoryChangelog (metamorphic), interrupted compactions,
// LOCKED in-process and cross-process, and a real crash: a child appending with sync: true
// is SIGKILLed and every acknowledged record must read back.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FileChangelog, MemoryChangelog, Store, StrataError, type ChangeRecord } from 'strata-kv';
import { recordFor, WRITER_PARTITIONS } from './fixtures/changelog-records.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const rec = (partition: number, seq: number, key: string, value: string | null): ChangeRecord =>
  ({ partition, seq, key: enc(key), value: value === null ? null : enc(value) });
/** Plain Uint8Arrays, so records compare equal whatever views the reader hands out. */
const plain = (r: ChangeRecord): ChangeRecord =>
  ({ partition: r.partition, seq: r.seq, key: Uint8Array.from(r.key), value: r.value === null ? null : Uint8Array.from(r.value) });
const readAll = (log: { read(p: number, from?: number): Iterable<ChangeRecord> }, p: number, from?: number) =>
  [...log.read(p, from)].map(plain);

const HEADER = 36, FRAME = 12, FIXED = 17;
const frameBytes = (key: number, value: number) => FRAME + FIXED + key + value;

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fcl-'));
  dirs.push(d);
  return d;
}
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function segments(dir: string, p: number): string[] {
  const pd = path.join(dir, `p-${p}`);
  return fs.readdirSync(pd).filter((n) => n.endsWith('.log')).sort().map((n) => path.join(pd, n));
}

async function codeOf(fn: () => unknown): Promise<string> {
  try { await fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'no error';
}

async function errorOf(fn: () => unknown): Promise<StrataError> {
  try { await fn(); } catch (err) {
    if (err instanceof StrataError) return err;
    throw err;
  }
  throw new Error('expected a StrataError');
}

/** Key → { value, version } after applying records in order; tombstones delete. */
function replay(records: Iterable<ChangeRecord>): Map<string, { value: string; version: number }> {
  const m = new Map<string, { value: string; version: number }>();
  for (const r of records) {
    if (r.value === null) m.delete(dec(r.key)); else m.set(dec(r.key), { value: dec(r.value), version: r.seq });
  }
  return m;
}

/** The model of a key-compacted log: the latest record of each key, in seq order. */
function latestPerKey(records: ChangeRecord[]): ChangeRecord[] {
  const latest = new Map<string, ChangeRecord>();
  for (const r of records) latest.set(dec(r.key), r);
  return [...latest.values()].sort((a, b) => a.seq - b.seq);
}

/** CRC-32C, bit by bit: the test's own model of the checksum. */
function crc32cModel(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('FileChangelog format', () => {
  it('writes segments exactly as docs/CHANGELOG-FORMAT.md specifies', async () => {
    expect(crc32cModel(enc('123456789'))).toBe(0xe3069283);
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    log.append([rec(2, 5, 'ab', 'xyz'), rec(2, 2 ** 40 + 7, 'ab', null)]);
    await log.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['p-2']);
    const [file] = segments(dir, 2);
    expect(path.basename(file)).toBe('0000000000000005.log');
    const b = fs.readFileSync(file);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    expect(b.subarray(0, 8).toString('latin1')).toBe('STRATACL');
    expect([b[8], b[9], dv.getUint16(10, true), dv.getUint32(12, true)]).toEqual([1, 0, 0, 2]);
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true), dv.getUint32(28, true)]).toEqual([5, 0, 5, 0]);
    expect(dv.getUint32(32, true)).toBe(crc32cModel(b.subarray(0, 32)));
    // record 1: a put
    let o = HEADER;
    expect(dv.getUint32(o, true)).toBe(FIXED + 5);
    expect(dv.getUint32(o + 4, true)).toBe(((FIXED + 5) ^ 0xffffffff) >>> 0);
    expect(dv.getUint32(o + 8, true)).toBe(crc32cModel(b.subarray(o + 12, o + 12 + FIXED + 5)));
    o += FRAME;
    expect([dv.getUint32(o, true), dv.getUint32(o + 4, true), dv.getUint32(o + 8, true), b[o + 12], dv.getUint32(o + 13, true)]).toEqual([2, 5, 0, 0, 2]);
    expect(b.subarray(o + 17, o + 22).toString('latin1')).toBe('abxyz');
    o += FIXED + 5;
    // record 2: a tombstone with a seq above 2^32
    expect(dv.getUint32(o, true)).toBe(FIXED + 2);
    expect(dv.getUint32(o + 8, true)).toBe(crc32cModel(b.subarray(o + 12, o + 12 + FIXED + 2)));
    o += FRAME;
    expect([dv.getUint32(o, true), dv.getUint32(o + 4, true), dv.getUint32(o + 8, true), b[o + 12], dv.getUint32(o + 13, true)]).toEqual([2, 7, 256, 1, 2]);
    expect(o + FIXED + 2).toBe(b.length);
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false); // close released it
  });
});

describe('FileChangelog reads and writes', () => {
  it('round-trips records across partitions and a reopen; reads see buffered appends', async () => {
    const dir = tmpDir();
    const written = [
      rec(0, 1, 'a', '1'), rec(0, 2, '', ''), rec(0, 3, 'a', null), rec(0, 4, 'b', 'v'.repeat(3000)),
      rec(3, 10, 'x', 'y'), rec(3, 11, 'x', null),
    ];
    const log = new FileChangelog(dir);
    log.append(written.slice(0, 2));
    log.append([written[4]]);
    log.append(written.slice(2, 4));
    log.append([written[5]]);
    expect(readAll(log, 0)).toEqual(written.slice(0, 4));
    expect(readAll(log, 3)).toEqual(written.slice(4));
    await log.close();
    expect(await codeOf(() => log.append([rec(0, 5, 'b', 'c')]))).toBe('CLOSED');
    expect(readAll(log, 0)).toEqual(written.slice(0, 4)); // readable after close

    const again = await FileChangelog.open({ path: dir });
    expect(again.partitions()).toEqual([0, 3]);
    expect([again.lastSeq(0), again.lastSeq(3), again.lastSeq(1)]).toEqual([4, 11, 0]);
    expect(readAll(again, 0)).toEqual(written.slice(0, 4));
    expect(readAll(again, 3, 11)).toEqual(written.slice(5));
    expect(readAll(again, 1)).toEqual([]);
    expect(await codeOf(() => again.append([rec(0, 4, 'b', 'c')]))).toBe('INVALID_ARGUMENT');
    again.append([rec(0, 5, 'b', 'c')]);
    await again.close();
    const third = new FileChangelog(dir);
    expect(readAll(third, 0).at(-1)).toEqual(rec(0, 5, 'b', 'c'));
    await third.close();
  });

  it('carries records larger than a read chunk and a segment', async () => {
    const dir = tmpDir();
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) >>> 3;
    const log = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
    log.append([rec(0, 1, 'small', 'x'), { partition: 0, seq: 2, key: enc('big'), value: big }, rec(0, 3, 'small', 'y')]);
    await log.close();
    const again = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
    const got = [...again.read(0)];
    expect(got.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(Buffer.from(got[1].value!).equals(big)).toBe(true); // toEqual walks 3M bytes one by one: too slow
    expect(segments(dir, 0).length).toBe(3);
    await again.close();
  });

  it('rolls segments at segmentBytes, and fromSeq reads start in the right one', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir, { segmentBytes: 300 });
    const all: ChangeRecord[] = [];
    for (let s = 1; s <= 200; s++) {
      const r = rec(0, s * 3, `key${s % 17}`, s % 5 === 0 ? null : `value-${s}`);
      all.push(r);
      log.append([r]);
    }
    await log.flush();
    const files = segments(dir, 0);
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(300);
    // Each file is named by its first record's seq.
    for (const f of files) {
      const b = fs.readFileSync(f);
      const first = new DataView(b.buffer, b.byteOffset).getUint32(HEADER + FRAME + 4, true);
      expect(path.basename(f)).toBe(`${String(first).padStart(16, '0')}.log`);
    }
    for (const from of [0, 1, 3, 4, 150, 299, 300, 301, 598, 600, 601, 10_000]) {
      expect(readAll(log, 0, from)).toEqual(all.filter((r) => r.seq >= from));
    }
    await log.close();
    const again = await FileChangelog.open(dir, { segmentBytes: 300 });
    expect(readAll(again, 0, 301)).toEqual(all.filter((r) => r.seq >= 301));
    await again.close();
  });

  it('refuses bad input with typed errors and changes nothing', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    log.append([rec(0, 5, 'a', '1')]);
    expect(await codeOf(() => log.append([rec(0, 6, 'b', '2'), rec(0, 6, 'c', '3')]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => log.append([{ partition: 0, seq: 7, key: 'k', value: null } as unknown as ChangeRecord]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => log.read(0, NaN))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => new FileChangelog(tmpDir(), { segmentBytes: 0 }))).toBe('INVALID_ARGUMENT');
    expect(readAll(log, 0)).toEqual([rec(0, 5, 'a', '1')]);
    await log.close();
  });
});

describe('FileChangelog as a Store’s changelog', () => {
  it('a store restored from the reopened log has the same keys, values and versions', async () => {
    const dir = tmpDir();
    const store = await Store.open({ changelog: await FileChangelog.open(dir, { sync: true, segmentBytes: 4096 }) });
    for (let i = 0; i < 500; i++) store.put(enc(`k${i % 60}`), enc(`v${i}`));
    store.deleteAll([enc('k1'), enc('k2')]);
    store.write([{ type: 'put', key: enc('k1'), value: enc('') }, { type: 'del', key: enc('k3') }]);
    const want = [...store.all()].map(([k, v]) => [dec(k), dec(v), store.getVersioned(k)!.version]);
    await store.close(); // flushes and closes its sinks
    const log = await FileChangelog.open(dir);
    await log.compact();
    for (const source of [log.read(0), readAll(log, 0)]) {
      const restored = await Store.open();
      await restored.restore(source);
      expect([...restored.all()].map(([k, v]) => [dec(k), dec(v), restored.getVersioned(k)!.version])).toEqual(want);
      await restored.close();
    }
    await log.close();
  });
});

describe('FileChangelog recovery', () => {
  /** A log of `n` records (fixed sizes) in one segment, closed; returns its file. */
  async function oneSegment(n: number): Promise<{ dir: string; file: string; size: number; all: ChangeRecord[] }> {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    const all = Array.from({ length: n }, (_, i) => rec(0, i + 1, `key-${String(i).padStart(4, '0')}`, `value-${String(i).padStart(6, '0')}`));
    log.append(all);
    await log.close();
    return { dir, file: segments(dir, 0)[0], size: frameBytes(8, 12), all };
  }

  it('forgives a torn final record at any cut, truncates it, and appends after it', async () => {
    const { dir, file, size, all } = await oneSegment(20);
    const pristine = fs.readFileSync(file);
    const lastStart = HEADER + 19 * size;
    expect(pristine.length).toBe(lastStart + size);
    await fc.assert(fc.asyncProperty(fc.integer({ min: lastStart, max: lastStart + size - 1 }), async (cut) => {
      fs.writeFileSync(file, pristine.subarray(0, cut));
      const log = await FileChangelog.open(dir);
      expect(readAll(log, 0)).toEqual(all.slice(0, 19));
      expect(log.lastSeq(0)).toBe(19);
      log.append([rec(0, 20, 'after', 'crash')]);
      await log.close();
      expect(fs.statSync(file).size).toBe(lastStart + frameBytes(5, 5));
      const again = await FileChangelog.open(dir);
      expect(readAll(again, 0)).toEqual([...all.slice(0, 19), rec(0, 20, 'after', 'crash')]);
      await again.close();
    }), { numRuns: 40 });
  });

  it('forgives zero-filled space after the last record, and a torn header of a new last segment', async () => {
    const { dir, file, all } = await oneSegment(5);
    fs.appendFileSync(file, Buffer.alloc(4096));
    let log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(all);
    await log.close();
    // A crash right after a new segment's creation: a few header bytes, then nothing.
    const torn = path.join(dir, 'p-0', `${String(6).padStart(16, '0')}.log`);
    fs.writeFileSync(torn, Buffer.from('STRAT'));
    log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(all);
    expect(fs.existsSync(torn)).toBe(false);
    log.append([rec(0, 6, 'k', 'v')]);
    expect(readAll(log, 0).length).toBe(6);
    await log.close();
  });

  it('reports a flipped byte in the middle as CORRUPTION naming the file and the record offset', async () => {
    const { dir, file, size } = await oneSegment(20);
    const pristine = fs.readFileSync(file);
    for (const [record, at, what] of [[7, FRAME + FIXED + 3, 'a key byte'], [7, FRAME + FIXED + 8 + 5, 'a value byte'], [3, 1, 'the length'], [12, 9, 'the checksum'], [0, FRAME + 5, 'the seq']] as const) {
      const damaged = Buffer.from(pristine);
      const offset = HEADER + record * size;
      damaged[offset + at] ^= 0x10;
      fs.writeFileSync(file, damaged);
      // The last segment is scanned on open, so the open itself reports it.
      const err = await errorOf(() => new FileChangelog(dir));
      expect(err.code, what).toBe('CORRUPTION');
      expect(err.message).toContain(file);
      expect(err.message).toContain(`offset ${offset}`);
    }
    // A damaged header too.
    const damaged = Buffer.from(pristine);
    damaged[13] ^= 1;
    fs.writeFileSync(file, damaged);
    const err = await errorOf(() => new FileChangelog(dir));
    expect([err.code, err.message.includes(`${file} at byte offset 0`)]).toEqual(['CORRUPTION', true]);
    fs.writeFileSync(file, pristine);
    const log = new FileChangelog(dir);
    expect(readAll(log, 0).length).toBe(20);
    await log.close();
  });

  it('reports damage in a sealed segment when a read reaches it, at its offset', async () => {
    const dir = tmpDir();
    let log = await FileChangelog.open(dir, { segmentBytes: 1024 });
    for (let s = 1; s <= 100; s++) log.append([rec(0, s, `k${s % 10}`, 'x'.repeat(40))]);
    await log.close();
    const files = segments(dir, 0);
    expect(files.length).toBeGreaterThan(3);
    const victim = files[1];
    const b = fs.readFileSync(victim);
    const offset = HEADER + 2 * frameBytes(2, 40); // keys k0..k9 are 2 bytes
    b[offset + FRAME + FIXED + 10] ^= 0xff;
    fs.writeFileSync(victim, b);
    log = await FileChangelog.open(dir, { segmentBytes: 1024 });
    const it = log.read(0)[Symbol.iterator](); // records before the damage still read
    for (let i = 0; i < 15; i++) expect(it.next().value!.seq).toBe(i + 1);
    it.return!();
    const err = await errorOf(() => [...log.read(0)]);
    expect(err.code).toBe('CORRUPTION');
    expect(err.message).toContain(`${victim} at byte offset ${offset}`);
    // Even a torn-looking end is damage in a sealed segment.
    fs.writeFileSync(victim, fs.readFileSync(victim).subarray(0, offset + 5));
    expect((await errorOf(() => [...log.read(0)])).message).toContain(`${victim} at byte offset ${offset}`);
    await log.close();
  });

  it('drops a damaged final record like a torn one (documented: the two cannot be told apart)', async () => {
    const { dir, file, size, all } = await oneSegment(10);
    const b = fs.readFileSync(file);
    b[HEADER + 9 * size + FRAME + 20] ^= 1;
    fs.writeFileSync(file, b);
    const log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(all.slice(0, 9));
    await log.close();
  });
});

describe('FileChangelog compaction', () => {
  const opArb = fc.oneof(
    { weight: 8, arbitrary: fc.record({
      type: fc.constant('append' as const),
      records: fc.array(fc.record({
        partition: fc.integer({ min: 0, max: 1 }),
        key: fc.integer({ min: 0, max: 9 }),
        value: fc.option(fc.string({ maxLength: 30 }), { nil: null, freq: 4 }),
      }), { minLength: 1, maxLength: 5 }),
    }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('compact' as const), partition: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }) }) },
    { weight: 1, arbitrary: fc.constant({ type: 'reopen' as const }) },
  );

  it('keeps exactly the latest record per key; replaying it gives the full log’s state (models: Map, MemoryChangelog)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), fc.constantFrom(64, 256, 4096), async (ops, segmentBytes) => {
      const dir = tmpDir();
      let log = await FileChangelog.open(dir, { segmentBytes });
      const mem = new MemoryChangelog();
      const full: ChangeRecord[][] = [[], []];
      const seq = [0, 0];
      try {
        for (const op of ops) {
          if (op.type === 'append') {
            const records = op.records.map((r) => rec(r.partition, ++seq[r.partition] * 2, `k${r.key}`, r.value));
            log.append(records);
            mem.append(records);
            for (const r of records) full[r.partition].push(r);
          } else if (op.type === 'compact') {
            await log.compact(op.partition);
            await mem.compact(op.partition);
          } else {
            await log.close();
            log = await FileChangelog.open(dir, { segmentBytes });
          }
          for (let p = 0; p < 2; p++) {
            const got = readAll(log, p);
            expect(got).toEqual(readAll(mem, p));                       // same records as the memory log
            expect(replay(got)).toEqual(replay(full[p]));              // same final state and versions
            for (const r of got) expect(r).toEqual(full[p].find((f) => f.seq === r.seq)); // only real records
          }
        }
        await log.compact();
        for (let p = 0; p < 2; p++) {
          expect(readAll(log, p)).toEqual(latestPerKey(full[p]));
          if (full[p].length > 0) expect(segments(dir, p).length).toBe(1);
          expect(log.lastSeq(p)).toBe(seq[p] * 2);
        }
        await log.close();
        log = await FileChangelog.open(dir, { segmentBytes });
        for (let p = 0; p < 2; p++) expect(readAll(log, p)).toEqual(latestPerKey(full[p]));
      } finally {
        await log.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }), { numRuns: 40 });
  });

  it('shrinks the log to its live keys, and appends continue after it', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir, { segmentBytes: 4096 });
    for (let s = 1; s <= 2000; s++) log.append([rec(0, s, `key${s % 50}`, `value-${s}`.padEnd(64, '.'))]);
    await log.flush();
    const bytes = () => segments(dir, 0).reduce((n, f) => n + fs.statSync(f).size, 0);
    const before = bytes();
    expect(await log.compact()).toEqual({ before: 2000, after: 50 });
    expect(bytes()).toBeLessThan(before / 30);
    expect(await log.compact()).toEqual({ before: 50, after: 50 }); // already compact
    log.append([rec(0, 2001, 'key1', 'new')]);
    expect(readAll(log, 0).length).toBe(51);
    expect(readAll(log, 0, 2001)).toEqual([rec(0, 2001, 'key1', 'new')]);
    await log.close();
  });

  it('a read in progress neither loses nor repeats records across a compaction', async () => {
    for (const stopAt of [0, 1, 50, 150, 299]) {
      const log = await FileChangelog.open(tmpDir(), { segmentBytes: 512 });
      const all: ChangeRecord[] = [];
      for (let s = 1; s <= 300; s++) { const r = rec(0, s, `k${s % 7}`, `v${s}`); all.push(r); log.append([r]); }
      const it = log.read(0)[Symbol.iterator]();
      const seen: ChangeRecord[] = [];
      for (let i = 0; i < stopAt; i++) seen.push(plain(it.next().value!));
      await log.compact();
      for (let r = it.next(); !r.done; r = it.next()) seen.push(plain(r.value));
      const seqs = seen.map((r) => r.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(replay(seen)).toEqual(replay(all));
      expect(seen.slice(0, stopAt)).toEqual(all.slice(0, stopAt));
      await log.close();
    }
  });

  it('recovers from a crash in the middle of a compaction, at either side of the rename', async () => {
    const dir = tmpDir();
    let log = await FileChangelog.open(dir, { segmentBytes: 512 });
    const all: ChangeRecord[] = [];
    for (let s = 1; s <= 200; s++) { const r = rec(0, s, `k${s % 9}`, `v${s}`); all.push(r); log.append([r]); }
    await log.close();
    const inputs = segments(dir, 0).map((f) => [f, fs.readFileSync(f)] as const);
    expect(inputs.length).toBeGreaterThan(3);

    // Before the rename: the inputs are intact beside a half-written .tmp.
    fs.writeFileSync(`${inputs[0][0]}.tmp`, 'half a compaction');
    log = await FileChangelog.open(dir, { segmentBytes: 512 });
    expect(readAll(log, 0)).toEqual(all);
    expect(fs.existsSync(`${inputs[0][0]}.tmp`)).toBe(false);
    await log.compact();
    await log.close();

    // After the rename, before the deletes: the replaced inputs are back beside the output.
    for (const [f, b] of inputs.slice(1)) fs.writeFileSync(f, b);
    log = await FileChangelog.open(dir, { segmentBytes: 512 });
    expect(readAll(log, 0)).toEqual(latestPerKey(all));
    expect(segments(dir, 0)).toEqual([inputs[0][0]]);
    log.append([rec(0, 201, 'k1', 'later')]);
    await log.close();
    log = await FileChangelog.open(dir, { segmentBytes: 512 });
    expect(replay(readAll(log, 0))).toEqual(replay([...all, rec(0, 201, 'k1', 'later')]));
    await log.close();
  });
});

describe('FileChangelog locking', () => {
  let writer: string;
  const children: ChildProcess[] = [];
  afterAll(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  beforeAll(async () => {
    // The child script is TypeScript: bundle it (with the changelog it imports) for plain node.
    const { buildSync } = await import('esbuild');
    writer = path.join(tmpDir(), 'changelog-writer.mjs');
    buildSync({
      entryPoints: [fileURLToPath(new URL('./fixtures/changelog-writer.ts', import.meta.url))],
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: writer, logLevel: 'error',
    });
  });

  function child(mode: 'write' | 'hold', dir: string): { proc: ChildProcess; lines: string[]; waitFor: (pred: (lines: string[]) => boolean) => Promise<void>; exited: Promise<void> } {
    const proc = spawn(process.execPath, [writer, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    const lines: string[] = [];
    let partial = '', stderr = '';
    const waiters: (() => void)[] = [];
    proc.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters) w();
    });
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
    const waitFor = (pred: (lines: string[]) => boolean) => new Promise<void>((resolve, reject) => {
      const check = () => { if (pred(lines)) resolve(); };
      waiters.push(check);
      check();
      void exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
    });
    return { proc, lines, waitFor, exited };
  }

  it('a second open of the directory in this process is LOCKED until the first closes', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    expect(await codeOf(() => FileChangelog.open(dir))).toBe('LOCKED');
    expect(await codeOf(() => new FileChangelog(`${dir}/./`))).toBe('LOCKED');
    await log.close();
    const again = await FileChangelog.open(dir);
    await again.close();
  });

  it('an open held by another live process is LOCKED; a dead holder’s LOCK is taken over', async () => {
    const dir = tmpDir();
    const holder = child('hold', dir);
    await holder.waitFor((l) => l.includes('ready'));
    const err = await errorOf(() => FileChangelog.open(dir));
    expect(err.code).toBe('LOCKED');
    expect(err.message).toContain(String(holder.proc.pid));
    holder.proc.kill('SIGKILL');
    await holder.exited;
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(true); // left behind by the crash
    const log = await FileChangelog.open(dir);
    await log.close();
  });

  it('after SIGKILL at a random moment, every acknowledged record reads back (6 crashes)', async () => {
    const dir = tmpDir();
    const acked = new Array<number>(WRITER_PARTITIONS).fill(0);
    for (let crash = 0; crash < 6; crash++) {
      const w = child('write', dir);
      const acks = WRITER_PARTITIONS * (1 + Math.floor(Math.random() * 20));
      await w.waitFor((l) => l.length >= acks);
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      w.proc.kill('SIGKILL');
      await w.exited;
      for (const line of w.lines) {
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (m) acked[Number(m[1])] = Math.max(acked[Number(m[1])], Number(m[2]));
      }
      const log = await FileChangelog.open(dir, { segmentBytes: 2048 });
      for (let p = 0; p < WRITER_PARTITIONS; p++) {
        const got = readAll(log, p);
        const last = log.lastSeq(p);
        expect(last).toBeGreaterThanOrEqual(acked[p]);
        expect(got.at(-1)?.seq ?? 0).toBe(last);
        const seqs = got.map((r) => r.seq);
        expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
        for (const r of got) expect(r).toEqual(plain(recordFor(p, r.seq)));
        // Compaction may have dropped superseded records: compare states, not lists.
        const fullLog = Array.from({ length: last }, (_, i) => recordFor(p, i + 1));
        expect(replay(got)).toEqual(replay(fullLog));
      }
      await log.close();
    }
    expect(acked.every((a) => a > 0)).toBe(true);
  });
});
