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
import { crc32cView } from '../crc32c.js';
import { acquireLock } from '../storage/lock-file.js';
import { ioError } from '../storage/io-error.js';
import {
  END_BYTES, FRAME_BYTES, HEADER_BYTES, MAX_PAYLOAD, NO_SEQ, PARTITION_DIR, PAYLOAD_FIXED, RECORD_EXPIRES,
  RECORD_TOMBSTONE, SEGMENT_COMPACTED, SEGMENT_NAME, TMP_NAME, VERSION, brokenChain, chainStep, corruption, encodeEnd,
  encodeHeader, expiresBytes, headerProblem, rd32, rdPrevSeq, rdSeq, segmentName, viewOf, wr32, wrSeq, type Segment,
} from './segment-format.js';
import { SegmentReader, fsyncDir, openFile, readEndSeq, readHeader } from './segment-reader.js';
import { LogIterator } from './log-iterator.js';
import { PartitionLog, WRITE_BUFFER_BYTES } from './partition-log.js';

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
