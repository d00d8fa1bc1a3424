// FileChangelog: the segment format byte by byte (docs/CHANGELOG-FORMAT.md, checked with a
// bitwise CRC-32C written here), round trips across reopen, fromSeq across segments, torn
// tails forgiven, damage reported as CORRUPTION with file and offset, sealed segments' end
// records and the chain between segments (a cut or lost segment is CORRUPTION, properties
// over segment and offset), version 1 segments still read, key compaction checked
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

const HEADER = 44, FRAME = 12, FIXED = 17, END = 41;
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

/** An end record per docs/CHANGELOG-FORMAT.md, from the model CRC: seals records whose crc fields are `crcs`. */
function endRecordModel(partition: number, firstSeq: number, lastSeq: number, crcs: number[]): Buffer {
  let chain = 0;
  for (const c of crcs) {
    const pair = Buffer.alloc(8);
    pair.writeUInt32LE(chain, 0);
    pair.writeUInt32LE(c, 4);
    chain = crc32cModel(pair);
  }
  const e = Buffer.alloc(41);
  e.writeUInt32LE(29, 0);
  e.writeUInt32LE((29 ^ 0xffffffff) >>> 0, 4);
  e.writeUInt32LE(partition, 12);
  e.writeUInt32LE(lastSeq, 16);
  e[24] = 4;
  e.writeUInt32LE(crcs.length, 25);
  e.writeUInt32LE(firstSeq, 29);
  e.writeUInt32LE(chain, 37);
  e.writeUInt32LE(crc32cModel(e.subarray(12)), 8);
  return e;
}

/** The start offsets of a segment's records (version 2), end record excluded. */
function recordStarts(b: Buffer): number[] {
  const starts: number[] = [];
  for (let o = 44; o + 12 <= b.length; o += 12 + b.readUInt32LE(o)) if (b[o + 24] !== 4) starts.push(o);
  return starts;
}

/** mulberry32: a seeded generator, so a run's choices can be repeated. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
    expect([b[8], b[9], dv.getUint16(10, true), dv.getUint32(12, true)]).toEqual([2, 0, 0, 2]);
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true), dv.getUint32(28, true)]).toEqual([5, 0, 5, 0]);
    expect([dv.getUint32(32, true), dv.getUint32(36, true)]).toEqual([0xffffffff, 0xffffffff]); // first segment: no predecessor
    expect(dv.getUint32(40, true)).toBe(crc32cModel(b.subarray(0, 40)));
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
    expect(o + FIXED + 2).toBe(b.length); // the last segment is not sealed: no end record
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false); // close released it
  });

  it('seals a segment with an end record and links the next one to it, as specified', async () => {
    const dir = tmpDir();
    // 200 bytes: three 34-byte records and the end record fit after the header, not four.
    const log = await FileChangelog.open(dir, { segmentBytes: 200 });
    log.append([rec(1, 5, 'ab', 'xyz'), rec(1, 6, 'ab', 'xyz'), rec(1, 7, 'ab', null), rec(1, 9, 'ab', 'xyz')]);
    await log.close();
    const [first, second] = segments(dir, 1);
    expect(path.basename(second)).toBe('0000000000000009.log');
    const b = fs.readFileSync(first);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    const crcs: number[] = [];
    let o = HEADER;
    for (let i = 0; i < 3; i++) { crcs.push(dv.getUint32(o + 8, true)); o += FRAME + dv.getUint32(o, true); }
    expect(b.length).toBe(o + END);
    expect(b.length).toBeLessThanOrEqual(200);
    expect([dv.getUint32(o, true), dv.getUint32(o + 4, true)]).toEqual([29, (29 ^ 0xffffffff) >>> 0]);
    expect(dv.getUint32(o + 8, true)).toBe(crc32cModel(b.subarray(o + FRAME, o + END)));
    const q = o + FRAME;
    const chain = endRecordModel(1, 5, 7, crcs).readUInt32LE(37);
    expect(b.subarray(o).equals(endRecordModel(1, 5, 7, crcs))).toBe(true);
    // partition, lastSeq (lo, hi), flags, count, firstSeq (lo, hi), recordsChain
    expect([dv.getUint32(q, true), dv.getUint32(q + 4, true), dv.getUint32(q + 8, true), b[q + 12], dv.getUint32(q + 13, true),
      dv.getUint32(q + 17, true), dv.getUint32(q + 21, true), dv.getUint32(q + 25, true)]).toEqual([1, 7, 0, 4, 3, 5, 0, chain]);
    const n = fs.readFileSync(second);
    const nv = new DataView(n.buffer, n.byteOffset, n.length);
    expect([n[8], nv.getUint32(16, true), nv.getUint32(32, true), nv.getUint32(36, true)]).toEqual([2, 9, 7, 0]); // prevLastSeq 7
    expect(nv.getUint32(40, true)).toBe(crc32cModel(n.subarray(0, 40)));
    expect(n.length).toBe(HEADER + FRAME + FIXED + 5); // the last segment: not sealed
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
    // A crash right after a new segment's creation: its predecessor is sealed (the end
    // record is written and fsynced first), the new file holds a few header bytes.
    log = await FileChangelog.open(dir, { segmentBytes: 64 });
    log.append([rec(0, 6, 'k', 'v')]); // past 64 bytes: seals the first segment, starts 6
    await log.close();
    const torn = path.join(dir, 'p-0', `${String(6).padStart(16, '0')}.log`);
    const header = fs.readFileSync(torn).subarray(0, HEADER);
    expect(fs.statSync(file).size).toBe(HEADER + 5 * frameBytes(8, 12) + END); // sealed
    for (const cut of [5, HEADER - 4]) {
      fs.writeFileSync(torn, header.subarray(0, cut));
      log = await FileChangelog.open(dir);
      expect(readAll(log, 0)).toEqual(all);
      expect(fs.existsSync(torn)).toBe(false);
      // The sealed segment is not appended to: the next record starts a new one.
      log.append([rec(0, 6, 'k', 'v')]);
      expect(readAll(log, 0).length).toBe(6);
      await log.close();
      expect(segments(dir, 0)).toEqual([file, torn]);
      log = await FileChangelog.open(dir);
      expect(readAll(log, 0)).toEqual([...all, rec(0, 6, 'k', 'v')]);
      await log.close();
    }
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

describe('FileChangelog sealed segments and their chain', () => {
  /** A closed log of 120 records over several sealed segments and an unsealed last one. */
  async function manySegments(): Promise<{ dir: string; files: string[]; all: ChangeRecord[] }> {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir, { segmentBytes: 600 });
    const all = Array.from({ length: 120 }, (_, i) => rec(0, 3 * i + 2, `k${i % 13}`, i % 10 === 9 ? null : `v${i}`.padEnd(20, '.')));
    log.append(all);
    await log.close();
    const files = segments(dir, 0);
    expect(files.length).toBeGreaterThan(5);
    return { dir, files, all };
  }

  /** Opens the log and reads it whole, then restores a store from it: the first error. */
  async function openAndRead(dir: string): Promise<StrataError | null> {
    try {
      const log = await FileChangelog.open(dir, { segmentBytes: 600 });
      try {
        [...log.read(0)];
        const store = await Store.open();
        try { await store.restore(log.read(0)); } finally { await store.close(); }
      } finally {
        await log.close();
      }
    } catch (err) {
      if (err instanceof StrataError) return err;
      throw err;
    }
    return null;
  }

  it('a sealed segment cut at a record boundary is CORRUPTION naming it and the cut, at open and in a read already under way', async () => {
    const { dir, files, all } = await manySegments();
    const victim = files[2];
    const pristine = fs.readFileSync(victim);
    let cut = HEADER; // the start of the last record: drop it and the end record
    for (let o = HEADER; o < pristine.length - END; o += FRAME + pristine.readUInt32LE(o)) cut = o;
    const log = await FileChangelog.open(dir, { segmentBytes: 600 }); // opened before the damage
    fs.writeFileSync(victim, pristine.subarray(0, cut));
    // The open log: a read reports it when it gets there, the raw path (restore) too.
    const readErr = await errorOf(() => [...log.read(0)]);
    expect([readErr.code, readErr.message.includes(`${victim} at byte offset ${cut}`)]).toEqual(['CORRUPTION', true]);
    const store = await Store.open();
    const restoreErr = await errorOf(() => store.restore(log.read(0)));
    expect([restoreErr.code, restoreErr.message.includes(victim)]).toEqual(['CORRUPTION', true]);
    await store.close();
    // Records before the damage still read, up to it.
    const it = log.read(0)[Symbol.iterator]();
    expect(plain(it.next().value!)).toEqual(all[0]);
    it.return!();
    await log.close();
    // A new open checks the chain before any read.
    const err = await errorOf(() => new FileChangelog(dir));
    expect(err.code).toBe('CORRUPTION');
    expect(err.message).toContain(`${victim} at byte offset ${cut}`);
    fs.writeFileSync(victim, pristine);
    expect(await openAndRead(dir)).toBeNull();
  });

  it('a lost middle or first segment is CORRUPTION naming the segment after the gap', async () => {
    const { dir, files } = await manySegments();
    for (const [i, what] of [[3, 'between them is missing'], [0, 'earlier segments are missing']] as const) {
      const bytes = fs.readFileSync(files[i]);
      fs.unlinkSync(files[i]);
      const err = await openAndRead(dir);
      expect(err?.code).toBe('CORRUPTION');
      expect(err?.message).toContain(`${files[i + 1]} at byte offset 32`);
      expect(err?.message).toContain(what);
      if (i > 0) expect(err?.message).toContain(files[i - 1]);
      fs.writeFileSync(files[i], bytes);
      expect(await openAndRead(dir)).toBeNull();
    }
  });

  it('a segment replaced by a shorter whole one while the log is open breaks the chain for a read walking through it', async () => {
    const { dir, files, all } = await manySegments();
    const log = await FileChangelog.open(dir, { segmentBytes: 600 });
    // Segment 3 keeps its header and first record and gets a valid end record for them: every
    // file checks out on its own, but the rest of segment 3's records are gone.
    const b = fs.readFileSync(files[3]);
    const [first, second] = recordStarts(b);
    const firstSeq = b.readUInt32LE(first + FRAME + 4);
    fs.writeFileSync(files[3], Buffer.concat([b.subarray(0, second), endRecordModel(0, firstSeq, firstSeq, [b.readUInt32LE(first + 8)])]));
    const err = await errorOf(() => [...log.read(0)]);
    expect(err.code).toBe('CORRUPTION');
    expect(err.message).toContain(`${files[4]} at byte offset 32`);
    expect(err.message).toContain(`${files[3]}, ends at seq ${firstSeq}`);
    expect(readAll(log, 0, all.at(-1)!.seq)).toEqual([all.at(-1)]); // reads that start after it still work
    await log.close();
    expect((await openAndRead(dir))?.message).toContain(`${files[4]} at byte offset 32`);
  });

  it('a flipped byte anywhere in a sealed segment (header, record, end record) is CORRUPTION naming it', async () => {
    const { dir, files } = await manySegments();
    const pristine = files.map((f) => fs.readFileSync(f));
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: files.length - 2 }), fc.nat(), fc.integer({ min: 1, max: 255 }),
      async (i, at, xor) => {
        const damaged = Buffer.from(pristine[i]);
        const offset = at % damaged.length;
        damaged[offset] ^= xor;
        fs.writeFileSync(files[i], damaged);
        try {
          const err = await openAndRead(dir);
          expect(err?.code, `byte ${offset} of segment ${i}`).toBe('CORRUPTION');
          expect(err?.message).toContain(files[i]);
        } finally {
          fs.writeFileSync(files[i], pristine[i]);
        }
      }), { numRuns: 60 });
    // Each region once, explicitly: header, a record, the end record.
    for (const offset of [13, HEADER + 20, pristine[1].length - 10]) {
      const damaged = Buffer.from(pristine[1]);
      damaged[offset] ^= 1;
      fs.writeFileSync(files[1], damaged);
      expect((await openAndRead(dir))?.message).toContain(files[1]);
      fs.writeFileSync(files[1], pristine[1]);
    }
    expect(await openAndRead(dir)).toBeNull();
  });

  it('a sealed segment cut anywhere is CORRUPTION naming it (property over segment and cut)', async () => {
    const { dir, files } = await manySegments();
    const pristine = files.map((f) => fs.readFileSync(f));
    // Half the cuts at a record boundary (the end record and whole records lost: no damaged
    // record to see), half anywhere.
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: files.length - 2 }), fc.nat(), fc.boolean(), async (i, at, boundary) => {
      const starts = recordStarts(pristine[i]);
      const cut = boundary ? [...starts, pristine[i].length - END][at % (starts.length + 1)] : at % pristine[i].length;
      fs.writeFileSync(files[i], pristine[i].subarray(0, cut));
      try {
        const err = await openAndRead(dir);
        expect(err?.code, `segment ${i} cut at ${cut}`).toBe('CORRUPTION');
        expect(err?.message).toContain(files[i]);
      } finally {
        fs.writeFileSync(files[i], pristine[i]);
      }
    }), { numRuns: 60 });
  });

  it('the last segment: a cut mid-record is a torn write; a cut end record unseals it; a compacted one is never torn', async () => {
    const { dir, files, all } = await manySegments();
    const last = files.at(-1)!;
    const lastPristine = fs.readFileSync(last);
    // A torn final record of the unsealed last segment: dropped, as documented.
    fs.writeFileSync(last, lastPristine.subarray(0, lastPristine.length - 3));
    let log = await FileChangelog.open(dir, { segmentBytes: 600 });
    expect(readAll(log, 0)).toEqual(all.slice(0, -1));
    await log.close();
    fs.writeFileSync(last, lastPristine);
    // A sealed last segment (a crash after the seal, before its successor was durable) whose
    // end record is torn: a crash while sealing; the segment is appended to again.
    fs.unlinkSync(last);
    const sealed = files.at(-2)!;
    const sealedBytes = fs.readFileSync(sealed);
    const kept = all.filter((r) => r.seq < Number(path.basename(last, '.log')));
    for (const cut of [1, 20, END - 1]) {
      fs.writeFileSync(sealed, sealedBytes.subarray(0, sealedBytes.length - cut));
      log = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
      expect(readAll(log, 0)).toEqual(kept);
      log.append([rec(0, 1000, 'after', 'crash')]);
      await log.close();
      expect(segments(dir, 0).at(-1)).toBe(sealed); // appended to it, no new segment
      log = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
      expect(readAll(log, 0)).toEqual([...kept, rec(0, 1000, 'after', 'crash')]);
      await log.close();
    }
    // A compaction's output is written whole, end record included: any cut is CORRUPTION.
    log = await FileChangelog.open(dir);
    await log.compact();
    await log.close();
    const [compacted] = segments(dir, 0);
    const c = fs.readFileSync(compacted);
    for (const cut of [1, END, END + frameBytes(5, 5)]) {
      fs.writeFileSync(compacted, c.subarray(0, c.length - cut));
      const err = await openAndRead(dir);
      expect([err?.code, err?.message.includes(compacted)]).toEqual(['CORRUPTION', true]);
    }
    fs.writeFileSync(compacted, c);
    expect(await openAndRead(dir)).toBeNull();
  });

  it('a read under way sees the records appended to its segment before the writer sealed it', async () => {
    const log = await FileChangelog.open(tmpDir(), { segmentBytes: 4096 });
    const all = Array.from({ length: 200 }, (_, i) => rec(0, i + 1, `k${i}`, 'v'.repeat(30)));
    log.append(all.slice(0, 5));
    const it = log.read(0)[Symbol.iterator]();
    const seen = [plain(it.next().value!)]; // the reader has read its segment to its end
    log.append(all.slice(5)); // fills the segment, seals it, goes on in new ones
    await log.flush();
    for (let r = it.next(); !r.done; r = it.next()) seen.push(plain(r.value));
    expect(seen).toEqual(all);
    await log.close();
  });

  it('reads version 1 segments (no end record), then continues in version 2', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'p-0'));
    // A version 1 segment written by hand per docs/CHANGELOG-FORMAT.md: 36-byte header.
    const v1 = [rec(0, 3, 'a', '1'), rec(0, 4, 'b', null), rec(0, 8, 'a', '2')];
    const parts: Buffer[] = [];
    const h = Buffer.alloc(36);
    h.write('STRATACL', 0, 'latin1');
    h[8] = 1;
    h.writeUInt32LE(3, 16);
    h.writeUInt32LE(3, 24);
    h.writeUInt32LE(crc32cModel(h.subarray(0, 32)), 32);
    parts.push(h);
    for (const r of v1) {
      const value = r.value ?? new Uint8Array(0);
      const payload = Buffer.alloc(FIXED + r.key.length + value.length);
      payload.writeUInt32LE(r.seq, 4);
      payload[12] = r.value === null ? 1 : 0;
      payload.writeUInt32LE(r.key.length, 13);
      payload.set(r.key, FIXED);
      payload.set(value, FIXED + r.key.length);
      const frame = Buffer.alloc(FRAME);
      frame.writeUInt32LE(payload.length, 0);
      frame.writeUInt32LE((payload.length ^ 0xffffffff) >>> 0, 4);
      frame.writeUInt32LE(crc32cModel(payload), 8);
      parts.push(frame, payload);
    }
    const v1File = path.join(dir, 'p-0', '0000000000000003.log');
    fs.writeFileSync(v1File, Buffer.concat(parts));
    let log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(v1);
    expect(log.lastSeq(0)).toBe(8);
    log.append([rec(0, 9, 'c', '3')]);
    await log.close();
    expect(fs.readFileSync(v1File).equals(Buffer.concat(parts))).toBe(true); // never written to
    const files = segments(dir, 0);
    expect(files.map((f) => path.basename(f))).toEqual(['0000000000000003.log', '0000000000000009.log']);
    expect(fs.readFileSync(files[1])[8]).toBe(2);
    log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual([...v1, rec(0, 9, 'c', '3')]);
    await log.compact();
    expect(fs.readFileSync(segments(dir, 0)[0])[8]).toBe(2); // compaction writes version 2
    expect(readAll(log, 0)).toEqual([v1[1], v1[2], rec(0, 9, 'c', '3')]);
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
    const random = seededRandom(0x5eed_c1a5); // deterministic kill points (the timing still varies)
    for (let crash = 0; crash < 6; crash++) {
      const w = child('write', dir);
      const acks = WRITER_PARTITIONS * (1 + Math.floor(random() * 20));
      await w.waitFor((l) => l.length >= acks);
      await new Promise((r) => setTimeout(r, random() * 40));
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
