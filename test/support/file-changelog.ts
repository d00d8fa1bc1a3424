// What the FileChangelog tests share (test/file-changelog.*.test.ts): records and their
// bytes per docs/CHANGELOG-FORMAT.md, a bitwise CRC-32C model, an end-record model, a replay
// model, segment listing, and typed-error capture.
import { afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StrataError, type ChangeRecord } from 'strata-kv';

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);
export const rec = (partition: number, seq: number, key: string, value: string | null): ChangeRecord =>
  ({ partition, seq, key: enc(key), value: value === null ? null : enc(value) });
/** Plain Uint8Arrays, so records compare equal whatever views the reader hands out. */
export const plain = (r: ChangeRecord): ChangeRecord => {
  const p: ChangeRecord = { partition: r.partition, seq: r.seq, key: Uint8Array.from(r.key), value: r.value === null ? null : Uint8Array.from(r.value) };
  if (r.rangeEnd !== undefined) p.rangeEnd = Uint8Array.from(r.rangeEnd);
  return p;
};
export const readAll = (log: { read(p: number, from?: number): Iterable<ChangeRecord> }, p: number, from?: number) =>
  [...log.read(p, from)].map(plain);

export const HEADER = 44, FRAME = 12, FIXED = 17, END = 41;
export const frameBytes = (key: number, value: number) => FRAME + FIXED + key + value;

/** A maker of temporary directories, all removed after the calling test file: call it once,
 *  at the file's top level (it registers the afterAll there). */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

export function segments(dir: string, p: number): string[] {
  const pd = path.join(dir, `p-${p}`);
  return fs.readdirSync(pd).filter((n) => n.endsWith('.log')).sort().map((n) => path.join(pd, n));
}

export async function codeOf(fn: () => unknown): Promise<string> {
  try { await fn(); } catch (err) {
    if (err instanceof StrataError) return err.code;
    throw err;
  }
  return 'no error';
}

export async function errorOf(fn: () => unknown): Promise<StrataError> {
  try { await fn(); } catch (err) {
    if (err instanceof StrataError) return err;
    throw err;
  }
  throw new Error('expected a StrataError');
}

/** Key → { value, version } after applying records in order; tombstones delete. */
export function replay(records: Iterable<ChangeRecord>): Map<string, { value: string; version: number }> {
  const m = new Map<string, { value: string; version: number }>();
  for (const r of records) {
    if (r.value === null) m.delete(dec(r.key)); else m.set(dec(r.key), { value: dec(r.value), version: r.seq });
  }
  return m;
}

/** The model of a key-compacted log: the latest record of each key, in seq order. */
export function latestPerKey(records: ChangeRecord[]): ChangeRecord[] {
  const latest = new Map<string, ChangeRecord>();
  for (const r of records) latest.set(dec(r.key), r);
  return [...latest.values()].sort((a, b) => a.seq - b.seq);
}

/** An end record per docs/CHANGELOG-FORMAT.md, from the model CRC: seals records whose crc fields are `crcs`. */
export function endRecordModel(partition: number, firstSeq: number, lastSeq: number, crcs: number[]): Buffer {
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
export function recordStarts(b: Buffer): number[] {
  const starts: number[] = [];
  for (let o = 44; o + 12 <= b.length; o += 12 + b.readUInt32LE(o)) if (b[o + 24] !== 4) starts.push(o);
  return starts;
}

/** mulberry32: a seeded generator, so a run's choices can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** CRC-32C, bit by bit: the test's own model of the checksum. */
export function crc32cModel(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
