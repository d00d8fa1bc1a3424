// FileChangelog: a durable changelog on the local disk (Node only), the public class.
// docs/CHANGELOG-FORMAT.md specifies every byte; the directory:
//
//   <dir>/LOCK                        pid, start and token of the holder (bindings/storage/lock-file.ts)
//   <dir>/p-<partition>/<baseSeq>.log a segment, baseSeq zero-padded to 16 digits
//
// The parts, each file stating the invariants it keeps:
//   segment-format.ts  the bytes of a segment: header, record frame, end record, recordsChain
//   segment-reader.ts  reading one segment file (SegmentReader), its header and end record
//   log-iterator.ts    one partition's records from a seq, across segments (read())
//   partition-log.ts   one partition's segments: append buffer, roll, seal, recovery
//   compaction.ts      key compaction of one partition's log
//
// Invariants, per partition:
//   (1) seqs strictly increase in append order, across segments too, so file order is seq
//       order and a segment's name bounds the seqs it holds from below (append checks the
//       batch; SegmentReader refuses a record out of order);
//   (2) only the last segment is ever appended to, and only it may end in a torn record
//       (PartitionLog's active segment; SegmentReader.mayTear);
//   (3) the bytes of a file before its append offset are whole records; a failed write is
//       truncated away (PartitionLog.writePending, seal), and after an I/O error the
//       changelog refuses further writes (fail() below);
//   (4) every segment but the last ends in its end record (written and fsynced before the
//       next segment is created; a compaction's output is written sealed), and each
//       segment's header names the last seq of the one before it: a lost end of a segment
//       or a lost segment is CORRUPTION, never a shorter log (PartitionLog.seal, roll and
//       recover; SegmentReader; LogIterator; compaction.ts).
// Threading: everything is synchronous on the caller's thread (node:fs *Sync calls), so
// appends are ordered without locks and a reader never sees half of a write.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { RAW_RECORDS, type ChangeRecord, type ChangelogSink, type ChangelogSource, type RawRecord } from './contract.js';
import { StrataError, invalid } from '../errors.js';
import { checkBatch, checkFromSeq, checkPartition, type CompactionResult } from './memory-changelog.js';
import { acquireLock } from '../storage/lock-file.js';
import { ioError } from '../storage/io-error.js';
import { MAX_PAYLOAD, PARTITION_DIR, PAYLOAD_FIXED, expiresBytes } from './segment-format.js';
import { fsyncDir } from './segment-reader.js';
import { LogIterator } from './log-iterator.js';
import { PartitionLog } from './partition-log.js';
import { compactLog } from './compaction.js';

export interface FileChangelogOptions {
  /** A segment is sealed when the next record would take it past this size. Default 32 MiB. */
  segmentBytes?: number;
  /** true: flush() fsyncs what it wrote (and new directory entries). Default false. */
  sync?: boolean;
}

// ---- tuning ------------------------------------------------------------------------------
const DEFAULT_SEGMENT_BYTES = 32 << 20; // open scans the last segment: ~50 ms at this size

function closedError(): StrataError { return new StrataError('CLOSED', 'the changelog is closed'); }

/** read()'s result: an iterable that restore can also visit raw (changelog/contract.ts). */
interface RawRecordSourceImpl { [RAW_RECORDS](visit: (record: RawRecord) => void): void }

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
      throw ioError('open changelog', dir, err); // a StrataError passes through
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
      const size = PAYLOAD_FIXED + expiresBytes(r) + r.key.length + ((r.rangeEnd ?? r.value)?.length ?? 0);
      if (size > MAX_PAYLOAD) throw new StrataError('VALUE_TOO_LARGE', `a changelog record holds at most ${MAX_PAYLOAD} bytes of key and value`);
    }
    try {
      for (const r of records) this.logFor(r.partition).encode(r, this.segmentBytes);
    } catch (err) {
      throw this.fail(err);
    }
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      queueMicrotask(() => {
        this.writeScheduled = false;
        if (this.closed || this.failure !== null) return;
        try { for (const log of this.logs.values()) log.writePending(); } catch (err) { this.fail(err); }
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
        try { log.writePending(); } catch (err) { throw this.fail(err); }
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
        const r = compactLog(log);
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
    const e = ioError('use changelog', this.dir, err); // a StrataError passes through
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

  private flushAll(): void {
    for (const log of this.logs.values()) {
      log.writePending();
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
      log.recover(this.sync);
      this.logs.set(partition, log);
    }
  }

}
