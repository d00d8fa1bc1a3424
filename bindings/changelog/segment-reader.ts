// Reading segment files (format: segment-format.ts): SegmentReader walks one segment's
// records front to back, verifying every checksum and field; readHeader and readEndSeq read
// a segment's header and end record for open's chain check; openFile and fsyncDir wrap
// node:fs with IO_ERROR. Node only.
//
// The reader keeps its part of the invariants (file-changelog.ts lists them all):
//   (1) seqs strictly increase within a segment and are at least its base: a record out of
//       order is CORRUPTION;
//   (2) only the last segment may end in a torn record (mayTear), and damage counts as a
//       torn tail only when no intact record follows it (intactRecordAfter); anywhere else
//       damage is CORRUPTION;
//   (4) a version 2 segment with a successor, or a compaction's output, must end in an end
//       record that matches the records read and is the file's last bytes.
import * as fs from 'node:fs';
import { type ChangeRecord, type RawRecord } from './contract.js';
import { StrataError } from '../errors.js';
import { crc32c, crc32cView } from '../crc32c.js';
import { ioError } from '../storage/io-error.js';
import {
  END_BYTES, END_PAYLOAD, EXPIRES_BYTES, FRAME_BYTES, HEADER_BYTES, MAX_PAYLOAD, NO_SEQ, PAYLOAD_FIXED, RECORD_END,
  RECORD_EXPIRES, RECORD_RANGE, RECORD_TOMBSTONE, SEGMENT_COMPACTED, TWO_32, VERSION, chainStep, corruption, headerBytesOf,
  headerProblem, rd32, rdPrevSeq, rdSeq, viewOf, type Segment,
} from './segment-format.js';


const READ_CHUNK_BYTES = 1 << 20;       // reads are big and sequential: a syscall per ~7k records

/**
 * Open's chain check (invariant 4) without reading the records: the end record in the last
 * 41 bytes of a sealed version 2 segment. Returns its lastSeq; CORRUPTION when it is missing
 * or damaged.
 */
export function readEndSeq(seg: Segment, partition: number): number {
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
    throw ioError('read', seg.file, err); // a StrataError passes through
  } finally {
    fs.closeSync(fd);
  }
}

export function readHeader(file: string): Buffer {
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

export function openFile(file: string, flags: string): number {
  try { return fs.openSync(file, flags); } catch (err) { throw ioError('open', file, err); }
}

export function fsyncDir(dir: string): void {
  const fd = openFile(dir, 'r');
  try { fs.fsyncSync(fd); } catch (err) { throw ioError('fsync directory', dir, err); } finally { fs.closeSync(fd); }
}

/**
 * Does an intact record (length check, bounds and checksum all good, and the partition field
 * right) start anywhere in [from, end of file)? Decides whether damage in the last segment is
 * a torn tail (nothing intact after it) or damage in the middle of the log.
 */
export function intactRecordAfter(fd: number, from: number, partition: number): boolean {
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
export class SegmentReader implements RawRecord {
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
  /** The current record is a range deletion: its value is the range's end key. */
  rangeDelete = false;
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
    // A range deletion's flag stands alone; readers before it refuse it here (unknown flags).
    if (flags !== RECORD_RANGE && ((flags & ~(RECORD_TOMBSTONE | RECORD_EXPIRES)) !== 0 || flags === (RECORD_TOMBSTONE | RECORD_EXPIRES))) {
      throw corruption(this.file, at, `unknown record flags ${flags}`);
    }
    const extra = (flags & RECORD_EXPIRES) !== 0 ? EXPIRES_BYTES : 0;
    const keyLen = dv.getUint32(q + 13, true);
    if (keyLen + extra > len - PAYLOAD_FIXED) throw corruption(this.file, at, 'record key length exceeds the record');
    const tombstone = flags === RECORD_TOMBSTONE;
    if (tombstone && keyLen !== len - PAYLOAD_FIXED) throw corruption(this.file, at, 'tombstone with a value');
    const rangeDelete = flags === RECORD_RANGE;
    if (rangeDelete && !rangeInOrder(b, q + PAYLOAD_FIXED, keyLen, q + len)) {
      throw corruption(this.file, at, 'range deletion whose end key does not come after its start key');
    }
    this.prevSeq = this.seq = seq;
    if (this.count++ === 0) this.firstSeq = seq;
    this.chain = chainStep(this.chain, dv.getUint32(p + 8, true));
    this.tombstone = tombstone;
    this.rangeDelete = rangeDelete;
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
      value: this.tombstone || this.rangeDelete ? null : new Uint8Array(ab, o + this.keyEnd, this.recordEnd - this.keyEnd),
    };
    if (this.rangeDelete) r.rangeEnd = new Uint8Array(ab, o + this.keyEnd, this.recordEnd - this.keyEnd);
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

/** Whether the key at b[k, k + keyLen) comes before the end key that fills the rest, up to
 *  `end` (unsigned byte order; a prefix comes first). */
function rangeInOrder(b: Uint8Array, k: number, keyLen: number, end: number): boolean {
  const e = k + keyLen, endLen = end - e;
  const n = Math.min(keyLen, endLen);
  for (let i = 0; i < n; i++) if (b[k + i] !== b[e + i]) return b[k + i] < b[e + i];
  return keyLen < endLen;
}
