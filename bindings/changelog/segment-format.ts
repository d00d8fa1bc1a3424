// The byte format of a changelog segment (docs/CHANGELOG-FORMAT.md specifies every byte):
// constants, little-endian helpers, the header, the end record, the recordsChain checksum,
// and the CORRUPTION errors that name a file and offset. No I/O here.
//
//   <dir>/p-<partition>/<baseSeq>.log a segment, baseSeq zero-padded to 16 digits
//   segment := header(44) record* [end]
//   header  := "STRATACL" | version u8 (2) | flags u8 | 0 u16 | partition u32 | baseSeq u64 |
//              coversThrough u64 | prevLastSeq u64 | crc32c(bytes 0..39) u32
//   record  := length u32 | length ^ 0xFFFFFFFF u32 | crc32c(payload) u32 | payload
//   payload := partition u32 | seq u64 | flags u8 (1 = tombstone, 2 = expires, 8 = range
//              deletion: value = end key) | keyLength u32 | [expiresAt f64, when flag 2] | key | value
//   end     := a frame whose payload is partition u32 | lastSeq u64 | flags u8 (4) |
//              count u32 | firstSeq u64 | recordsChain u32 (seals the segment)
//   Version 1 segments (36-byte header without prevLastSeq, never an end record) are read.
//
// The format's part of invariant (4) (file-changelog.ts lists them all): an end record
// describes its segment's records (count, firstSeq, lastSeq, recordsChain), and a version 2
// header names the last seq of the segment before it (prevLastSeq), so a lost end of a
// segment or a lost segment is detectable. headerProblem checks a header against its file.
import { type ChangeRecord } from './contract.js';
import { StrataError } from '../errors.js';
import { crc32c, crc32cView } from '../crc32c.js';

// ---- format constants (docs/CHANGELOG-FORMAT.md) ------------------------------------------
export const MAGIC = new TextEncoder().encode('STRATACL'); // no Buffer at module scope: importing stays harmless off Node
export const VERSION = 2;
export const HEADER_BYTES = 44;
export const V1_HEADER_BYTES = 36;              // version 1: no prevLastSeq
export const NO_SEQ = -1;                       // prevLastSeq of a first segment (all ones on disk)
export const FRAME_BYTES = 12;                  // length, lengthCheck, crc
export const PAYLOAD_FIXED = 17;                // partition, seq, flags, keyLength
export const END_PAYLOAD = 29;                  // partition, lastSeq, flags, count, firstSeq, recordsChain
export const END_BYTES = FRAME_BYTES + END_PAYLOAD;
export const SEGMENT_COMPACTED = 1;             // header flag
export const RECORD_TOMBSTONE = 1;              // payload flag
export const RECORD_EXPIRES = 2;                // payload flag: an f64 expiresAt follows keyLength
export const RECORD_END = 4;                    // payload flag: the end record of a sealed segment
export const RECORD_RANGE = 8;                  // payload flag: a range deletion [key, value) (alone)
export const EXPIRES_BYTES = 8;
export const MAX_PAYLOAD = (1 << 30) - FRAME_BYTES;
export const SEGMENT_NAME = /^(\d{16})\.log$/;
export const TMP_NAME = /\.log\.tmp$/;
export const PARTITION_DIR = /^p-(\d+)$/;
export const TWO_32 = 4294967296;

/** Bytes a record's expiresAt takes: only values carry one (a tombstone needs none). */
export const expiresBytes = (r: ChangeRecord): number => (r.expiresAt !== undefined && r.value !== null ? EXPIRES_BYTES : 0);

export const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

// ---- little-endian helpers ------------------------------------------------------------------
export const rd32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}
export function wrSeq(b: Uint8Array, o: number, seq: number): void {
  wr32(b, o, seq >>> 0);
  wr32(b, o + 4, Math.floor(seq / TWO_32));
}
/** A u64 that must be a safe integer; -1 when it is not. */
export function rdSeq(b: Uint8Array, o: number): number {
  const hi = rd32(b, o + 4);
  return hi > 0x1fffff ? -1 : hi * TWO_32 + rd32(b, o);
}
/** prevLastSeq: NO_SEQ for all ones, -2 when it is neither that nor a safe integer. */
export function rdPrevSeq(b: Uint8Array, o: number): number {
  if (rd32(b, o) === 0xffffffff && rd32(b, o + 4) === 0xffffffff) return NO_SEQ;
  const seq = rdSeq(b, o);
  return seq < 0 ? -2 : seq;
}

/**
 * One step of recordsChain, the end record's checksum of a segment's records: the CRC-32C
 * of (the chain so far ‖ the next record's crc field), both u32 LE; 0 before any record.
 * Chaining the records' own checksums covers every byte of them at 8 bytes of work each.
 */
const chainView = new DataView(new ArrayBuffer(8));
export function chainStep(chain: number, recordCrc: number): number {
  chainView.setUint32(0, chain, true);
  chainView.setUint32(4, recordCrc, true);
  return crc32cView(chainView, 0, 8);
}

// ---- errors ---------------------------------------------------------------------------------
export function corruption(file: string, offset: number, reason: string): StrataError {
  return new StrataError('CORRUPTION', `changelog file ${file} at byte offset ${offset}: ${reason}`);
}
// ---- segments -------------------------------------------------------------------------------

/** A segment file. Compaction replaces Segment objects, so identity tells readers it happened. */
export interface Segment {
  readonly file: string;
  readonly base: number;
  /** Highest baseSeq of the segments this one replaced; base for an appended segment. */
  readonly covers: number;
  readonly compacted: boolean;
  readonly version: number;
  /** Version 2: the last seq of the segment before this one (NO_SEQ for the first); version 1: NO_SEQ. */
  readonly prevLastSeq: number;
}

export const segmentName = (base: number): string => `${String(base).padStart(16, '0')}.log`;

export function encodeHeader(partition: number, base: number, covers: number, flags: number, prevLastSeq: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.set(MAGIC, 0);
  h[8] = VERSION;
  h[9] = flags;
  wr32(h, 12, partition);
  wrSeq(h, 16, base);
  wrSeq(h, 24, covers);
  if (prevLastSeq === NO_SEQ) { wr32(h, 32, 0xffffffff); wr32(h, 36, 0xffffffff); } else wrSeq(h, 32, prevLastSeq);
  wr32(h, 40, crc32c(h, 0, 40));
  return h;
}

/** A header's size by its version byte (version 1 or 2; anything else is refused later). */
export const headerBytesOf = (h: Uint8Array): number => (h[8] === 1 ? V1_HEADER_BYTES : HEADER_BYTES);

/** Checks a header against the file it sits in; returns the reason it is bad, or null. */
export function headerProblem(h: Uint8Array, partition: number, base: number): string | null {
  if (h.length < V1_HEADER_BYTES) return 'the segment header is incomplete';
  if (MAGIC.some((m, i) => h[i] !== m)) return 'not a changelog segment (bad magic)';
  if (h[8] !== 1 && h[8] !== VERSION) return `unsupported segment version ${h[8]}`;
  const size = headerBytesOf(h);
  if (h.length < size) return 'the segment header is incomplete';
  if (rd32(h, size - 4) !== crc32c(h, 0, size - 4)) return 'segment header checksum mismatch';
  if ((h[9] & ~SEGMENT_COMPACTED) !== 0 || h[10] !== 0 || h[11] !== 0) return 'unknown segment flags';
  if (rd32(h, 12) !== partition) return `segment header names partition ${rd32(h, 12)}, not ${partition}`;
  if (rdSeq(h, 16) !== base) return `segment header base seq ${rdSeq(h, 16)} does not match the file name`;
  if (rdSeq(h, 24) < base) return 'segment header coversThrough is below its base seq';
  if (h[8] === VERSION) {
    const prev = rdPrevSeq(h, 32);
    if (prev === -2 || prev >= base) return 'segment header prevLastSeq is not below its base seq';
  }
  return null;
}

/** The 41 bytes of a sealed segment's end record. */
export function encodeEnd(partition: number, lastSeq: number, count: number, firstSeq: number, chain: number): Buffer {
  const e = Buffer.alloc(END_BYTES);
  wr32(e, 0, END_PAYLOAD);
  wr32(e, 4, ~END_PAYLOAD);
  const q = FRAME_BYTES;
  wr32(e, q, partition);
  wrSeq(e, q + 4, lastSeq);
  e[q + 12] = RECORD_END;
  wr32(e, q + 13, count);
  wrSeq(e, q + 17, firstSeq);
  wr32(e, q + 25, chain);
  wr32(e, 8, crc32c(e, q, q + END_PAYLOAD));
  return e;
}

/** CORRUPTION for a segment whose prevLastSeq does not continue the log before it. */
export function brokenChain(seg: Segment, prev: Segment | null, prevLast: number): StrataError {
  return corruption(seg.file, 32, prev === null
    ? `the segment follows seq ${seg.prevLastSeq}, but no segment comes before it: the partition's earlier segments are missing`
    : `the segment follows seq ${seg.prevLastSeq}, but the segment before it, ${prev.file}, ends at seq ${prevLast}: a segment between them is missing`);
}
