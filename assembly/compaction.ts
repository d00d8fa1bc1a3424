// Compaction: leveled, as LevelDB and RocksDB's default (docs/LSM.md says why).
//
//  - Level 0 collects memtable flushes. When it holds `level0Trigger` runs, all of them
//    are merged with the overlapping runs of level 1.
//  - Level n >= 1 has a byte target (levelBase × multiplier^(n-1)). When it is over, one
//    run (round robin by key) is merged with the runs of level n+1 that overlap it; when
//    none overlap, the run just moves down (no rewrite).
//  - Output is cut into runs of about `runTargetBytes`, never inside one user key.
//
// Dropping rule while merging, newest version of each key first (S = smallest live
// snapshot, or the last sequence when there is none):
//  - a version is dropped if a newer version of the same key has sequence <= S: every
//    reader that could see this one sees the newer one instead;
//  - a tombstone with sequence <= S is dropped when no deeper level can hold the key
//    (it would have nothing left to hide).
// Sequence numbers are kept as they are: they are the keys' versions.
//
// Range tombstones (range-del.ts; docs/LSM.md, "Range deletions"), the inputs' own:
//  - an entry is dropped when a tombstone with sequence <= S covers it and is newer: every
//    reader sees that tombstone (S is the oldest), so none can see the entry;
//  - a tombstone with sequence <= S is dropped when no deeper level holds an entry in its
//    range (everything it covered in this merge was dropped by the rule above);
//  - the others go to the output runs, each clipped to the key interval its run was cut
//    for ([first key of the run, first key of the next)), so the runs of a level stay
//    disjoint counting their tombstones. A merge whose entries all went may write a run of
//    tombstones alone.
//
// Expiry (stores with ttlMs, whose values start with an f64 expiresAt): with the clock set
// (expiryClock > 0), a value that has expired is written out as a tombstone of the same
// sequence, and so is then dropped by the tombstone rule. Readers treat an expired value as
// absent already (time only moves forward), so the tombstone changes no read; it hides the
// older versions beneath just as the expired value did.
import { Run, RunIterator } from "./run";
import { RunBuilder, tombstoneOnlyRun } from "./run-builder";
import { RangeDels, copyClipped, copyFailed } from "./range-del";
import { Version, MAX_LEVELS } from "./version";
import { BaseLevels } from "./base-levels";
import { InternalIterator } from "./internal-iterator";
import { MergingIterator } from "./merge-iterator";
import { equalBytes, compareBytes } from "./bytes";
import { tagSeq, tagKind, makeTag, KIND_DELETE, KIND_PUT, KIND_MERGE } from "./internal-key";
import { MergeChain } from "./merge-chain";
import { foldChain, foldedPtr, foldedLen } from "./merge-fold";
import { KeyCopy } from "./key-copy";
import { safePoint, spanLen } from "./run";
import { DEFAULT_BLOCK_BYTES, DEFAULT_BITS_PER_KEY, DEFAULT_RUN_TARGET_BYTES } from "./tuning";
import * as S from "./status";

/** Now, in ms since the epoch, for expiry; 0 when the store has no ttl. Set by the host
 *  before each call that may compact. */
export let expiryClock: f64 = 0;
export function setExpiryClock(now: f64): void { expiryClock = now; }

/** Whether the entry is a value whose expiresAt prefix is at or before expiryClock. */
@inline function expired(tag: u64, val: usize, vlen: u32): bool {
  return expiryClock > 0 && tagKind(tag) == KIND_PUT && vlen >= 8 && load<f64>(val) <= expiryClock;
}

export class CompactionConfig {
  blockBytes: u32 = DEFAULT_BLOCK_BYTES;
  bitsPerKey: u32 = DEFAULT_BITS_PER_KEY;
  runTargetBytes: u64 = DEFAULT_RUN_TARGET_BYTES;
}

/** Outcome of a merge: the runs written and their bytes; null runs means it failed, with
 *  `status` saying why. */
export class MergeOutput {
  runs: Array<Run> | null = null;
  bytes: u64 = 0;
  status: i32 = S.OK;
  /** A failed block read: where (Merger's errRun, errAt, errWhat). */
  errRun: u32 = 0;
  errAt: u64 = 0;
  errWhat: i32 = 0;
}

/** The range tombstones of `runs` (pointers into them: the caller pins the runs), or null
 *  when they hold none. */
export function inputRangeDels(runs: Array<Run>): RangeDels | null {
  let out: RangeDels | null = null;
  for (let i = 0; i < runs.length; i++) {
    let rd = unchecked(runs[i]).rangeDels;
    if (rd == null) continue;
    if (out == null) out = new RangeDels();
    out.pushAll(rd, 0xffffffffffffffff);
  }
  return out;
}

/**
 * A merge of `source` (an internal iterator) into new runs, resumable: step() does a
 * bounded amount of it, so a compaction can advance a slice at a time between writes
 * (docs/LSM.md, "Compaction in slices") instead of stalling one write for all of it.
 * Tombstones may go where `base` says no deeper level holds the key (base-levels.ts);
 * null: never (a flush, into level 0).
 * INVARIANT: between steps the source and every run it reads stay pinned by the caller.
 * `cur` is the merger's own copy of the key being merged (the source's previous block
 * may be evicted from the block cache at the safe point each entry passes, and sequential
 * run reads overwrite their chunk); a slice ends before a new key, and the next step starts
 * with no current key. The merger closes its source when it is done or abandoned.
 */
export class Merger {
  private runs: Array<Run> = new Array<Run>();
  private builder: RunBuilder;
  private hasKey: bool = false;
  /** The key being merged (a copy: see the invariant above). */
  private cur: KeyCopy = new KeyCopy();
  /** A version of the current key every reader sees (sequence <= S, a put or a tombstone,
   *  kept or dropped) was passed: every older version is hidden from all of them. */
  private shadowed: bool = false;
  /** Merge operands of the current key being folded (docs/LSM.md, "Merge operators"). */
  private chain: MergeChain = new MergeChain();
  /** The inputs' range tombstones (pinned by the caller, as the source), which of them go
   *  to the output, and the newest of them <= S covering the current key (0: none). */
  private rd: RangeDels | null = null;
  private rdKeep: bool[] | null = null;
  private coverSeq: u64 = 0;
  /** The first key of the output run being built (its tombstones are clipped from it);
   *  none for the first run. */
  private outLo: KeyCopy = new KeyCopy();
  private hasOutLo: bool = false;
  /** withTombstones was refused memory. */
  private oom: bool = false;
  /** Bytes of finished output runs. */
  bytes: u64 = 0;
  /** Bytes of source entries consumed so far (key + value + 16 each, dropped ones too). */
  bytesRead: u64 = 0;
  done: bool = false;
  /** Set when a run could not be allocated or a block read failed: the merge is abandoned,
   *  its output freed; `status` says why (OUT_OF_MEMORY, CORRUPTION, IO_ERROR), and for a
   *  block read, errRun / errAt / errWhat where (the source's, see InternalIterator). */
  failed: bool = false;
  status: i32 = S.OK;
  errRun: u32 = 0;
  errAt: u64 = 0;
  errWhat: i32 = 0;

  constructor(private source: InternalIterator, private cfg: CompactionConfig, private smallestSnapshot: u64,
              private base: BaseLevels | null, private cutRuns: bool,
              rd: RangeDels | null = null) {
    this.builder = new RunBuilder(cfg.blockBytes, cfg.bitsPerKey);
    if (rd != null && rd.count > 0) {
      this.rd = rd;
      let keep = new Array<bool>(rd.count);
      for (let i = 0; i < rd.count; i++) {
        unchecked(keep[i] = !(base != null && unchecked(rd.seq[i]) <= smallestSnapshot
          && base.forRange(unchecked(rd.fromPtr[i]), unchecked(rd.fromLen[i]), unchecked(rd.toPtr[i]), unchecked(rd.toLen[i]))));
      }
      this.rdKeep = keep;
    }
    source.seekToFirst();
  }

  /** Gives the output run `r` (null: no entries) the kept tombstones clipped to
   *  [outLo, hi) (hasHi false: unbounded). Returns the run (a tombstone-only one when `r` is
   *  null and tombstones remain), or null with `failed` set when memory is refused. */
  private withTombstones(r: Run | null, hi: usize, hiLen: u32, hasHi: bool): Run | null {
    let rd = this.rd;
    if (rd == null) return r;
    let c = copyClipped(rd!, this.rdKeep, this.outLo.ptr, this.outLo.len, this.hasOutLo, hi, hiLen, hasHi);
    if (copyFailed) { this.oom = true; if (r != null) { r.refs = 1; r.unref(); } return null; }
    if (c == null) return r;
    if (r == null) {
      let t = tombstoneOnlyRun(c);
      if (t == null) { this.oom = true; c.free(); return null; }
      return t;
    }
    r.setRangeDels(c);
    return r;
  }

  /** Merges until about `budget` bytes of source entries were consumed (or the end), ending
   *  only between user keys. True when the merge has finished or failed. Counting what is
   *  read, dropped entries included, keeps a slice's time bounded when most versions go. */
  step(budget: u64): bool {
    if (this.done) return true;
    let source = this.source, cfg = this.cfg, builder = this.builder;
    let spent: u64 = 0;
    while (source.valid) {
      let k = source.keyPtr, kl = source.keyLen, tag = source.tag;
      let seq = tagSeq(tag);
      let val = source.valPtr, vlen = source.valLen;
      if (expired(tag, val, vlen)) { tag = makeTag(seq, KIND_DELETE); vlen = 0; }
      let newKey = !this.hasKey || !equalBytes(k, kl, this.cur.ptr, this.cur.len);
      if (newKey) {
        // A slice ends only between user keys: the dropping rule needs a key's versions in order.
        if (spent >= budget && spent > 0) { // every step makes progress, even with budget 0
          this.hasKey = false; // the next step starts at this new key
          return false;
        }
        if (!this.cur.set(k, kl)) { this.fail(); return true; }
        this.hasKey = true;
        this.shadowed = false;
        let rd = this.rd;
        if (rd != null) this.coverSeq = rd.covering(k, kl, this.smallestSnapshot);
      }
      let drop = false;
      if (this.shadowed || seq < this.coverSeq) {
        drop = true;
      } else if (tagKind(tag) == KIND_DELETE && seq <= this.smallestSnapshot && this.base != null
                 && this.base!.forKey(k, kl)) {
        drop = true;
      }
      if (!drop && tagKind(tag) == KIND_MERGE && seq <= this.smallestSnapshot) {
        // Consumes this key's operands every reader sees, and what they apply to.
        spent += this.mergeOperands(newKey);
        if (this.failed) return true;
        continue;
      }
      if (seq <= this.smallestSnapshot && tagKind(tag) != KIND_MERGE) this.shadowed = true;
      if (!drop && !this.emit(k, kl, tag, val, vlen, newKey)) return true;
      let entryBytes = <u64>kl + <u64>source.valLen + 16;
      spent += entryBytes;
      this.bytesRead += entryBytes;
      source.next();
      safePoint();
    }
    // A source that failed a block read ended early (here, or already at seekToFirst in the
    // constructor): its output would lack the entries past the damage, so it is dropped and
    // the inputs stay, never installed short.
    if (source.status != S.OK) {
      this.errRun = source.errRun; this.errAt = source.errAt; this.errWhat = source.errWhat;
      this.fail(source.status);
      return true;
    }
    let r = builder.finish();
    if (builder.failed) { this.fail(); return true; }
    if (this.rd != null) {
      r = this.withTombstones(r, 0, 0, false);
      if (this.oom) { this.fail(); return true; }
    }
    if (r != null) { this.runs.push(r); this.bytes += r.bytes; }
    this.finishInputs();
    this.done = true;
    return true;
  }

  /** Adds an entry to the output, first cutting the run when a new key starts past the
   *  target size. False (failed set) when memory is refused. */
  private emit(k: usize, kl: u32, tag: u64, val: usize, vlen: u32, newKey: bool): bool {
    let builder = this.builder;
    if (this.cutRuns && newKey && builder.currentBytes() >= this.cfg.runTargetBytes && builder.hasEntries()) {
      let r = this.withTombstones(builder.finish(), k, kl, true);
      if (r == null) { this.fail(); return false; }
      this.runs.push(r);
      this.bytes += r.bytes;
      if (this.rd != null) {
        if (!this.outLo.set(k, kl)) { this.fail(); return false; }
        this.hasOutLo = true;
      }
    }
    builder.add(k, kl, tag, val, vlen);
    if (builder.failed) { this.fail(); return false; }
    return true;
  }

  /**
   * At a merge operand every reader sees (sequence <= S, not hidden): gathers it and the
   * key's older versions down to what they apply to — a put, a tombstone, a covering range
   * tombstone, or the end of the key's versions where no deeper level holds the key — and
   * writes the folded value as a put with the newest operand's sequence (its version). A
   * chain that ends with older versions possibly below the output level, or that the host
   * cannot fold (no operator registered, or one that throws), is written back as it was,
   * to be folded by a later compaction or by readers. Returns the source bytes consumed.
   */
  private mergeOperands(newKey: bool): u64 {
    let source = this.source, c = this.chain;
    let k = this.cur.ptr, kl = this.cur.len;
    c.reset(false);
    let consumed: u64 = 0;
    let ended = true; // the key's versions ran out: no base is known here
    let endTag: u64 = 0;
    while (source.valid && equalBytes(source.keyPtr, source.keyLen, k, kl)) {
      let tag = source.tag, seq = tagSeq(tag);
      let val = source.valPtr, vlen = source.valLen;
      if (expired(tag, val, vlen)) { tag = makeTag(seq, KIND_DELETE); vlen = 0; }
      // Covered: dropped by the main loop (seq < coverSeq); the operands apply to absent.
      if (seq < this.coverSeq) { ended = false; endTag = makeTag(0, KIND_DELETE); break; }
      let kind = tagKind(tag);
      if (kind == KIND_MERGE) c.addOperand(seq, val, vlen);
      else if (kind == KIND_PUT) c.setBase(val, vlen);
      if (c.failed) { this.fail(); return consumed; }
      let entryBytes = <u64>kl + <u64>source.valLen + 16;
      consumed += entryBytes;
      this.bytesRead += entryBytes;
      source.next();
      safePoint();
      if (kind != KIND_MERGE) { ended = false; endTag = tag; break; }
    }
    // Whatever comes after this chain in the key's versions is hidden from every reader.
    this.shadowed = true;
    let complete = !ended || (this.base != null && this.base!.forKey(k, kl));
    if (complete) {
      let f = foldChain(c);
      if (f < 0) { this.fail(); return consumed; }
      if (f > 0) {
        this.emit(k, kl, makeTag(c.newestSeq, KIND_PUT), foldedPtr, foldedLen, newKey);
        return consumed;
      }
    }
    // Written back as found: the operands newest first, then the put or tombstone they end at.
    for (let i = 0; i < c.count; i++) {
      if (!this.emit(k, kl, makeTag(c.operandSeq(i), KIND_MERGE), c.operandPtr(i), c.operandLen(i), newKey && i == 0)) return consumed;
    }
    if (c.hasBase) this.emit(k, kl, endTag, c.basePtr(), c.baseLen(), false);
    else if (!ended && tagSeq(endTag) != 0) this.emit(k, kl, endTag, 0, 0, false);
    return consumed;
  }

  /** Releases the builder, the key copy and the source (its pins and reader counts). */
  private finishInputs(): void {
    this.builder.release();
    this.chain.free();
    this.cur.free();
    this.outLo.free();
    this.source.close();
  }

  /** The runs written, once step() returned true without failing. */
  output(): Array<Run> { return this.runs; }

  /** Frees what was written so far; the inputs are untouched. */
  abandon(): void {
    if (!this.done) this.fail();
  }

  private fail(status: i32 = S.OUT_OF_MEMORY): void {
    this.status = status;
    this.finishInputs();
    for (let i = 0; i < this.runs.length; i++) { let r = unchecked(this.runs[i]); r.refs = 1; r.unref(); }
    this.runs = new Array<Run>();
    this.failed = true;
    this.done = true;
  }
}

/** A whole merge in one call (flushes, full compactions); see Merger. */
export function mergeInto(source: InternalIterator, cfg: CompactionConfig, smallestSnapshot: u64,
                          base: BaseLevels | null, cutRuns: bool, rd: RangeDels | null = null): MergeOutput {
  let m = new Merger(source, cfg, smallestSnapshot, base, cutRuns, rd);
  m.step(0xffffffffffffffff);
  let out = new MergeOutput();
  if (m.failed) { // runs == null: nothing changed
    out.status = m.status;
    out.errRun = m.errRun; out.errAt = m.errAt; out.errWhat = m.errWhat;
    return out;
  }
  out.runs = m.output();
  out.bytes = m.bytes;
  return out;
}

/** An iterator over the given runs, for merging. */
export function runsIterator(inputs: Array<Run>): MergingIterator {
  let children = new Array<InternalIterator>();
  for (let i = 0; i < inputs.length; i++) children.push(new RunIterator(unchecked(inputs[i]), true));
  return new MergingIterator(children, true);
}

/** Runs of `level` (>= 1) overlapping the user-key range [lo, hi]. */
export function overlapping(v: Version, level: i32, lo: usize, loLen: u32, hi: usize, hiLen: u32): Array<Run> {
  let res = new Array<Run>();
  let runs = unchecked(v.levels[level]);
  for (let i = 0; i < runs.length; i++) {
    let r = unchecked(runs[i]);
    // Spans (run.ts): a run whose tombstones reach into [lo, hi] overlaps it too.
    let rh = r.spanHi();
    if (compareBytes(rh, spanLen, lo, loLen) < 0) continue;
    let rl = r.spanLo();
    if (compareBytes(rl, spanLen, hi, hiLen) > 0) continue;
    res.push(r);
  }
  return res;
}

/** A new Version equal to `v` without `inputs` and with `outputs` added to `outputLevel`. */
export function replaceRuns(v: Version, inputs: Array<Run>, outputs: Array<Run>, outputLevel: i32): Version {
  let nv = new Version();
  for (let l = 0; l < MAX_LEVELS; l++) {
    let src = unchecked(v.levels[l]);
    let dst = unchecked(nv.levels[l]);
    for (let i = 0; i < src.length; i++) {
      let r = unchecked(src[i]);
      if (inputs.includes(r)) continue;
      r.ref();
      dst.push(r);
    }
  }
  for (let i = 0; i < outputs.length; i++) {
    let r = unchecked(outputs[i]);
    r.ref();
    if (outputLevel == 0) unchecked(nv.levels[0]).unshift(r);
    else nv.insertSorted(outputLevel, r);
  }
  return nv;
}
