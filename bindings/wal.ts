// The write-ahead log files of a Node store (docs/FORMAT.md, "Write-ahead log"): one record
// per committed write, in the record format of wal-format.ts (shared with the OPFS log), the
// image copied straight out of linear memory. With `sync` every append is fsynced before it
// returns; without, appends collect in a buffer that reaches the file when full and is
// fsynced by flush().
import { openSync, writeSync, fsyncSync, closeSync, readFileSync } from 'node:fs';
import { io } from './io-error.js';
import { WalBuffer, decodeWal, type WalRecord } from './wal-format.js';

export { WAL_BATCH, WAL_RESTORE, type WalRecord } from './wal-format.js';
const BUFFER_BYTES = 1 << 20;

export class WalWriter {
  private fd: number;
  private readonly buffer = new WalBuffer(BUFFER_BYTES);
  /** The last sequence appended (0 when the log is empty). */
  lastSeq = 0;
  /** Bytes of record images appended. */
  bytes = 0;

  /** Creates the log file `file` (it must not exist). The caller fsyncs the directory. */
  constructor(readonly file: string, readonly number: number, private readonly sync: boolean) {
    this.fd = io('create', file, () => openSync(file, 'wx'));
  }

  /** Appends one record whose image is `image`; `lastSeq` is the last sequence it holds. */
  append(type: number, firstSeq: number, count: number, lastSeq: number, image: Uint8Array): void {
    this.buffer.add(type, firstSeq, count, image, this.writeBytes);
    this.lastSeq = lastSeq;
    this.bytes += image.length;
    if (this.sync) this.flush();
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

  private readonly writeBytes = (b: Uint8Array): void => {
    let off = 0;
    while (off < b.length) off += io('write', this.file, () => writeSync(this.fd, b, off, b.length - off));
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
