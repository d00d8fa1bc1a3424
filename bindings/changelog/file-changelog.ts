// FileChangelog: a durable changelog on the local disk (Node only). docs/CHANGELOG-FORMAT.md
// specifies every byte; in short:
//
//   <dir>/LOCK                        pid, start and token of the holder (bindings/storage/lock-file.ts)
//   <dir>/p-<partition>/<baseSeq>.log a segment, baseSeq zero-padded to 16 digits
//   segment := header(44) record* [end]
//   header  := "STRATACL" | version u8 (2) | flags u8 | 0 u16 | partition u32 | baseSeq u64 |
//              coversThrough u64 | prevLastSeq u64 | crc32c(bytes 0..39) u32
//   record  := length u32 | length ^ 0xFFFFFFFF u32 | crc32c(payload) u32 | payload
//   payload := partition u32 | seq u64 | flags u8 (1 = tombstone, 2 = expires) | keyLength u32 |
//              [expiresAt f64, when flag 2] | key | value
//   end     := a frame whose payload is partition u32 | lastSeq u64 | flags u8 (4) |
//              count u32 | firstSeq u64 | recordsChain u32 (seals the segment)
//   Version 1 segments (36-byte header without prevLastSeq, never an end record) are read.
//
// Invariants, per partition:
//   (1) seqs strictly increase in append order, across segments too, so file order is seq
//       order and a segment's name bounds the seqs it holds from below;
//   (2) only the last segment is ever appended to, and only it may end in a torn record;
//   (3) the bytes of a file before its append offset are whole records; a failed write is
//       truncated away, and after an I/O error the changelog refuses further writes;
//   (4) every segment but the last ends in its end record (written and fsynced before the
//       next segment is created; a compaction's output is written sealed), and each
//       segment's header names the last seq of the one before it: a lost end of a segment
//       or a lost segment is CORRUPTION, never a shorter log.
// Threading: everything is synchronous on the caller's thread (node:fs *Sync calls), so
// appends are ordered without locks and a reader never sees half of a write.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { RAW_RECORDS, type ChangeRecord, type ChangelogSink, type ChangelogSource, type RawRecord } from './contract.js';
import { StrataError, invalid } from '../errors.js';
import { checkBatch, checkFromSeq, checkPartition, type CompactionResult } from './memory-changelog.js';
import { crc32c, crc32cView } from '../crc32c.js';
import { acquireLock } from '../storage/lock-file.js';
import { ioError } from '../storage/io-error.js';

export interface FileChangelogOptions {
  /** A segment is sealed when the next record would take it past this size. Default 32 MiB. */
  segmentBytes?: number;
  /** true: flush() fsyncs what it wrote (and new directory entries). Default false. */
  sync?: boolean;
}

// ---- tuning ------------------------------------------------------------------------------
const DEFAULT_SEGMENT_BYTES = 32 << 20; // open scans the last segment: ~50 ms at this size
const WRITE_BUFFER_BYTES = 1 << 20;     // per partition: appends coalesce into writes this big
const READ_CHUNK_BYTES = 1 << 20;       // reads are big and sequential: a syscall per ~7k records

// ---- format constants (docs/CHANGELOG-FORMAT.md) ------------------------------------------
const MAGIC = new TextEncoder().encode('STRATACL'); // no Buffer at module scope: importing stays harmless off Node
const VERSION = 2;
const HEADER_BYTES = 44;
const V1_HEADER_BYTES = 36;              // version 1: no prevLastSeq
const NO_SEQ = -1;                       // prevLastSeq of a first segment (all ones on disk)
const FRAME_BYTES = 12;                  // length, lengthCheck, crc
const PAYLOAD_FIXED = 17;                // partition, seq, flags, keyLength
const END_PAYLOAD = 29;                  // partition, lastSeq, flags, count, firstSeq, recordsChain
const END_BYTES = FRAME_BYTES + END_PAYLOAD;
const SEGMENT_COMPACTED = 1;             // header flag
const RECORD_TOMBSTONE = 1;              // payload flag
const RECORD_EXPIRES = 2;                // payload flag: an f64 expiresAt follows keyLength
const RECORD_END = 4;                    // payload flag: the end record of a sealed segment
const EXPIRES_BYTES = 8;
const MAX_PAYLOAD = (1 << 30) - FRAME_BYTES;
const SEGMENT_NAME = /^(\d{16})\.log$/;
const TMP_NAME = /\.log\.tmp$/;
const PARTITION_DIR = /^p-(\d+)$/;
const TWO_32 = 4294967296;

/** Bytes a record's expiresAt takes: only values carry one (a tombstone needs none). */
const expiresBytes = (r: ChangeRecord): number => (r.expiresAt !== undefined && r.value !== null ? EXPIRES_BYTES : 0);

const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

// ---- little-endian helpers ------------------------------------------------------------------
const rd32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}
function wrSeq(b: Uint8Array, o: number, seq: number): void {
  wr32(b, o, seq >>> 0);
  wr32(b, o + 4, Math.floor(seq / TWO_32));
}
/** A u64 that must be a safe integer; -1 when it is not. */
function rdSeq(b: Uint8Array, o: number): number {
  const hi = rd32(b, o + 4);
  return hi > 0x1fffff ? -1 : hi * TWO_32 + rd32(b, o);
}
/** prevLastSeq: NO_SEQ for all ones, -2 when it is neither that nor a safe integer. */
function rdPrevSeq(b: Uint8Array, o: number): number {
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
function chainStep(chain: number, recordCrc: number): number {
  chainView.setUint32(0, chain, true);
  chainView.setUint32(4, recordCrc, true);
  return crc32cView(chainView, 0, 8);
}

// ---- errors ---------------------------------------------------------------------------------
function corruption(file: string, offset: number, reason: string): StrataError {
  return new StrataError('CORRUPTION', `changelog file ${file} at byte offset ${offset}: ${reason}`);
}
function closedError(): StrataError { return new StrataError('CLOSED', 'the changelog is closed'); }

// ---- segments -------------------------------------------------------------------------------

/** A segment file. Compaction replaces Segment objects, so identity tells readers it happened. */
interface Segment {
  readonly file: string;
  readonly base: number;
  /** Highest baseSeq of the segments this one replaced; base for an appended segment. */
  readonly covers: number;
  readonly compacted: boolean;
  readonly version: number;
  /** Version 2: the last seq of the segment before this one (NO_SEQ for the first); version 1: NO_SEQ. */
  readonly prevLastSeq: number;
}

const segmentName = (base: number): string => `${String(base).padStart(16, '0')}.log`;

function encodeHeader(partition: number, base: number, covers: number, flags: number, prevLastSeq: number): Buffer {
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
const headerBytesOf = (h: Uint8Array): number => (h[8] === 1 ? V1_HEADER_BYTES : HEADER_BYTES);

/** Checks a header against the file it sits in; returns the reason it is bad, or null. */
function headerProblem(h: Uint8Array, partition: number, base: number): string | null {
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
function encodeEnd(partition: number, lastSeq: number, count: number, firstSeq: number, chain: number): Buffer {
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

/**
 * Open's chain check (invariant 4) without reading the records: the end record in the last
 * 41 bytes of a sealed version 2 segment. Returns its lastSeq; CORRUPTION when it is missing
 * or damaged.
 */
function readEndSeq(seg: Segment, partition: number): number {
  const fd = openFile(seg.file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const missing = (): StrataError => corruption(seg.file, size, 'the segment is followed by others but does not end in its end record (truncated, or it lost records)');
    if (size < HEADER_BYTES + END_BYTES) throw missing();
    const e = Buffer.alloc(END_BYTES);
    let n = 0;
    while (n < END_BYTES) {
      const got = fs.readSync(fd, e, n, END_BYTES - n, size - END_BYTES + n);
      if (got === 0) break;
      n += got;
    }
    if (n < END_BYTES || rd32(e, 0) !== END_PAYLOAD || rd32(e, 4) !== (~END_PAYLOAD >>> 0)) throw missing();
    const q = FRAME_BYTES, at = size - END_BYTES;
    if (crc32c(e, q, q + END_PAYLOAD) !== rd32(e, 8)) throw corruption(seg.file, at, 'end record checksum mismatch');
    const lastSeq = rdSeq(e, q + 4), firstSeq = rdSeq(e, q + 17);
    if (rd32(e, q) !== partition || e[q + 12] !== RECORD_END || rd32(e, q + 13) === 0 || lastSeq < 0 || firstSeq < seg.base || firstSeq > lastSeq) {
      throw corruption(seg.file, at, 'the segment does not end in a valid end record');
    }
    return lastSeq;
  } catch (err) {
    throw err instanceof StrataError ? err : ioError('read', seg.file, err);
  } finally {
    fs.closeSync(fd);
  }
}

/** CORRUPTION for a segment whose prevLastSeq does not continue the log before it. */
function brokenChain(seg: Segment, prev: Segment | null, prevLast: number): StrataError {
  return corruption(seg.file, 32, prev === null
    ? `the segment follows seq ${seg.prevLastSeq}, but no segment comes before it: the partition's earlier segments are missing`
    : `the segment follows seq ${seg.prevLastSeq}, but the segment before it, ${prev.file}, ends at seq ${prevLast}: a segment between them is missing`);
}

function readHeader(file: string): Buffer {
  const fd = openFile(file, 'r');
  try {
    const h = Buffer.alloc(HEADER_BYTES);
    let n = 0;
    while (n < HEADER_BYTES) {
      const got = fs.readSync(fd, h, n, HEADER_BYTES - n, n);
      if (got === 0) break;
      n += got;
    }
    return h.subarray(0, n);
  } catch (err) {
    throw ioError('read', file, err);
  } finally {
    fs.closeSync(fd);
  }
}

function openFile(file: string, flags: string): number {
  try { return fs.openSync(file, flags); } catch (err) { throw ioError('open', file, err); }
}

function fsyncDir(dir: string): void {
  const fd = openFile(dir, 'r');
  try { fs.fsyncSync(fd); } catch (err) { throw ioError('fsync directory', dir, err); } finally { fs.closeSync(fd); }
}

/**
 * Does an intact record (length check, bounds and checksum all good, and the partition field
 * right) start anywhere in [from, end of file)? Decides whether damage in the last segment is
 * a torn tail (nothing intact after it) or damage in the middle of the log.
 */
function intactRecordAfter(fd: number, from: number, partition: number): boolean {
  const size = fs.fstatSync(fd).size;
  if (size - from < FRAME_BYTES + PAYLOAD_FIXED) return false;
  const b = Buffer.allocUnsafe(size - from);
  let n = 0;
  while (n < b.length) {
    const got = fs.readSync(fd, b, n, b.length - n, from + n);
    if (got === 0) break;
    n += got;
  }
  for (let i = 0; i + FRAME_BYTES + PAYLOAD_FIXED <= n; i++) {
    const len = rd32(b, i);
    if (len !== (~rd32(b, i + 4) >>> 0) || len < PAYLOAD_FIXED || i + FRAME_BYTES + len > n) continue;
    if (rd32(b, i + FRAME_BYTES) !== partition) continue;
    if (crc32c(b, i + FRAME_BYTES, i + FRAME_BYTES + len) === rd32(b, i + 8)) return true;
  }
  return false;
}

/**
 * Walks one segment's records front to back in big chunked reads, checking every checksum
 * and field. After step() returns true, the current record's fields are valid; key and value
 * are views of a chunk that is never reused, so records handed out stay intact (a kept key
 * pins its chunk, ~1 MiB).
 */
class SegmentReader implements RawRecord {
  private readonly fd: number;
  private buf: Buffer = Buffer.alloc(0);
  /** With `recycle`: the buffer before the current one, which the next read reuses unless
   *  the visitor may still hold it. */
  private spare: Buffer | null = null;
  /** The buffer of the last record visited raw: the visitor copies a buffer's records out
   *  when it first sees a record of another buffer, so it may hold this one only. */
  held: Buffer | null = null;
  private dv = viewOf(this.buf);
  private pos = 0;             // next unread byte in buf
  private end = 0;             // bytes of buf holding file data
  private bufStart = 0;        // file offset of buf[0]
  private eof = false;
  private prevSeq = -1;
  /** From the header: its version, whether compaction wrote it, the seq it follows. */
  version = VERSION;
  private compacted = false;
  prevLastSeq = NO_SEQ;
  // What the end record must match: the records read so far.
  count = 0;
  firstSeq = -1;
  chain = 0;
  /** The segment ended in its end record (step() returns false from then on). */
  sealed = false;
  // the current record, after step() returned true:
  seq = 0;
  tombstone = false;
  /** The current record's expiresAt, or undefined when it has none. */
  expiresAt: number | undefined = undefined;
  recordStart = 0;             // in buf: the frame; key and value follow the fixed fields
  keyStart = 0;
  keyEnd = 0;
  recordEnd = 0;
  /** File offset of a torn tail that ended the segment, or -1. */
  tornAt = -1;

  /**
   * `isLast` is asked only on damage: may this segment end in a torn write? `recycle`: no
   * record is handed out as views (raw visits, copied out before the visitor sees a record
   * from the next buffer), so reads alternate between two buffers instead of allocating one
   * per chunk.
   */
  constructor(readonly file: string, readonly partition: number, readonly base: number,
              private readonly isLast: () => boolean, private readonly recycle = false) {
    this.fd = openFile(file, 'r');
    try {
      this.ensure(HEADER_BYTES);
      const header = this.buf.subarray(0, this.end);
      const problem = headerProblem(header, partition, base);
      if (problem !== null) {
        // In the last segment, a bad header with nothing intact after it is a crash right
        // after the file's creation; anywhere else it is damage.
        if (isLast() && !intactRecordAfter(this.fd, 0, partition)) {
          this.tornAt = 0;
          this.pos = this.end;
          this.eof = true;
        } else {
          throw corruption(file, 0, problem);
        }
      } else {
        this.version = header[8];
        this.pos = headerBytesOf(header);
        this.compacted = (header[9] & SEGMENT_COMPACTED) !== 0;
        if (this.version === VERSION) this.prevLastSeq = rdPrevSeq(header, 32);
      }
    } catch (err) {
      fs.closeSync(this.fd);
      throw err;
    }
  }

  /** File offset of the next record. */
  get offset(): number { return this.bufStart + this.pos; }
  get buffer(): Buffer { return this.buf; }

  /** The last seq read (the segment's last record once step() returned false), or -1. */
  get lastSeq(): number { return this.prevSeq; }

  /** Advances to the next record: false at the end of the segment (or at a torn tail). */
  step(): boolean {
    if (this.sealed) return false;
    if (this.end - this.pos < FRAME_BYTES && !this.ensure(FRAME_BYTES)) {
      if (this.end === this.pos) return this.cleanEnd();
      return this.damage('incomplete record header');
    }
    const len = this.dv.getUint32(this.pos, true);
    if (len !== (~this.dv.getUint32(this.pos + 4, true) >>> 0)) return this.damage('record length check mismatch');
    if (len < PAYLOAD_FIXED || len > MAX_PAYLOAD) return this.damage(`record length ${len} is out of range`);
    if (this.end - this.pos < FRAME_BYTES + len && !this.ensure(FRAME_BYTES + len)) {
      return this.damage('record runs past the end of the file');
    }
    const b = this.buf, dv = this.dv, p = this.pos; // ensure() may have moved the bytes
    const q = p + FRAME_BYTES;
    if (crc32cView(dv, q, q + len) !== dv.getUint32(p + 8, true)) return this.damage('record checksum mismatch');
    // Intact from here: a bad field is a writer bug or foreign data, never a torn write.
    const at = this.bufStart + p;
    if (dv.getUint32(q, true) !== this.partition) throw corruption(this.file, at, `record of partition ${rd32(b, q)} in partition ${this.partition}'s log`);
    const hi = dv.getUint32(q + 8, true);
    const seq = hi > 0x1fffff ? -1 : hi * TWO_32 + dv.getUint32(q + 4, true);
    if (seq < 0) throw corruption(this.file, at, 'record seq is not a safe integer');
    const flags = b[q + 12];
    if (flags === RECORD_END && this.version === VERSION) return this.endRecord(at, len, seq, q);
    if (seq <= this.prevSeq || seq < this.base) throw corruption(this.file, at, `record seq ${seq} out of order`);
    if ((flags & ~(RECORD_TOMBSTONE | RECORD_EXPIRES)) !== 0 || flags === (RECORD_TOMBSTONE | RECORD_EXPIRES)) {
      throw corruption(this.file, at, `unknown record flags ${flags}`);
    }
    const extra = (flags & RECORD_EXPIRES) !== 0 ? EXPIRES_BYTES : 0;
    const keyLen = dv.getUint32(q + 13, true);
    if (keyLen + extra > len - PAYLOAD_FIXED) throw corruption(this.file, at, 'record key length exceeds the record');
    const tombstone = flags === RECORD_TOMBSTONE;
    if (tombstone && keyLen !== len - PAYLOAD_FIXED) throw corruption(this.file, at, 'tombstone with a value');
    this.prevSeq = this.seq = seq;
    if (this.count++ === 0) this.firstSeq = seq;
    this.chain = chainStep(this.chain, dv.getUint32(p + 8, true));
    this.tombstone = tombstone;
    this.expiresAt = extra !== 0 ? dv.getFloat64(q + PAYLOAD_FIXED, true) : undefined;
    this.recordStart = p;
    this.keyStart = q + PAYLOAD_FIXED + extra;
    this.keyEnd = this.keyStart + keyLen;
    this.recordEnd = this.pos = q + len;
    return true;
  }

  /** The current record as a ChangeRecord; key and value are views (see the class comment). */
  record(): ChangeRecord {
    const ab = this.buf.buffer, o = this.buf.byteOffset;
    const r: ChangeRecord = {
      partition: this.partition,
      seq: this.seq,
      key: new Uint8Array(ab, o + this.keyStart, this.keyEnd - this.keyStart),
      value: this.tombstone ? null : new Uint8Array(ab, o + this.keyEnd, this.recordEnd - this.keyEnd),
    };
    if (this.expiresAt !== undefined) r.expiresAt = this.expiresAt;
    return r;
  }

  close(): void { fs.closeSync(this.fd); }

  /** May this segment end in a torn write? Only the last one, and never a compaction's
   *  output (version 2 writes it whole, end record included, before it is renamed in). */
  private mayTear(): boolean {
    return this.isLast() && !(this.compacted && this.version === VERSION);
  }

  /**
   * The end record (intact, at file offset `at`, payload at buf[q]): it must describe the
   * records read and be the file's last bytes (invariant 4). Ends the segment.
   */
  private endRecord(at: number, len: number, seq: number, q: number): false {
    const dv = this.dv;
    const hi = dv.getUint32(q + 21, true);
    const firstSeq = hi > 0x1fffff ? -1 : hi * TWO_32 + dv.getUint32(q + 17, true);
    if (len !== END_PAYLOAD || seq !== this.prevSeq || dv.getUint32(q + 13, true) !== this.count ||
        firstSeq !== this.firstSeq || dv.getUint32(q + 25, true) !== this.chain) {
      throw corruption(this.file, at, `the end record does not match the segment's ${this.count} records (seqs ${this.firstSeq}..${this.prevSeq})`);
    }
    this.pos = q + len;
    if (this.ensure(1)) throw corruption(this.file, at + END_BYTES, 'bytes after the end record');
    this.sealed = true;
    return false;
  }

  /**
   * No bytes left. Fine for the last segment and for version 1; a version 2 segment with a
   * successor must have ended in its end record. It may have been sealed since this reader
   * reached the end of the file (a read in progress while the writer rolled): read again.
   */
  private cleanEnd(): boolean {
    if (this.version !== VERSION || (this.isLast() && !this.compacted)) return false;
    this.eof = false;
    if (this.ensure(FRAME_BYTES)) return this.step();
    if (this.end !== this.pos) return this.damage('incomplete record header');
    throw corruption(this.file, this.offset, this.compacted
      ? 'the compacted segment does not end in its end record (truncated, or it lost records)'
      : 'the segment is followed by others but does not end in its end record (truncated, or it lost records)');
  }

  /** Damage at the current record: a torn tail ends the segment; anything else throws. */
  private damage(reason: string): false {
    const at = this.offset;
    if (!this.mayTear()) throw corruption(this.file, at, reason);
    if (intactRecordAfter(this.fd, at + 1, this.partition)) throw corruption(this.file, at, `${reason}, with intact records after it`);
    this.tornAt = at;
    this.pos = this.end;
    this.eof = true;
    return false;
  }

  /**
   * Makes at least n bytes from pos available, reading as much as a chunk holds. Unread bytes
   * move to a fresh buffer (never the old one: records handed out are views of it).
   */
  private ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.eof) return false;
    const keep = this.end - this.pos;
    const size = Math.max(READ_CHUNK_BYTES, n);
    const spare = this.spare;
    const nb = spare !== null && spare !== this.held && spare.length === size ? spare : Buffer.allocUnsafeSlow(size);
    this.buf.copy(nb, 0, this.pos, this.end);
    if (this.recycle) this.spare = this.buf;
    this.bufStart += this.pos;
    this.buf = nb;
    this.dv = viewOf(nb);
    this.pos = 0;
    this.end = keep;
    try {
      while (this.end < nb.length) {
        const got = fs.readSync(this.fd, nb, this.end, nb.length - this.end, this.bufStart + this.end);
        if (got === 0) { this.eof = true; break; }
        this.end += got;
      }
    } catch (err) {
      throw ioError('read', this.file, err);
    }
    return this.end - this.pos >= n;
  }
}

/** read()'s result: an iterable that restore can also visit raw (changelog/contract.ts). */
interface RawRecordSourceImpl { [RAW_RECORDS](visit: (record: RawRecord) => void): void }

// ---- one partition's log --------------------------------------------------------------------

/** The segments of one partition, and the writer's state for its last one. */
class PartitionLog {
  /** INVARIANT: sorted by base; every one but the last is sealed. Replaced, never mutated, by compaction. */
  segments: Segment[] = [];
  /** Highest seq appended (written or buffered); -1 when empty. */
  lastSeq = -1;
  /** The segment appends go to, or null: the next append starts a new one. */
  active: Segment | null = null;
  fd = -1;
  fileBytes = 0;               // bytes of the active file, all whole records (invariant 3)
  pending: Buffer = Buffer.alloc(0);
  pendingView = viewOf(this.pending);
  pendingBytes = 0;            // encoded records not yet written
  unsynced = false;            // the active file has writes not yet fsynced
  dirUnsynced = false;         // a file was created or removed here since the last fsync
  // The active segment's records (written and buffered), for its end record:
  activeCount = 0;
  activeFirstSeq = -1;
  activeChain = 0;

  constructor(readonly partition: number, readonly dir: string) {}

  isLast(s: Segment): boolean { return this.segments[this.segments.length - 1] === s; }
}

// ---- the changelog --------------------------------------------------------------------------

/**
 * An append-only, checksummed changelog in a directory, one log of segments per partition.
 * `append` buffers (and writes once the buffer is large or the current synchronous run of
 * code ends); `flush` writes and, with `sync`, makes everything appended durable.
 * Cost: append O(record) with no syscall per record; read one syscall per ~1 MiB; open
 * reads the header of every segment and the end record of every sealed one, and scans the
 * last segment of every partition.
 */
export class FileChangelog implements ChangelogSink, ChangelogSource {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  private readonly logs = new Map<number, PartitionLog>();
  /** Releases the directory's LOCK (bindings/storage/lock-file.ts); null once released. */
  private releaseLock: (() => void) | null;
  private closed = false;
  /** The first I/O error of a write or fsync: afterwards writes refuse (invariant 3). */
  private failure: StrataError | null = null;
  private writeScheduled = false;
  private rootUnsynced = false;

  /** Opens (creating if needed) and recovers the changelog in `dir`, synchronously. */
  constructor(dir: string | (FileChangelogOptions & { path: string }), options: FileChangelogOptions = {}) {
    if (typeof dir === 'object' && dir !== null) { options = { ...dir, ...options }; dir = dir.path; }
    if (typeof dir !== 'string' || dir === '') throw invalid('FileChangelog needs a directory path');
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    const { segmentBytes = DEFAULT_SEGMENT_BYTES, sync = false } = options;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) throw invalid('segmentBytes must be a positive integer');
    this.dir = dir;
    this.segmentBytes = segmentBytes;
    this.sync = sync === true;
    try { fs.mkdirSync(dir, { recursive: true }); } catch (err) { throw ioError('create directory', dir, err); }
    this.releaseLock = acquireLock(dir);
    try {
      this.recover();
    } catch (err) {
      this.releaseLock();
      this.releaseLock = null;
      for (const log of this.logs.values()) if (log.fd >= 0) fs.closeSync(log.fd);
      throw err instanceof StrataError ? err : ioError('open changelog', dir, err);
    }
  }

  static async open(dir: string | (FileChangelogOptions & { path: string }), options?: FileChangelogOptions): Promise<FileChangelog> {
    return new FileChangelog(dir, options);
  }

  /** Buffers the records; all or nothing: a bad record rejects the whole batch. */
  append(records: ChangeRecord[]): void {
    this.checkWritable();
    checkBatch(records, (p) => this.logs.get(p)?.lastSeq ?? -1);
    for (const r of records) {
      const size = PAYLOAD_FIXED + expiresBytes(r) + r.key.length + (r.value === null ? 0 : r.value.length);
      if (size > MAX_PAYLOAD) throw new StrataError('VALUE_TOO_LARGE', `a changelog record holds at most ${MAX_PAYLOAD} bytes of key and value`);
    }
    try {
      for (const r of records) this.encode(this.logFor(r.partition), r);
    } catch (err) {
      throw this.fail(err);
    }
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      queueMicrotask(() => {
        this.writeScheduled = false;
        if (this.closed || this.failure !== null) return;
        try { for (const log of this.logs.values()) this.writePending(log); } catch (err) { this.fail(err); }
      });
    }
  }

  /**
   * The partition's records with seq ≥ fromSeq, in seq order, verified against their
   * checksums. Each iteration sees at least every record appended before it began, and
   * stays correct across a compaction that runs while it is in progress. Reading works
   * after close (from the files as they were left).
   */
  read(partition: number, fromSeq = 0): Iterable<ChangeRecord> {
    checkPartition(partition);
    checkFromSeq(fromSeq);
    const start = (raw: boolean): LogIterator | null => {
      const log = this.logs.get(partition);
      if (log === undefined) return null;
      if (!this.closed && this.failure === null) {
        try { this.writePending(log); } catch (err) { throw this.fail(err); }
      }
      return new LogIterator(log, fromSeq, raw);
    };
    const source: Iterable<ChangeRecord> & RawRecordSourceImpl = {
      [Symbol.iterator]: (): Iterator<ChangeRecord> => start(false) ?? [][Symbol.iterator](),
      // restore's fast path (changelog/contract.ts RAW_RECORDS): the same records, no object each.
      [RAW_RECORDS]: (visit: (record: RawRecord) => void): void => { start(true)?.visitRaw(visit); },
    };
    return source;
  }

  /** Partitions that hold at least one record, ascending. */
  partitions(): number[] {
    return [...this.logs.values()].filter((l) => l.lastSeq >= 0).map((l) => l.partition).sort((a, b) => a - b);
  }

  /** The partition's highest seq, or 0 when it holds nothing. */
  lastSeq(partition: number): number {
    checkPartition(partition);
    return Math.max(0, this.logs.get(partition)?.lastSeq ?? -1);
  }

  /** Writes what is buffered; with `sync`, fsyncs it and any new directory entries. */
  async flush(): Promise<void> {
    if (this.closed) return;
    this.checkWritable();
    try { this.flushAll(); } catch (err) { throw this.fail(err); }
  }

  /**
   * Key compaction of one partition or all (docs/CHANGELOG-FORMAT.md, "Compaction"): the
   * partition's segments become one holding the latest record of each key, tombstones
   * included, in seq order. Crash-safe (write, fsync, rename, then delete). Reads the log
   * twice; memory: a Map entry per distinct key and a byte per record.
   */
  async compact(partition?: number): Promise<CompactionResult> {
    this.checkWritable();
    if (partition !== undefined) checkPartition(partition);
    let before = 0, after = 0;
    for (const log of this.logs.values()) {
      if (partition !== undefined && log.partition !== partition) continue;
      try {
        const r = this.compactLog(log);
        before += r.before;
        after += r.after;
      } catch (err) {
        throw err instanceof StrataError && err.code === 'CORRUPTION' ? err : this.fail(err);
      }
    }
    return { before, after };
  }

  /** Writes (and with `sync`, fsyncs) what is buffered, then releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    let error: unknown;
    if (this.failure === null) {
      try { this.flushAll(); } catch (err) { error = this.fail(err); }
    }
    this.closed = true;
    for (const log of this.logs.values()) {
      if (log.fd >= 0) { try { fs.closeSync(log.fd); } catch { /* nothing left to do */ } }
      log.fd = -1;
      log.active = null;
    }
    this.releaseLock?.();
    this.releaseLock = null;
    if (error !== undefined) throw error;
  }

  // ---- internals ---------------------------------------------------------------------------

  private checkWritable(): void {
    if (this.closed) throw closedError();
    if (this.failure !== null) throw this.failure;
  }

  /** Records the first I/O failure (later writes refuse) and returns it as a StrataError. */
  private fail(err: unknown): StrataError {
    const e = err instanceof StrataError ? err : ioError('use changelog', this.dir, err);
    if (e.code === 'IO_ERROR' && this.failure === null) this.failure = e;
    return e;
  }

  private logFor(partition: number): PartitionLog {
    let log = this.logs.get(partition);
    if (log === undefined) {
      const dir = nodePath.join(this.dir, `p-${partition}`);
      fs.mkdirSync(dir, { recursive: true });
      this.rootUnsynced = true;
      log = new PartitionLog(partition, dir);
      this.logs.set(partition, log);
    }
    return log;
  }

  /** Encodes one record into the partition's buffer, rolling the segment first if full. */
  private encode(log: PartitionLog, r: ChangeRecord): void {
    const key = r.key, value = r.value;
    const keyLen = key.length, valueLen = value === null ? 0 : value.length;
    const extra = expiresBytes(r);
    const payload = PAYLOAD_FIXED + extra + keyLen + valueLen;
    const frame = FRAME_BYTES + payload;
    const used = log.fileBytes + log.pendingBytes;
    // The end record counts against segmentBytes, so a sealed segment stays within it.
    if (log.active === null || (used + frame + END_BYTES > this.segmentBytes && used > HEADER_BYTES)) this.roll(log, r.seq);
    let b = log.pending;
    const o = log.pendingBytes;
    if (o + frame > b.length) {
      const nb = Buffer.allocUnsafeSlow(Math.max(o + frame, Math.min(2 * b.length, WRITE_BUFFER_BYTES * 2), 64 << 10));
      b.copy(nb, 0, 0, o);
      log.pending = b = nb;
      log.pendingView = viewOf(nb);
    }
    const q = o + FRAME_BYTES;
    wr32(b, o, payload);
    wr32(b, o + 4, ~payload);
    wr32(b, q, log.partition);
    wrSeq(b, q + 4, r.seq);
    b[q + 12] = value === null ? RECORD_TOMBSTONE : extra !== 0 ? RECORD_EXPIRES : 0;
    wr32(b, q + 13, keyLen);
    if (extra !== 0) log.pendingView.setFloat64(q + PAYLOAD_FIXED, r.expiresAt!, true);
    b.set(key, q + PAYLOAD_FIXED + extra);
    if (valueLen > 0) b.set(value!, q + PAYLOAD_FIXED + extra + keyLen);
    const crc = crc32cView(log.pendingView, q, q + payload);
    log.pendingView.setUint32(o + 8, crc, true);
    log.pendingBytes = o + frame;
    log.lastSeq = r.seq;
    if (log.activeCount++ === 0) log.activeFirstSeq = r.seq;
    log.activeChain = chainStep(log.activeChain, crc);
    if (log.pendingBytes >= WRITE_BUFFER_BYTES) this.writePending(log);
  }

  /** Writes the buffer at the end of the active file; a failed write is truncated away. */
  private writePending(log: PartitionLog): void {
    const n = log.pendingBytes;
    if (n === 0) return;
    let done = 0;
    try {
      while (done < n) done += fs.writeSync(log.fd, log.pending, done, n - done, log.fileBytes + done);
    } catch (err) {
      try { fs.ftruncateSync(log.fd, log.fileBytes); } catch { /* the failure is reported below */ }
      throw ioError('write', log.active?.file ?? this.dir, err);
    }
    log.fileBytes += n;
    log.pendingBytes = 0;
    log.unsynced = true;
    if (log.pending.length > 2 * WRITE_BUFFER_BYTES) { // after a huge record: do not keep its buffer
      log.pending = Buffer.alloc(0);
      log.pendingView = viewOf(log.pending);
    }
  }

  /**
   * Seals the active segment (if any) and starts a new one whose base is `base`; its header
   * names the log's last seq so far, the last record of the segment before it (invariant 4).
   */
  private roll(log: PartitionLog, base: number): void {
    this.seal(log);
    const seg: Segment = { file: nodePath.join(log.dir, segmentName(base)), base, covers: base, compacted: false, version: VERSION, prevLastSeq: log.lastSeq };
    const fd = openFile(seg.file, 'wx');
    log.fd = fd;
    log.active = seg;
    log.fileBytes = 0;
    log.dirUnsynced = true;
    log.activeCount = 0;
    log.activeFirstSeq = -1;
    log.activeChain = 0;
    const header = encodeHeader(log.partition, base, base, 0, seg.prevLastSeq);
    fs.writeSync(fd, header, 0, HEADER_BYTES, 0);
    log.fileBytes = HEADER_BYTES;
    log.unsynced = true;
    log.segments = [...log.segments, seg];
  }

  /**
   * Writes the buffer and the end record, fsyncs and closes the active segment. The fsync
   * happens whatever `sync` says (once per segment, so it costs little): a sealed segment
   * must be whole before its successor exists, or a machine crash could damage the middle
   * of the log. The active segment always holds a record (roll is followed by one).
   */
  private seal(log: PartitionLog): void {
    if (log.active === null) return;
    this.writePending(log);
    const end = encodeEnd(log.partition, log.lastSeq, log.activeCount, log.activeFirstSeq, log.activeChain);
    try {
      let done = 0;
      while (done < END_BYTES) done += fs.writeSync(log.fd, end, done, END_BYTES - done, log.fileBytes + done);
    } catch (err) {
      try { fs.ftruncateSync(log.fd, log.fileBytes); } catch { /* the failure is reported below */ }
      throw ioError('write', log.active.file, err);
    }
    log.fileBytes += END_BYTES;
    fs.fdatasyncSync(log.fd);
    fs.closeSync(log.fd);
    log.fd = -1;
    log.active = null;
    log.unsynced = false;
  }

  private flushAll(): void {
    for (const log of this.logs.values()) {
      this.writePending(log);
      if (!this.sync) continue;
      if (log.unsynced && log.fd >= 0) { fs.fdatasyncSync(log.fd); log.unsynced = false; }
      if (log.dirUnsynced) { fsyncDir(log.dir); log.dirUnsynced = false; }
    }
    if (this.sync && this.rootUnsynced) { fsyncDir(this.dir); this.rootUnsynced = false; }
  }

  /** Opens every partition's log: cleans up after interrupted compactions, repairs a torn tail. */
  private recover(): void {
    let names: string[];
    try { names = fs.readdirSync(this.dir); } catch (err) { throw ioError('list', this.dir, err); }
    for (const name of names) {
      const m = PARTITION_DIR.exec(name);
      if (m === null) continue;
      const partition = Number(m[1]);
      if (partition > 0xffff_ffff || `p-${partition}` !== name) continue;
      const log = new PartitionLog(partition, nodePath.join(this.dir, name));
      this.recoverLog(log);
      this.logs.set(partition, log);
    }
  }

  private recoverLog(log: PartitionLog): void {
    let found: { seg: Segment; problem: string | null }[] = [];
    for (const name of fs.readdirSync(log.dir)) {
      const file = nodePath.join(log.dir, name);
      if (TMP_NAME.test(name)) { fs.unlinkSync(file); log.dirUnsynced = true; continue; }
      const m = SEGMENT_NAME.exec(name);
      if (m === null) continue;
      const base = Number(m[1]);
      const header = readHeader(file);
      const problem = headerProblem(header, log.partition, base);
      const ok = problem === null;
      found.push({
        seg: {
          file, base, covers: ok ? rdSeq(header, 24) : base, compacted: ok && (header[9] & SEGMENT_COMPACTED) !== 0,
          version: ok ? header[8] : VERSION, prevLastSeq: ok && header[8] === VERSION ? rdPrevSeq(header, 32) : NO_SEQ,
        },
        problem,
      });
    }
    found.sort((a, b) => a.seg.base - b.seg.base);
    // Input segments a compaction had replaced but not yet deleted (crash between its rename
    // and its deletes): everything they held that matters is in the compacted file.
    let covered = -1;
    found = found.filter(({ seg }) => {
      if (seg.base <= covered) { fs.unlinkSync(seg.file); log.dirUnsynced = true; return false; }
      covered = Math.max(covered, seg.covers);
      return true;
    });
    // A bad header is forgivable only in the last segment (SegmentReader decides below).
    for (let i = 0; i < found.length - 1; i++) {
      if (found[i].problem !== null) throw corruption(found[i].seg.file, 0, found[i].problem!);
    }
    log.segments = found.map((f) => f.seg);
    // The chain (invariant 4): every segment but the last ends in its end record, and each
    // names the last seq of the one before it. Version 1 segments carry neither: the link
    // after one is checked by reads that walk through it (LogIterator).
    let prevLast = NO_SEQ;
    for (let i = 0; i < found.length; i++) {
      const { seg, problem } = found[i];
      if (problem !== null) break; // only the last can have one (checked above)
      if (seg.version === VERSION && (i === 0 || found[i - 1].seg.version === VERSION) && seg.prevLastSeq !== prevLast) {
        throw brokenChain(seg, i === 0 ? null : found[i - 1].seg, prevLast);
      }
      if (i < found.length - 1) prevLast = seg.version === VERSION ? readEndSeq(seg, log.partition) : NO_SEQ;
    }
    // The last segment may end in a torn write: find its last intact record, cut the rest.
    // A last segment with no record (or a torn header) is dropped, and the one before it
    // then supplies the last seq.
    while (log.segments.length > 0) {
      const last = log.segments[log.segments.length - 1];
      const r = new SegmentReader(last.file, log.partition, last.base, () => log.isLast(last));
      let count = 0;
      try {
        while (r.step()) count++;
      } finally {
        r.close();
      }
      if (count === 0) {
        fs.unlinkSync(last.file);
        log.dirUnsynced = true;
        log.segments = log.segments.slice(0, -1);
        continue;
      }
      log.lastSeq = r.lastSeq;
      if (r.tornAt >= 0) {
        const fd = openFile(last.file, 'r+');
        try {
          fs.ftruncateSync(fd, r.tornAt);
          if (this.sync) fs.fdatasyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      // Keep appending to the last segment unless it is sealed (a crash after the seal,
      // before its successor's creation was durable), compaction wrote it (it stays exactly
      // the compaction's output, so re-compacting it alone is a no-op), or it is version 1
      // (it has no end record to seal it with).
      if (!last.compacted && !r.sealed && last.version === VERSION) {
        log.fd = openFile(last.file, 'r+');
        log.active = last;
        log.fileBytes = r.tornAt >= 0 ? r.tornAt : fs.fstatSync(log.fd).size;
        log.activeCount = r.count;
        log.activeFirstSeq = r.firstSeq;
        log.activeChain = r.chain;
      }
      break;
    }
  }

  private compactLog(log: PartitionLog): CompactionResult {
    this.seal(log);
    const inputs = log.segments;
    if (inputs.length === 0) return { before: 0, after: 0 };
    const last = inputs[inputs.length - 1];
    const isLastOf = (s: Segment) => () => s === last;
    // Pass 1: number the records in log order; mark each one a later record of its key
    // supersedes, so pass 2 decides by ordinal without looking keys up again.
    const latest = new Map<string, number>(); // key → ordinal of its latest record so far
    let superseded = new Uint8Array(1 << 16);
    let before = 0;
    for (const s of inputs) {
      const r = new SegmentReader(s.file, log.partition, s.base, isLastOf(s));
      try {
        while (r.step()) {
          const key = r.buffer.toString('latin1', r.keyStart, r.keyEnd);
          const prev = latest.get(key);
          if (prev !== undefined) superseded[prev] = 1;
          latest.set(key, before);
          if (++before === superseded.length) {
            const grown = new Uint8Array(2 * superseded.length);
            grown.set(superseded);
            superseded = grown;
          }
        }
      } finally {
        r.close();
      }
    }
    if (inputs.length === 1 && inputs[0].compacted && inputs[0].version === VERSION) return { before, after: before };
    latest.clear();
    // Pass 2: copy the survivors' frames as they are (their checksums stay valid).
    const first = inputs[0];
    const out: Segment = { file: first.file, base: first.base, covers: last.base, compacted: true, version: VERSION, prevLastSeq: first.prevLastSeq };
    const tmp = `${first.file}.tmp`;
    const fd = openFile(tmp, 'w');
    let after = 0, ordinal = 0, firstSeq = -1, lastSeq = -1, chain = 0;
    try {
      const buf = Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
      let used = 0, fileBytes = 0;
      const write = (src: Uint8Array, start: number, end: number): void => {
        if (used + (end - start) > buf.length) {
          fs.writeSync(fd, buf, 0, used, fileBytes);
          fileBytes += used;
          used = 0;
        }
        if (end - start > buf.length) {
          fs.writeSync(fd, src, start, end - start, fileBytes);
          fileBytes += end - start;
        } else {
          buf.set(src.subarray(start, end), used);
          used += end - start;
        }
      };
      write(encodeHeader(log.partition, out.base, out.covers, SEGMENT_COMPACTED, out.prevLastSeq), 0, HEADER_BYTES);
      for (const s of inputs) {
        const r = new SegmentReader(s.file, log.partition, s.base, isLastOf(s));
        try {
          while (r.step()) {
            if (superseded[ordinal++] === 1) continue;
            write(r.buffer, r.recordStart, r.recordEnd);
            if (after++ === 0) firstSeq = r.seq;
            lastSeq = r.seq;
            chain = chainStep(chain, rd32(r.buffer, r.recordStart + 8));
          }
        } finally {
          r.close();
        }
      }
      // The log's last record is the latest of its key, so lastSeq is the log's last seq and
      // the chain to segments appended later holds.
      write(encodeEnd(log.partition, lastSeq, after, firstSeq, chain), 0, END_BYTES);
      fs.writeSync(fd, buf, 0, used, fileBytes);
      // Always fsync: the rename below destroys the input, whatever `sync` says.
      fs.fsyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      try { fs.unlinkSync(tmp); } catch { /* best effort */ }
      throw err;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, out.file);
    fsyncDir(log.dir);
    log.segments = [out]; // readers in progress notice the new identity and re-seek by seq
    for (const s of inputs.slice(1)) fs.unlinkSync(s.file);
    fsyncDir(log.dir);
    log.dirUnsynced = false;
    return { before, after };
  }
}

/**
 * Iterates one partition's log from a seq. It walks the segments in order; when a segment it
 * finished has since been replaced by compaction, it re-seeks by seq in the new list (the
 * compacted file holds a subset of the same records, and ones it already returned are
 * skipped by seq), so a compaction in the middle of a read neither loses nor repeats records.
 */
class LogIterator implements IterableIterator<ChangeRecord> {
  private reader: SegmentReader | null = null;
  private current: Segment | null = null;
  private nextSeq: number;
  private done = false;
  /** The last seq of the segment just read through, when the next one must continue it
   *  (invariant 4); undefined after a seek (first segment, or a compaction re-seek). */
  private prevLast: number | undefined = undefined;

  /** `raw`: for visitRaw only (its readers recycle their buffers). */
  constructor(private readonly log: PartitionLog, fromSeq: number, private readonly raw = false) {
    this.nextSeq = fromSeq;
  }

  /** Visits what next() would return, as the reader itself (changelog/contract.ts RawRecord). */
  visitRaw(visit: (record: RawRecord) => void): void {
    try {
      for (let r = this.advance(); r !== null; r = this.advance()) {
        visit(r);
        r.held = r.buffer;
      }
    } finally {
      this.return();
    }
  }

  [Symbol.iterator](): IterableIterator<ChangeRecord> { return this; }

  next(): IteratorResult<ChangeRecord> {
    const r = this.advance();
    return r === null ? { value: undefined, done: true } : { value: r.record(), done: false };
  }

  /** Steps to the next record at or after nextSeq, across segments; the reader positioned
   *  on it, or null at the end of the log. */
  private advance(): SegmentReader | null {
    while (!this.done) {
      const r = this.reader;
      if (r !== null) {
        while (r.step()) {
          if (r.seq < this.nextSeq) continue;
          this.nextSeq = r.seq + 1;
          return r;
        }
        this.prevLast = r.lastSeq;
        r.close();
        this.reader = null;
      }
      if (!this.open()) break;
    }
    return null;
  }

  /** Opens the reader of the next segment; false (and done) at the end of the log. */
  private open(): boolean {
    const before = this.current;
    const s = this.following();
    if (s === null) { this.done = true; return false; }
    const sequential = before !== null && this.log.segments.indexOf(before) >= 0;
    this.current = s;
    const log = this.log;
    const r = this.reader = new SegmentReader(s.file, log.partition, s.base, () => log.isLast(s), this.raw);
    // A file lost or cut while the log is open: the link to the segment read before breaks.
    if (sequential && this.prevLast !== undefined && r.version === VERSION && r.tornAt < 0 && r.prevLastSeq !== this.prevLast) {
      this.return();
      throw brokenChain({ ...s, prevLastSeq: r.prevLastSeq }, before, this.prevLast);
    }
    return true;
  }

  return(): IteratorResult<ChangeRecord> {
    this.reader?.close();
    this.reader = null;
    this.done = true;
    return { value: undefined, done: true };
  }

  /** The segment to read next, or null at the end of the log. */
  private following(): Segment | null {
    const segs = this.log.segments;
    if (segs.length === 0) return null;
    if (this.current !== null) {
      const i = segs.indexOf(this.current);
      if (i >= 0) return i + 1 < segs.length ? segs[i + 1] : null;
    }
    // First call, or the segment just read was compacted away: the last segment whose base
    // is ≤ nextSeq holds the next record (seqs below it are in earlier segments).
    let lo = 0, hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segs[mid].base <= this.nextSeq) lo = mid; else hi = mid - 1;
    }
    return segs[lo];
  }
}
