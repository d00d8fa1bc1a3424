// The write-ahead log (docs/FORMAT.md, "Write-ahead log"): one record per committed write,
//   crc u32 | length u32 | ~length u32 | payload = type u8 | firstSeq f64 | count u32 | image
// where the image is the engine's own batch image (type 1: consecutive sequences from
// firstSeq) or restore image (type 2: each record carries its sequence), copied straight
// out of linear memory. With `sync` every append is fsynced before it returns; without,
// appends collect in a buffer that reaches the file when full and is fsynced by flush().
import { openSync, writeSync, fsyncSync, closeSync, readFileSync } from 'node:fs';
import { StrataError } from './errors.js';
import { io } from './io-error.js';
import { crc32c } from './crc32c.js';

export const WAL_BATCH = 1;
export const WAL_RESTORE = 2;
const HEADER = 12;         // crc, length, ~length (a damaged length is told from a torn tail)
const PAYLOAD_HEADER = 13; // type, firstSeq, count
const BUFFER_BYTES = 1 << 20;

export class WalWriter {
  private fd: number;
  private buf = new Uint8Array(BUFFER_BYTES);
  private view = new DataView(this.buf.buffer);
  private used = 0;
  /** The last sequence appended (0 when the log is empty). */
  lastSeq = 0;

  /** Creates the log file `file` (it must not exist). The caller fsyncs the directory. */
  constructor(readonly file: string, readonly number: number, private readonly sync: boolean) {
    this.fd = io('create', file, () => openSync(file, 'wx'));
  }

  /** Appends one record whose image is `image`; `lastSeq` is the last sequence it holds. */
  append(type: number, firstSeq: number, count: number, lastSeq: number, image: Uint8Array): void {
    const size = HEADER + PAYLOAD_HEADER + image.length;
    if (this.used + size > this.buf.length) {
      this.writeOut();
      if (size > this.buf.length) {
        this.buf = new Uint8Array(size);
        this.view = new DataView(this.buf.buffer);
      }
    }
    const o = this.used;
    const v = this.view;
    v.setUint32(o + 4, PAYLOAD_HEADER + image.length, true);
    v.setUint32(o + 8, ~(PAYLOAD_HEADER + image.length) >>> 0, true);
    v.setUint8(o + 12, type);
    v.setFloat64(o + 13, firstSeq, true);
    v.setUint32(o + 21, count, true);
    this.buf.set(image, o + HEADER + PAYLOAD_HEADER);
    v.setUint32(o, crc32c(this.buf, o + 4, o + size), true);
    this.used += size;
    this.lastSeq = lastSeq;
    if (this.sync) this.flush();
  }

  /** Writes what is buffered and fsyncs: every append so far is durable on return. */
  flush(): void {
    this.writeOut();
    io('fsync', this.file, () => fsyncSync(this.fd));
  }

  close(): void {
    try { this.flush(); } finally { closeSync(this.fd); }
  }

  /** Closes without writing the buffer (its records are in run files already). */
  discard(): void { closeSync(this.fd); }

  private writeOut(): void {
    let off = 0;
    while (off < this.used) off += io('write', this.file, () => writeSync(this.fd, this.buf, off, this.used - off));
    this.used = 0;
  }
}

/** One record of a log, as handed to replay: `image` is a view valid during the call. */
export interface WalRecord { type: number; firstSeq: number; count: number; image: Uint8Array }

/**
 * Reads every record of a log in order. A torn tail (a record cut short, or a checksum
 * failure on the last record, from a crash mid-append) ends the log; any other damage
 * throws CORRUPTION naming the file and the record's offset.
 */
export function replayWal(file: string, apply: (r: WalRecord) => void): { records: number } {
  const b = io('read', file, () => readFileSync(file));
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
    if (len < PAYLOAD_HEADER || v.getUint32(off, true) !== crc32c(b, off + 4, end)) {
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
  return { records };
}
