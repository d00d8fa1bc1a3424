// Key compaction of one partition's log (docs/CHANGELOG-FORMAT.md, "Compaction"): its
// segments become one holding the latest record of each key, tombstones included, in seq
// order, less what later range deletions cover (changelog/range-cover.ts has the rule). Crash-safe: the output is written whole to <first>.log.tmp, end record included,
// fsynced, renamed over the first input, and only then are the other inputs deleted
// (PartitionLog.recover deletes inputs a crash left behind: the output's coversThrough).
//
// Invariants kept (file-changelog.ts lists them all): (1) the survivors keep their seq order
// and the output keeps the first input's base and prevLastSeq; (4) the output is sealed, and
// since the log's last record is the latest of its key it survives, so the output's lastSeq
// is the log's and segments appended later still chain to it.
import * as fs from 'node:fs';
import { type CompactionResult } from './memory-changelog.js';
import {
  END_BYTES, HEADER_BYTES, SEGMENT_COMPACTED, VERSION, chainStep, encodeEnd, encodeHeader, rd32, type Segment,
} from './segment-format.js';
import { SegmentReader, fsyncDir, openFile } from './segment-reader.js';
import { WRITE_BUFFER_BYTES, type PartitionLog } from './partition-log.js';
import { RangeCover, type RangeRecord } from './range-cover.js';

/** Compacts `log` (its active segment is sealed first); before and after are its record counts. */
export function compactLog(log: PartitionLog): CompactionResult {
  log.seal();
  const inputs = log.segments;
  if (inputs.length === 0) return { before: 0, after: 0 };
  const last = inputs[inputs.length - 1];
  const isLastOf = (s: Segment) => () => s === last;
  // Pass 1: number the records in log order; mark each one a later record of its key
  // supersedes, so pass 2 decides by ordinal without looking keys up again.
  const latest = new Map<string, number>(); // key → ordinal of its latest record so far
  const ranges: RangeRecord[] = [];         // the range deletions, apart
  let superseded = new Uint8Array(1 << 16);
  let before = 0;
  for (const s of inputs) {
    const r = new SegmentReader(s.file, log.partition, s.base, isLastOf(s));
    try {
      while (r.step()) {
        const key = r.buffer.toString('latin1', r.keyStart, r.keyEnd);
        if (r.rangeDelete) {
          ranges.push({ ord: before, from: key, to: r.buffer.toString('latin1', r.keyEnd, r.recordEnd) });
        } else {
          const prev = latest.get(key);
          if (prev !== undefined) superseded[prev] = 1;
          latest.set(key, before);
        }
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
  if (ranges.length > 0) {
    const cover = new RangeCover(ranges);
    ranges.forEach((range, j) => { if (cover.dropped[j] === 1) superseded[range.ord] = 1; });
    for (const [key, ordinal] of latest) if (cover.coversAfter(key, ordinal)) superseded[ordinal] = 1;
  }
  // The rule is idempotent: a log compacted once has nothing more to drop.
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
    // The log's last record is the latest of its key and no range deletion follows it, so
    // lastSeq is the log's last seq and the chain to segments appended later holds.
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
