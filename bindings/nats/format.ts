// The message format of the NATS changelog (docs/SCALING.md, "Changelog on JetStream").
//
// Every message of a partition is one of two kinds, told apart by byte 4:
//
//   header, 38 bytes, little-endian:
//     magic   4 bytes  "SKV1"
//     crc     u32      CRC-32C of every byte after this field (rest of header and body)
//     kind    u8       1 = records, 2 = claim
//     flags   u8       bit 0 (claims): `prev` is set
//     epoch   u64      records: the writer's epoch, the stream sequence of its claim; claims: 0
//     prev    u64      records: seq of the writer's record before this message's first (0 = none);
//                      claims: the seq the new writer continues from, when known (flag bit 0)
//     last    u64      records: seq of the last record; claims: the last seq the claimer had seen
//     count   u32      records in the message (0 for a claim)
//   body (records): `count` times
//     seq u64 | flags u8 (0 = tombstone, 1 = put, 3 = put with expiresAt, 4 = range deletion
//     [key, value): the value is the range's end key) | keyLen u32 | valueLen u32 |
//     [expiresAt f64, flags 3] | key | value
//   A reader before flag 4 refuses such a record (unknown flags: CORRUPTION), never misreads it.
//
// Sequences are safe integers, written as two u32 halves (low first). A message whose magic,
// crc, kind or lengths do not check out is CORRUPTION naming the stream sequence; nothing
// after it is trusted.
import type { ChangeRecord } from 'strata-kv';
import { StrataError } from 'strata-kv';
import { crc32c } from '../crc32c.js';

export const HEADER_BYTES = 38;
export const RECORD_HEADER_BYTES = 17;
export const KIND_RECORDS = 1;
export const KIND_CLAIM = 2;
const MAGIC = 0x3156_4b53; // "SKV1" read as u32 LE
const FLAG_HAS_PREV = 1;
const RECORD_PUT = 1, RECORD_PUT_EXPIRES = 3, RECORD_RANGE = 4;
/** Bytes of a record's expiresAt (puts of stores with ttlMs only). */
const expiresBytes = (r: ChangeRecord): number => (r.value !== null && r.expiresAt !== undefined ? 8 : 0);

/** A decoded message: records, or a claim (an ownership fence). */
export type ChangelogMessage =
  | { kind: typeof KIND_RECORDS; epoch: number; prev: number; last: number; records: ChangeRecord[] }
  | { kind: typeof KIND_CLAIM; prev: number | undefined; last: number };

function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n >>> 0, true);
  v.setUint32(at + 4, Math.floor(n / 2 ** 32), true);
}
function getU64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
}

/**
 * Builds record messages by appending encoded records to one growing buffer; `take()` seals
 * what has been added. The caller checks `bytes` against its message cap before adding.
 */
export class RecordMessageBuilder {
  private buf = new Uint8Array(64 << 10);
  private view = new DataView(this.buf.buffer);
  private used = HEADER_BYTES;
  count = 0;
  firstSeq = 0;
  lastSeq = 0;

  get bytes(): number { return this.used; }

  /** Encoded size of a record. */
  static sizeOf(r: ChangeRecord): number { return RECORD_HEADER_BYTES + expiresBytes(r) + r.key.length + ((r.rangeEnd ?? r.value)?.length ?? 0); }

  add(r: ChangeRecord): void {
    const need = RecordMessageBuilder.sizeOf(r);
    if (this.used + need > this.buf.length) this.grow(this.used + need);
    const v = this.view, p = this.used;
    setU64(v, p, r.seq);
    const extra = expiresBytes(r);
    const range = r.rangeEnd, value = range ?? r.value; // a range deletion's value: its end key
    v.setUint8(p + 8, range !== undefined ? RECORD_RANGE : value === null ? 0 : extra !== 0 ? RECORD_PUT_EXPIRES : RECORD_PUT);
    v.setUint32(p + 9, r.key.length, true);
    v.setUint32(p + 13, value === null ? 0 : value.length, true);
    if (extra !== 0) v.setFloat64(p + RECORD_HEADER_BYTES, r.expiresAt!, true);
    const k0 = p + RECORD_HEADER_BYTES + extra;
    this.buf.set(r.key, k0);
    if (value !== null) this.buf.set(value, k0 + r.key.length);
    this.used += need;
    if (this.count === 0) this.firstSeq = r.seq;
    this.lastSeq = r.seq;
    this.count++;
  }

  /** The message (header filled in) and a fresh, empty builder state. */
  take(epoch: number, prev: number): Uint8Array {
    const out = this.buf.slice(0, this.used);
    const v = new DataView(out.buffer);
    writeHeader(v, KIND_RECORDS, 0, epoch, prev, this.lastSeq, this.count);
    v.setUint32(4, crc32c(out, 8), true);
    this.used = HEADER_BYTES;
    this.count = 0;
    this.firstSeq = this.lastSeq = 0;
    return out;
  }

  private grow(min: number): void {
    let n = this.buf.length * 2;
    while (n < min) n *= 2;
    const b = new Uint8Array(n);
    b.set(this.buf.subarray(0, this.used));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
}

export function encodeClaim(prev: number | undefined, last: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  writeHeader(v, KIND_CLAIM, prev === undefined ? 0 : FLAG_HAS_PREV, 0, prev ?? 0, last, 0);
  v.setUint32(4, crc32c(out, 8), true);
  return out;
}

function writeHeader(v: DataView, kind: number, flags: number, epoch: number, prev: number, last: number, count: number): void {
  v.setUint32(0, MAGIC, true);
  v.setUint8(8, kind);
  v.setUint8(9, flags);
  setU64(v, 10, epoch);
  setU64(v, 18, prev);
  setU64(v, 26, last);
  v.setUint32(34, count, true);
}

/** a < b in unsigned byte order. */
export function before(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return a.length < b.length;
}

/** Decodes one message; `where` names it in CORRUPTION errors. */
export function decodeMessage(data: Uint8Array, partition: number, where: string): ChangelogMessage {
  const bad = (why: string) => new StrataError('CORRUPTION', `NATS changelog ${where}: ${why}`);
  if (data.length < HEADER_BYTES) throw bad(`message of ${data.length} bytes is shorter than its ${HEADER_BYTES}-byte header`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint32(0, true) !== MAGIC) throw bad('bad magic (not a strata-kv changelog message)');
  if (crc32c(data, 8) !== v.getUint32(4, true)) throw bad('checksum mismatch');
  const kind = v.getUint8(8);
  const last = getU64(v, 26);
  if (kind === KIND_CLAIM) {
    const hasPrev = (v.getUint8(9) & FLAG_HAS_PREV) !== 0;
    return { kind: KIND_CLAIM, prev: hasPrev ? getU64(v, 18) : undefined, last };
  }
  if (kind !== KIND_RECORDS) throw bad(`unknown message kind ${kind}`);
  const epoch = getU64(v, 10), prev = getU64(v, 18), count = v.getUint32(34, true);
  const records: ChangeRecord[] = new Array(count);
  let p = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (p + RECORD_HEADER_BYTES > data.length) throw bad(`record ${i} runs past the message end`);
    const seq = getU64(v, p);
    const flags = v.getUint8(p + 8);
    if (flags !== 0 && flags !== RECORD_PUT && flags !== RECORD_PUT_EXPIRES && flags !== RECORD_RANGE) throw bad(`record ${i} has unknown flags ${flags}`);
    const put = flags === RECORD_PUT || flags === RECORD_PUT_EXPIRES;
    const extra = flags === RECORD_PUT_EXPIRES ? 8 : 0;
    const kl = v.getUint32(p + 9, true), vl = v.getUint32(p + 13, true);
    const k0 = p + RECORD_HEADER_BYTES + extra;
    if (k0 + kl + vl > data.length) throw bad(`record ${i} runs past the message end`);
    // Views into the message's own buffer: each message is a fresh allocation, not reused.
    const r: ChangeRecord = {
      partition, seq,
      key: data.subarray(k0, k0 + kl),
      value: put ? data.subarray(k0 + kl, k0 + kl + vl) : null,
    };
    if (extra !== 0) r.expiresAt = v.getFloat64(p + RECORD_HEADER_BYTES, true);
    if (flags === RECORD_RANGE) {
      r.rangeEnd = data.subarray(k0 + kl, k0 + kl + vl);
      if (!before(r.key, r.rangeEnd)) throw bad(`record ${i} deletes a range whose end does not come after its start`);
    }
    records[i] = r;
    p = k0 + kl + vl;
  }
  if (p !== data.length) throw bad(`${data.length - p} trailing bytes after ${count} records`);
  return { kind: KIND_RECORDS, epoch, prev, last, records };
}
