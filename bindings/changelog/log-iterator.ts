// LogIterator: one partition's records from a seq, across its segments, in seq order; the
// iterator behind FileChangelog.read() and its raw visits (changelog/contract.ts RAW_RECORDS).
//
// It keeps its part of invariant (4) (file-changelog.ts lists them all): reading on from one
// segment to the next, the next one's header must name the last seq of the one just read,
// so a file lost or cut while the log is open is CORRUPTION, never a shorter read. And since
// seqs increase across segments (invariant 1), a re-seek after a compaction finds its place
// by seq.
import { type ChangeRecord, type RawRecord } from './contract.js';
import { VERSION, brokenChain, type Segment } from './segment-format.js';
import { SegmentReader } from './segment-reader.js';
import type { PartitionLog } from './partition-log.js';


/**
 * Iterates one partition's log from a seq. It walks the segments in order; when a segment it
 * finished has since been replaced by compaction, it re-seeks by seq in the new list (the
 * compacted file holds a subset of the same records, and ones it already returned are
 * skipped by seq), so a compaction in the middle of a read neither loses nor repeats records.
 */
export class LogIterator implements IterableIterator<ChangeRecord> {
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
