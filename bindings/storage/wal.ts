// The write-ahead log files of a Node store (docs/FORMAT.md, "Write-ahead log"): one record
// per committed write, in the record format of wal-format.ts (shared with the OPFS log), the
// image copied straight out of linear memory. With `sync` every append is fsynced before it
// returns; without, appends collect in a buffer that reaches the file when full and is
// fsynced by flush().
//
// A failed append is taken back (docs/LSM.md, "The write protocol"): the write it logs is
// refused, so the log must not keep it, or a reopen would bring back a write the caller was
// told failed and no listener or sink ever saw. Writes are positional and a failed one cuts
// the file back to where it began, so the file always ends at a whole number of drains
// (`written`); the failed record is then dropped from the buffer or cut off the file.
import { openSync, writeSync, fsyncSync, closeSync, readFileSync, ftruncateSync } from 'node:fs';
import { io } from './io-error.js';
import { WalBuffer, decodeWal, type WalRecord } from './wal-format.js';

export { WAL_BATCH, WAL_RESTORE, type WalRecord } from './wal-format.js';
const BUFFER_BYTES = 1 << 20;

/** Where a log's records end before an append: what undo() cuts back to. */
export type LogMark = number;

export class WalWriter {
  private fd: number;
  private readonly buffer = new WalBuffer(BUFFER_BYTES);
  /** Bytes in the file. INVARIANT: the file holds exactly `written` bytes of whole drains. */
  private written = 0;
  /** A failed write could not be cut back: the file may end in bytes of a refused write. */
  torn = false;
  /** The last sequence appended (0 when the log is empty). */
  lastSeq = 0;
  /** Bytes of record images appended. */
  bytes = 0;

  /** Creates the log file `file` (it must not exist). The caller fsyncs the directory. */
  constructor(readonly file: string, readonly number: number, private readonly sync: boolean) {
    this.fd = io('create', file, () => openSync(file, 'wx'));
  }

  /** Appends one record whose image is `image`; `lastSeq` is the last sequence it holds.
   *  Returns where the log ended before it, for undo(). On failure (IO_ERROR) the record is
   *  taken back first, so the log is as it was. */
  append(type: number, firstSeq: number, count: number, lastSeq: number, image: Uint8Array): LogMark {
    const mark = this.written + this.buffer.pending;
    try {
      this.buffer.add(type, firstSeq, count, image, this.writeBytes);
      if (this.sync) this.flush();
    } catch (err) {
      this.undo(mark);
      throw err;
    }
    this.lastSeq = lastSeq;
    this.bytes += image.length;
    return mark;
  }

  /** Takes back every record appended from `mark` on: dropped from the buffer, or cut off
   *  the file. (Used when the write failed after it was logged: a sink refused it.) */
  undo(mark: LogMark): void {
    if (this.written > mark) {
      try {
        ftruncateSync(this.fd, mark);
        this.written = mark;
        if (this.sync) fsyncSync(this.fd); // the record was made durable: so must its removal be
      } catch {
        this.torn = true; // the store is failing anyway; FORMAT.md says what a reopen may see
      }
    }
    this.buffer.dropFrom(Math.max(0, mark - this.written));
  }

  /** Writes what is buffered and fsyncs: every append so far is durable on return. */
  flush(): void {
    this.buffer.drain(this.writeBytes);
    io('fsync', this.file, () => fsyncSync(this.fd));
  }

  close(): void {
    try { this.flush(); } finally { closeSync(this.fd); }
  }

  /** Writes what is buffered, without an fsync: a log retired before its records are all in
   *  run files keeps them (durable as the active log's would be: at the next fsync, flush). */
  seal(): void { this.buffer.drain(this.writeBytes); }

  /** Closes without writing the buffer (its records are in run files already). */
  discard(): void { closeSync(this.fd); }

  /** Writes `b` at the end of the file, all of it or (cut back) none of it. */
  private readonly writeBytes = (b: Uint8Array): void => {
    const at = this.written;
    let off = 0;
    try {
      while (off < b.length) off += writeSync(this.fd, b, off, b.length - off, at + off);
    } catch (err) {
      if (off > 0) {
        try { ftruncateSync(this.fd, at); } catch { this.torn = true; }
      }
      io('write', this.file, () => { throw err; });
    }
    this.written = at + b.length;
  };
}

/**
 * Reads every record of a log file in order (wal-format.ts decodeWal: a torn tail ends the
 * log; other damage is CORRUPTION naming the file and the record's offset).
 */
export function replayWal(file: string, apply: (r: WalRecord) => void): { records: number } {
  const b = io('read', file, () => readFileSync(file));
  return { records: decodeWal(b, file, apply).records };
}
