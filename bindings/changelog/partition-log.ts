// PartitionLog: one partition's chain of segments (<dir>/p-<partition>/<baseSeq>.log) and the
// writer's state for its last one: the append buffer, rolling to a new segment, sealing,
// and recovery on open. The byte format is segment-format.ts's; compaction is compaction.ts.
// Node only; everything synchronous (file-changelog.ts, "Threading").
//
// The writer keeps its part of the invariants (file-changelog.ts lists them all):
//   (1) a segment is named by the seq of its first record, and records are encoded in append
//       order (FileChangelog.append checks seqs increase), so file order is seq order;
//   (2) only the active segment, the last, is appended to; recovery cuts a torn tail off the
//       last segment only and reopens it for appends only if it is neither sealed, nor a
//       compaction's output, nor version 1;
//   (3) fileBytes counts whole records only: a failed write is truncated back to it;
//   (4) seal() writes and fsyncs the end record before roll() creates the next segment,
//       whose header names the log's last seq so far; recovery checks every link of the
//       chain and that every segment but the last ends in its end record.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { type ChangeRecord } from './contract.js';
import { crc32cView } from '../crc32c.js';
import { ioError } from '../storage/io-error.js';
import {
  END_BYTES, FRAME_BYTES, HEADER_BYTES, NO_SEQ, PAYLOAD_FIXED, RECORD_EXPIRES, RECORD_RANGE, RECORD_TOMBSTONE, SEGMENT_COMPACTED,
  SEGMENT_NAME, TMP_NAME, VERSION, brokenChain, chainStep, corruption, encodeEnd, encodeHeader, expiresBytes,
  headerProblem, rdPrevSeq, rdSeq, segmentName, viewOf, wr32, wrSeq, type Segment,
} from './segment-format.js';
import { SegmentReader, openFile, readEndSeq, readHeader } from './segment-reader.js';

export const WRITE_BUFFER_BYTES = 1 << 20; // per partition: appends coalesce into writes this big

/** The segments of one partition, and the writer's state for its last one. */
export class PartitionLog {
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

  /** Encodes one record into the partition's buffer, rolling the segment first if full. */
  encode(r: ChangeRecord, segmentBytes: number): void {
    const key = r.key, range = r.rangeEnd, value = range ?? r.value; // a range deletion's value: its end key
    const keyLen = key.length, valueLen = value === null ? 0 : value.length;
    const extra = expiresBytes(r);
    const payload = PAYLOAD_FIXED + extra + keyLen + valueLen;
    const frame = FRAME_BYTES + payload;
    const used = this.fileBytes + this.pendingBytes;
    // The end record counts against segmentBytes, so a sealed segment stays within it.
    if (this.active === null || (used + frame + END_BYTES > segmentBytes && used > HEADER_BYTES)) this.roll(r.seq);
    let b = this.pending;
    const o = this.pendingBytes;
    if (o + frame > b.length) {
      const nb = Buffer.allocUnsafeSlow(Math.max(o + frame, Math.min(2 * b.length, WRITE_BUFFER_BYTES * 2), 64 << 10));
      b.copy(nb, 0, 0, o);
      this.pending = b = nb;
      this.pendingView = viewOf(nb);
    }
    const q = o + FRAME_BYTES;
    wr32(b, o, payload);
    wr32(b, o + 4, ~payload);
    wr32(b, q, this.partition);
    wrSeq(b, q + 4, r.seq);
    b[q + 12] = range !== undefined ? RECORD_RANGE : value === null ? RECORD_TOMBSTONE : extra !== 0 ? RECORD_EXPIRES : 0;
    wr32(b, q + 13, keyLen);
    if (extra !== 0) this.pendingView.setFloat64(q + PAYLOAD_FIXED, r.expiresAt!, true);
    b.set(key, q + PAYLOAD_FIXED + extra);
    if (valueLen > 0) b.set(value!, q + PAYLOAD_FIXED + extra + keyLen);
    const crc = crc32cView(this.pendingView, q, q + payload);
    this.pendingView.setUint32(o + 8, crc, true);
    this.pendingBytes = o + frame;
    this.lastSeq = r.seq;
    if (this.activeCount++ === 0) this.activeFirstSeq = r.seq;
    this.activeChain = chainStep(this.activeChain, crc);
    if (this.pendingBytes >= WRITE_BUFFER_BYTES) this.writePending();
  }

  /** Writes the buffer at the end of the active file; a failed write is truncated away. */
  writePending(): void {
    const n = this.pendingBytes;
    if (n === 0) return;
    let done = 0;
    try {
      while (done < n) done += fs.writeSync(this.fd, this.pending, done, n - done, this.fileBytes + done);
    } catch (err) {
      try { fs.ftruncateSync(this.fd, this.fileBytes); } catch { /* the failure is reported below */ }
      throw ioError('write', this.active?.file ?? this.dir, err);
    }
    this.fileBytes += n;
    this.pendingBytes = 0;
    this.unsynced = true;
    if (this.pending.length > 2 * WRITE_BUFFER_BYTES) { // after a huge record: do not keep its buffer
      this.pending = Buffer.alloc(0);
      this.pendingView = viewOf(this.pending);
    }
  }

  /**
   * Seals the active segment (if any) and starts a new one whose base is `base`; its header
   * names the log's last seq so far, the last record of the segment before it (invariant 4).
   */
  private roll(base: number): void {
    this.seal();
    const seg: Segment = { file: nodePath.join(this.dir, segmentName(base)), base, covers: base, compacted: false, version: VERSION, prevLastSeq: this.lastSeq };
    const fd = openFile(seg.file, 'wx');
    this.fd = fd;
    this.active = seg;
    this.fileBytes = 0;
    this.dirUnsynced = true;
    this.activeCount = 0;
    this.activeFirstSeq = -1;
    this.activeChain = 0;
    const header = encodeHeader(this.partition, base, base, 0, seg.prevLastSeq);
    fs.writeSync(fd, header, 0, HEADER_BYTES, 0);
    this.fileBytes = HEADER_BYTES;
    this.unsynced = true;
    this.segments = [...this.segments, seg];
  }

  /**
   * Writes the buffer and the end record, fsyncs and closes the active segment. The fsync
   * happens whatever `sync` says (once per segment, so it costs little): a sealed segment
   * must be whole before its successor exists, or a machine crash could damage the middle
   * of the this. The active segment always holds a record (roll is followed by one).
   */
  seal(): void {
    if (this.active === null) return;
    this.writePending();
    const end = encodeEnd(this.partition, this.lastSeq, this.activeCount, this.activeFirstSeq, this.activeChain);
    try {
      let done = 0;
      while (done < END_BYTES) done += fs.writeSync(this.fd, end, done, END_BYTES - done, this.fileBytes + done);
    } catch (err) {
      try { fs.ftruncateSync(this.fd, this.fileBytes); } catch { /* the failure is reported below */ }
      throw ioError('write', this.active.file, err);
    }
    this.fileBytes += END_BYTES;
    fs.fdatasyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    this.active = null;
    this.unsynced = false;
  }

  /** Recovers the log from its directory: cleans up after an interrupted compaction, checks
   *  the chain (invariant 4), cuts a torn tail off the last segment. `sync`: fsync the cut. */
  recover(sync: boolean): void {
    let found: { seg: Segment; problem: string | null }[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const file = nodePath.join(this.dir, name);
      if (TMP_NAME.test(name)) { fs.unlinkSync(file); this.dirUnsynced = true; continue; }
      const m = SEGMENT_NAME.exec(name);
      if (m === null) continue;
      const base = Number(m[1]);
      const header = readHeader(file);
      const problem = headerProblem(header, this.partition, base);
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
      if (seg.base <= covered) { fs.unlinkSync(seg.file); this.dirUnsynced = true; return false; }
      covered = Math.max(covered, seg.covers);
      return true;
    });
    // A bad header is forgivable only in the last segment (SegmentReader decides below).
    for (let i = 0; i < found.length - 1; i++) {
      if (found[i].problem !== null) throw corruption(found[i].seg.file, 0, found[i].problem!);
    }
    this.segments = found.map((f) => f.seg);
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
      if (i < found.length - 1) prevLast = seg.version === VERSION ? readEndSeq(seg, this.partition) : NO_SEQ;
    }
    // The last segment may end in a torn write: find its last intact record, cut the rest.
    // A last segment with no record (or a torn header) is dropped, and the one before it
    // then supplies the last seq.
    while (this.segments.length > 0) {
      const last = this.segments[this.segments.length - 1];
      const r = new SegmentReader(last.file, this.partition, last.base, () => this.isLast(last));
      let count = 0;
      try {
        while (r.step()) count++;
      } finally {
        r.close();
      }
      if (count === 0) {
        fs.unlinkSync(last.file);
        this.dirUnsynced = true;
        this.segments = this.segments.slice(0, -1);
        continue;
      }
      this.lastSeq = r.lastSeq;
      if (r.tornAt >= 0) {
        const fd = openFile(last.file, 'r+');
        try {
          fs.ftruncateSync(fd, r.tornAt);
          if (sync) fs.fdatasyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      // Keep appending to the last segment unless it is sealed (a crash after the seal,
      // before its successor's creation was durable), compaction wrote it (it stays exactly
      // the compaction's output, so re-compacting it alone is a no-op), or it is version 1
      // (it has no end record to seal it with).
      if (!last.compacted && !r.sealed && last.version === VERSION) {
        this.fd = openFile(last.file, 'r+');
        this.active = last;
        this.fileBytes = r.tornAt >= 0 ? r.tornAt : fs.fstatSync(this.fd).size;
        this.activeCount = r.count;
        this.activeFirstSeq = r.firstSeq;
        this.activeChain = r.chain;
      }
      break;
    }
  }
}
