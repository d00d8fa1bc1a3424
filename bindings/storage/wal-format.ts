// The write-ahead log's record format (docs/FORMAT.md, "Write-ahead log"), shared by the Node
// log (wal.ts, NNNNNN.wal files) and the OPFS log (persistence-opfs.ts, WAL-0 and WAL-1):
//   crc u32 | length u32 | ~length u32 | payload = type u8 | firstSeq f64 | count u32 | image
// where the image is the engine's own batch image (type 1: consecutive sequences from
// firstSeq) or restore image (type 2: each record carries its sequence). No file system here:
// callers hand in and take out bytes.
import { StrataError } from '../errors.js';
import { crc32cView } from '../crc32c.js';

export const WAL_BATCH = 1;
export const WAL_RESTORE = 2;
const HEADER = 12;         // crc, length, ~length (a damaged length is told from a torn tail)
const PAYLOAD_HEADER = 13; // type, firstSeq, count

/** Bytes of the record that holds an image of `imageBytes`. */
export const walRecordSize = (imageBytes: number): number => HEADER + PAYLOAD_HEADER + imageBytes;

/** Writes one record at buf[o, o + walRecordSize(image.length)) (the caller made room);
 *  `view` is a DataView over all of `buf`. Returns the record's size. */
export function encodeWalRecord(buf: Uint8Array, view: DataView, o: number,
                                type: number, firstSeq: number, count: number, image: Uint8Array): number {
  const size = walRecordSize(image.length);
  view.setUint32(o + 4, PAYLOAD_HEADER + image.length, true);
  view.setUint32(o + 8, ~(PAYLOAD_HEADER + image.length) >>> 0, true);
  view.setUint8(o + 12, type);
  view.setFloat64(o + 13, firstSeq, true);
  view.setUint32(o + 21, count, true);
  buf.set(image, o + HEADER + PAYLOAD_HEADER);
  view.setUint32(o, crc32cView(view, o + 4, o + size), true); // the view at hand: a fresh one a record cost ~140 ns
  return size;
}

/** Log records collected in memory until a file takes them: a record is encoded straight into
 *  the buffer, and the buffer is handed over whole (drain) when the next record would not
 *  fit, or whenever its owner wants its records in the file. */
export class WalBuffer {
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;

  constructor(bytes = 1 << 20) {
    this.buf = new Uint8Array(bytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes waiting for the file. */
  get pending(): number { return this.used; }

  /** Adds one record; what is buffered goes to `write` first if the record would not fit. */
  add(type: number, firstSeq: number, count: number, image: Uint8Array, write: (bytes: Uint8Array) => void): void {
    const size = walRecordSize(image.length);
    if (this.used + size > this.buf.length) {
      this.drain(write);
      if (size > this.buf.length) {
        this.buf = new Uint8Array(size);
        this.view = new DataView(this.buf.buffer);
      }
    }
    this.used += encodeWalRecord(this.buf, this.view, this.used, type, firstSeq, count, image);
  }

  /** Forgets the buffered bytes from `n` on (the records appended since pending was `n`):
   *  a log write that failed is taken back. REQUIRES: n <= pending. */
  dropFrom(n: number): void { if (n < this.used) this.used = n; }

  /** Hands every buffered byte to `write` (which writes all of them or throws), then empties. */
  drain(write: (bytes: Uint8Array) => void): void {
    if (this.used === 0) return;
    write(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

/** One record of a log, as handed to replay: `image` is a view into the log's bytes. */
export interface WalRecord { type: number; firstSeq: number; count: number; image: Uint8Array }

/**
 * Reads every record of the log bytes `b` (the contents of `file`, named in errors) in order.
 * A torn tail (a record cut short, a checksum failure on the last record, or zero bytes, from
 * a crash mid-append) ends the log; any other damage throws CORRUPTION naming the file and
 * the record's offset. `end` is where the last whole record ends.
 */
export function decodeWal(b: Uint8Array, file: string, apply: (r: WalRecord) => void): { records: number; end: number } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  let records = 0;
  while (off < b.length) {
    if (off + HEADER > b.length) break; // header cut short: torn tail
    const len = v.getUint32(off + 4, true);
    if (((len ^ v.getUint32(off + 8, true)) >>> 0) !== 0xffffffff) {
      if (b.subarray(off).every((x) => x === 0)) break; // zero-filled tail of a crashed append
      throw new StrataError('CORRUPTION', `${file} at offset ${off}: log record length is damaged`);
    }
    const end = off + HEADER + len;
    if (end > b.length) break; // payload cut short: torn tail
    if (len < PAYLOAD_HEADER || v.getUint32(off, true) !== crc32cView(v, off + 4, end)) {
      if (end === b.length) break; // the last record: torn tail
      throw new StrataError('CORRUPTION', `${file} at offset ${off}: log record checksum mismatch`);
    }
    const type = v.getUint8(off + 12);
    if (type !== WAL_BATCH && type !== WAL_RESTORE) {
      throw new StrataError('CORRUPTION', `${file} at offset ${off}: unknown log record type ${type}`);
    }
    apply({ type, firstSeq: v.getFloat64(off + 13, true), count: v.getUint32(off + 21, true), image: b.subarray(off + HEADER + PAYLOAD_HEADER, end) });
    records++;
    off = end;
  }
  return { records, end: off };
}
