// Leveled compaction: what to compact (pickLevel, compactLevel, as LevelDB's PickCompaction
// in version_set apart from db_impl) and when (the pacing of writes: afterWrite pays each
// write's share of the flush in progress and of the compaction in progress), plus the
// one-call merges (compactAll, compactAsNeeded).
//
// Compaction in slices. At most one compaction is in progress. A flush starts it (picked as
// compactLevel picks; a trivial move is done at once); every write then advances it by a
// slice paced to the bytes that write added, as RocksDB paces compaction by its debt; the
// write that completes it installs the result on the current version and starts the next.
// Why reads stay exact meanwhile, rule by rule: docs/LSM.md, "Compaction in slices".
// A store with a background worker (remote-compaction.ts) delegates instead: the picked
// compaction is registered as `remote`, the worker merges it, and its output is installed
// by bg_install at a call of the host's. The same invariant holds for it, and at most one
// compaction, here or remote, is in progress.
// INVARIANT: while one is in progress, no other change removes runs or touches levels >= 1:
// flushes and ingests only put newer runs in front of level 0, and compactAll (the only
// other merge) finishes it first. So its inputs are all still in the current version when
// it ends, and the deeper levels its tombstone rule read at the start are still the same.
import { Run, RunIterator, readaheadBytes, spanLen } from "./run";
import { Version, MAX_LEVELS } from "./version";
import { LevelIterator } from "./level-iterator";
import { InternalIterator } from "./internal-iterator";
import { MergingIterator, TreeMergingIterator } from "./merge-iterator";
import { VersionBase } from "./base-levels";
import { Merger, mergeInto, runsIterator, overlapping, replaceRuns, inputRangeDels } from "./compaction";
import { compareBytes } from "./bytes";
import { canAllocate, budgetFree, copyBound } from "./memory-budget";
import { fileBacking } from "./block-cache";
import { config, counters, mem, imm, version, install, smallestSnapshot, ready, bgStatus, latch, refusal } from "./state";
import { sealMemtable, flushSliceDue, stepFlush, flushMemtable, FLUSH_WHOLE } from "./flush";
import { PACE_MARGIN, L0_STOP_RUNS, MERGE_SCRATCH_BYTES, TREE_MERGE_ABOVE, minSlice, maxSlice, stopSlice } from "./tuning";
import * as S from "./status";

/** Set while the host replays its log at open (pause_compaction): no compaction starts, so
 *  none can latch a background error and refuse the rest of the replay. Those writes were
 *  acknowledged before the crash; they must all be applied, whatever a run file holds. The
 *  compaction due starts at the flush that ends recovery, and the first writes run it. */
let compactionPaused = false;
export function pauseCompaction(on: bool): void { compactionPaused = on; }

/** The compaction in progress. */
class Compaction {
  constructor(
    public merger: Merger,
    /** Runs it replaces: level-0 runs and/or runs of two adjacent levels. */
    public inputs: Array<Run>,
    public outputLevel: i32,
    /** The version it started from, with a reference held: it keeps the inputs (and the
     *  data the merger points into) alive after newer versions drop them. */
    public base: Version,
    public inputBytes: u64,
    /** How many of the inputs are level-0 runs. */
    public level0Inputs: i32,
    /** Bytes to read per byte written (debt rate). */
    public pace: f64,
  ) {}
}

/** The compaction in progress, or null (read by admission.ts: its room). */
export let pending: Compaction | null = null;

/** A compaction handed to the host's background worker (remote-compaction.ts): picked here,
 *  merged there. Its inputs stay pinned by `base` until it is installed or dropped. */
export class RemoteCompaction {
  /** The host has taken its job image (bg_job). */
  handedOut: bool = false;
  constructor(
    public id: u32,
    public inputs: Array<Run>,
    public outputLevel: i32,
    public base: Version,
    public inputBytes: u64,
    public level0Inputs: i32,
    /** S of the dropping rule, fixed at the pick as for a compaction here. */
    public smallestSnapshot: u64,
  ) {}
}

/** The compaction the background worker has, or null. */
export let remote: RemoteCompaction | null = null;
/** The host has a background worker: compactions are delegated (bg_delegate). */
let delegating = false;
let remoteIds: u32 = 0;
export function setDelegating(on: bool): void { delegating = on; }

/** Ends the remote compaction (installed or dropped): unpins its inputs. The host learns it
 *  was dropped when bg_install names an id that is no longer the remote one. */
export function endRemote(): void {
  let r = remote;
  if (r == null) return;
  remote = null;
  r.base.unref();
}

/** Level 0 holds `runs` × level0Trigger runs while the compaction in progress
 *  (`level0Inputs` of its inputs) is behind: `runs` - 1 triggers' worth flushed since it
 *  started (so it is not merely merging a restore's deep level 0). */
export function level0Stalled(level0Inputs: i32, runs: i32 = L0_STOP_RUNS): bool {
  let l0 = unchecked(version.levels[0]).length;
  let trigger = config.level0Trigger;
  return l0 >= trigger * runs && l0 - level0Inputs >= trigger * (runs - 1);
}
/** Bytes of merging owed by writes and not yet read. */
let debt: u64 = 0;
/** Per level >= 1: a copy of the largest key of the run last compacted (round robin). */
const compactPointer = new StaticArray<usize>(MAX_LEVELS);
const compactPointerLen = new StaticArray<u32>(MAX_LEVELS);

export function compactionPending(): bool { return pending != null; }
export function compactionInputBytes(): u64 { return pending == null ? 0 : pending!.inputBytes; }
export function compactionBytesRead(): u64 { return pending == null ? 0 : pending!.merger.bytesRead; }

/** Bytes a merge needs besides its output: a readahead chunk per file-backed source
 *  (run.ts) and the builder's and key copies' buffers. */
export function mergeScratch(sources: i32): u64 {
  let s: u64 = MERGE_SCRATCH_BYTES;
  if (fileBacking) s += <u64>(sources + 1) * readaheadBytes();
  return s;
}

// ---- pacing ------------------------------------------------------------------------------

/** After a write of `added` bytes: seals a full memtable, and pays the write's share of the
 *  sealed memtable's flush and of the compaction in progress, each a slice. */
export function afterWrite(added: u64): void {
  let owed: u64 = pending != null ? <u64>(<f64>added * pending!.pace) : 0;
  debt += owed;
  if (mem.bytes >= <u64>config.memtableBytes) {
    // The previous flush is still behind only after writes larger than half a memtable
    // (FLUSH_PACE): finish it, as a write of that size pays for that much anyway.
    if (imm != null) flushAndCompact(FLUSH_WHOLE);
    if (imm == null) sealMemtable(); // out of memory: mem keeps taking writes while it can
  }
  if (imm != null) payFlush(added);
  if (pending != null && !compactionPaused) payDebt(owed);
}

/** Pays the write's share of the sealed memtable's flush, in slices of at least minSlice(). */
function payFlush(added: u64): void {
  let budget = flushSliceDue(added);
  if (budget != 0) flushAndCompact(budget);
}

/** A flush slice from a write: when it completes the flush, a compaction starts if one is
 *  due (an explicit flush, an ingest and compactAll decide that themselves). */
function flushAndCompact(budget: u64): void {
  if (stepFlush(budget) == S.OK && imm == null && config.autoCompaction && pending == null && remote == null) startCompaction();
}

/**
 * Bytes compaction reads per byte written in a steady fill, times PACE_MARGIN. Leveled
 * compaction moves each byte level 0 → 1 (reading it and, with random keys, all of level 1:
 * about 1 + levelBase / (level0Trigger × memtable) per byte), then down each deeper level to
 * the deepest non-empty one (reading it and the ~levelMultiplier times as much it overlaps
 * below).
 */
function paceFactor(): f64 {
  let v = version;
  let deepest = 1;
  for (let l = 2; l < MAX_LEVELS; l++) if (unchecked(v.levels[l]).length > 0) deepest = l;
  let l0Batch = <f64>config.level0Trigger * <f64>config.memtableBytes;
  let need = 1.0 + <f64>config.levelBaseBytes / l0Batch;
  need += <f64>(deepest - 1) * <f64>(config.levelMultiplier + 1);
  return need * PACE_MARGIN;
}

/** Pays debt to the compaction in progress, one slice: the debt, but at least minSlice(), at
 *  most maxSlice() or twice the write's own share `owed`, and at least stopSlice() under
 *  back-pressure (L0_STOP_RUNS: level 0 full while this compaction is behind, not merely
 *  merging a restore's deep level 0). */
function payDebt(owed: u64): void {
  let c = pending!;
  let cap = owed << 1;
  let mb = config.memtableBytes;
  if (cap < maxSlice(mb)) cap = maxSlice(mb);
  let budget = debt;
  if (budget > cap) budget = cap;
  if (budget < minSlice(mb)) budget = minSlice(mb);
  if (level0Stalled(c.level0Inputs) && budget < stopSlice(mb)) {
    budget = stopSlice(mb);
    counters.stalls++;
  }
  let st = stepCompaction(budget);
  // Failed (out of memory, or a block read): the merge was abandoned; the next flush tries again.
  if (st == S.OK && pending == null) startCompaction();
}

// ---- picking -----------------------------------------------------------------------------

function levelTarget(level: i32): u64 {
  let t = config.levelBaseBytes;
  for (let l = 1; l < level; l++) t *= <u64>config.levelMultiplier;
  return t;
}

/** How far `level` is over its target: level 0 counts runs against level0Trigger, a
 *  deeper level its bytes against levelTarget. Above 1 (level 0: at 1) it is due. */
export function levelScore(v: Version, level: i32): f64 {
  if (level == 0) return <f64>unchecked(v.levels[0]).length / <f64>config.level0Trigger;
  return <f64>v.levelBytes(level) / <f64>levelTarget(level);
}

/** The level most over its target, or -1 when none is. The last level has nowhere to go. */
export function pickLevel(): i32 {
  let best = -1;
  let bestScore: f64 = 1.0;
  let v = version;
  let l0 = levelScore(v, 0);
  if (l0 >= bestScore) { best = 0; bestScore = l0; }
  for (let l = 1; l < MAX_LEVELS - 1; l++) {
    let score = levelScore(v, l);
    if (score > bestScore) { best = l; bestScore = score; }
  }
  return best;
}

/** If none is in progress, starts a compaction of the level most over its target; trivial
 *  moves are installed at once and the next level looked at. With a background worker it
 *  is delegated, unless `here` (a caller that will finish it in this call). */
export function startCompaction(here: bool = false): i32 {
  if (bgStatus != S.OK) return bgStatus; // stopped until reopen
  if (compactionPaused || remote != null) return S.OK;
  for (let guard = 0; guard < 1000 && pending == null && remote == null; guard++) {
    let best = pickLevel();
    if (best < 0) return S.OK;
    let st = compactLevel(best, here || !delegating);
    if (st != S.OK) return st;
  }
  return S.OK;
}

/** Advances the compaction in progress by about `budget` bytes read; when the merge ends,
 *  installs it (or, out of memory, drops it). REQUIRES: one in progress. */
function stepCompaction(budget: u64): i32 {
  let c = pending!;
  let before = c.merger.bytesRead;
  let ended = c.merger.step(budget);
  let read = c.merger.bytesRead - before;
  debt = debt > read ? debt - read : 0;
  if (!ended) return S.OK;
  pending = null;
  debt = 0;
  let m = c.merger;
  let st = m.status; // failed (memory, or a block read): its partial output is freed, the inputs stay
  if (m.failed) latch(st, m.errRun, m.errAt, m.errWhat);
  else {
    // On the current version: level-0 runs flushed meanwhile stay in front of level 0
    // (replaceRuns keeps the order of what it does not remove).
    install(replaceRuns(version, c.inputs, m.output(), c.outputLevel));
    counters.compactions++;
    counters.bytesCompacted += m.bytes;
    st = S.OK;
  }
  c.base.unref();
  return st;
}

/** Runs the compaction in progress to its end. REQUIRES: one in progress. */
export function finishCompaction(): i32 {
  return stepCompaction(0xffffffffffffffff);
}

/** A compaction's inputs, as LevelDB's PickCompaction chooses them: `upper` from the picked
 *  level (level 0 whole, or one run of a deeper level), `lower` the runs of the level below
 *  that their key range overlaps. */
export class Picked {
  constructor(public upper: Array<Run>, public lower: Array<Run>) {}
}

/** What `level` gives to the level below: level 0 whole, or the run of a deeper level after
 *  the one compacted last time (round robin through the key space: this advances the
 *  pointer); with the runs of level + 1 it overlaps. REQUIRES: `level` holds runs. */
export function pickInputs(v: Version, level: i32): Picked {
  let upper = new Array<Run>();
  if (level == 0) {
    // Spans count range tombstones (run.ts spanLo/spanHi): a run of level 1 whose keys a
    // tombstone covers is an input, so the tombstone meets what it hides.
    let l0 = unchecked(v.levels[0]);
    let lo: usize = 0, loLen: u32 = 0, hi: usize = 0, hiLen: u32 = 0;
    for (let i = 0; i < l0.length; i++) {
      let r = unchecked(l0[i]);
      upper.push(r);
      let a = r.spanLo(), al = spanLen;
      if (i == 0 || compareBytes(a, al, lo, loLen) < 0) { lo = a; loLen = al; }
      let b = r.spanHi(), bl = spanLen;
      if (i == 0 || compareBytes(b, bl, hi, hiLen) > 0) { hi = b; hiLen = bl; }
    }
    return new Picked(upper, overlapping(v, 1, lo, loLen, hi, hiLen));
  }
  // Round robin: the first run after the one compacted last time.
  let runs = unchecked(v.levels[level]);
  let pick = unchecked(runs[0]);
  let prev = unchecked(compactPointer[level]);
  let prevLen = unchecked(compactPointerLen[level]);
  if (prev != 0) {
    for (let i = 0; i < runs.length; i++) {
      let r = unchecked(runs[i]);
      if (compareBytes(r.smallest, r.smallestLen, prev, prevLen) > 0) { pick = r; break; }
    }
  }
  let copy = copyBound(pick.largest, pick.largestLen);
  if (copy != 0) {
    budgetFree(prev, prevLen == 0 ? 1 : prevLen);
    unchecked(compactPointer[level] = copy);
    unchecked(compactPointerLen[level] = pick.largestLen);
  }
  upper.push(pick);
  let lo = pick.spanLo(), loLen = spanLen;
  let hi = pick.spanHi(), hiLen = spanLen;
  return new Picked(upper, overlapping(v, level + 1, lo, loLen, hi, hiLen));
}

/** Starts merging what pickInputs picks from `level` into the level below (a trivial move
 *  is installed at once), here or (`here` false) by the background worker.
 *  REQUIRES: no compaction in progress. */
function compactLevel(level: i32, here: bool): i32 {
  let v = version;
  if (unchecked(v.levels[level]).length == 0) return S.OK;
  let p = pickInputs(v, level);
  let outputLevel = level + 1;
  let over = p.lower;
  if (level > 0 && over.length == 0) {
    // Trivial move: nothing below overlaps, so the run moves down unchanged.
    let nv = replaceRuns(v, p.upper, p.upper, outputLevel);
    install(nv);
    counters.compactions++;
    return S.OK;
  }
  let inputs = new Array<Run>();
  for (let i = 0; i < p.upper.length; i++) inputs.push(unchecked(p.upper[i]));
  for (let i = 0; i < over.length; i++) inputs.push(unchecked(over[i]));
  // Merge operands are folded by the store's operators, JavaScript the worker does not have.
  if (!here && !holdsMerges(inputs)) return beginRemote(inputs, outputLevel, v);
  return beginMerge(inputs, inputsSource(inputs, outputLevel, level == 0 ? p.upper.length : 0), outputLevel, v);
}

function holdsMerges(runs: Array<Run>): bool {
  for (let i = 0; i < runs.length; i++) if (unchecked(runs[i]).hasMerges) return true;
  return false;
}

/** The source of a merge of `inputs` (a version's runs, level 0 newest first, then the level
 *  below in key order): level 0's runs and that level as one source, in a tree when level 0
 *  is deep (a restore's ingested runs), else every run as a source. */
export function inputsSource(inputs: Array<Run>, outputLevel: i32, level0Inputs: i32): InternalIterator {
  if (outputLevel != 1 || level0Inputs <= TREE_MERGE_ABOVE) return runsIterator(inputs);
  let children = new Array<InternalIterator>();
  let lower = new Array<Run>();
  for (let i = 0; i < inputs.length; i++) {
    if (i < level0Inputs) children.push(new RunIterator(unchecked(inputs[i]), true));
    else lower.push(unchecked(inputs[i]));
  }
  if (lower.length > 0) children.push(new LevelIterator(lower, true));
  return mergeSource(children);
}

/** One forward iterator over `children`: a tournament tree when there are many. */
function mergeSource(children: Array<InternalIterator>): InternalIterator {
  if (children.length > TREE_MERGE_ABOVE) return new TreeMergingIterator(children);
  return new MergingIterator(children, true);
}

/** The inputs' bytes when a merge's output, about as large and held in memory until
 *  written, can be allocated; otherwise -1, with `source` closed (nothing will read it). */
function outputRoom(inputs: Array<Run>, source: InternalIterator): i64 {
  let bytes: u64 = 0;
  for (let i = 0; i < inputs.length; i++) bytes += unchecked(inputs[i]).bytes;
  if (canAllocate(bytes + mergeScratch(inputs.length))) return <i64>bytes;
  source.close();
  return -1;
}

/** Registers the merge of `inputs` into `outputLevel` as the remote compaction, for the
 *  background worker. Refused, as beginMerge, when the inputs' size could not be allocated
 *  again in a store without files, where the output comes back into this memory (with
 *  files, only its index and bloom do). */
function beginRemote(inputs: Array<Run>, outputLevel: i32, v: Version): i32 {
  let bytes: u64 = 0;
  for (let i = 0; i < inputs.length; i++) bytes += unchecked(inputs[i]).bytes;
  if (!fileBacking && !canAllocate(bytes)) return S.OUT_OF_MEMORY;
  v.refs++;
  let l0Inputs = outputLevel == 1 ? unchecked(v.levels[0]).length : 0;
  remote = new RemoteCompaction(++remoteIds, inputs, outputLevel, v, bytes, l0Inputs, smallestSnapshot());
  return S.OK;
}

/** Starts merging `inputs` (read through `source`) into new runs of `outputLevel`: the
 *  compaction in progress. Refused when the inputs' size could not be allocated again. */
function beginMerge(inputs: Array<Run>, source: InternalIterator, outputLevel: i32, v: Version): i32 {
  let room = outputRoom(inputs, source);
  if (room < 0) return S.OUT_OF_MEMORY;
  let inputBytes = <u64>room;
  v.refs++;
  // S is fixed now: a snapshot taken later has a sequence >= every input entry, so it reads
  // each key's newest input version, which the dropping rule never drops (except a
  // tombstone with nothing beneath it, which reads as absent either way).
  let m = new Merger(source, config.compaction, smallestSnapshot(), new VersionBase(v, outputLevel), true, inputRangeDels(inputs));
  let l0Inputs = outputLevel == 1 ? unchecked(v.levels[0]).length : 0;
  pending = new Compaction(m, inputs, outputLevel, v, inputBytes, l0Inputs, paceFactor());
  return S.OK;
}

// ---- merges in one call ------------------------------------------------------------------

/** Runs compactions, the one in progress first, until no level is over its target: one
 *  long step, for callers that want the shape settled (a restore's bulk merge). */
export function compactAsNeeded(): i32 {
  endRemote(); // done here instead: the caller wants the shape now
  for (let guard = 0; guard < 1000; guard++) {
    if (pending == null) {
      let st = startCompaction(true);
      if (st != S.OK) return st;
      if (pending == null) return S.OK;
    }
    let st = finishCompaction();
    if (st != S.OK) return st;
  }
  return S.OK;
}

/** Merges `inputs` (read through `source`) into new runs of `outputLevel` in one call,
 *  without checking room first: refused memory, the merge frees what it wrote. */
function mergeUnchecked(inputs: Array<Run>, source: InternalIterator, outputLevel: i32, v: Version): i32 {
  let out = mergeInto(source, config.compaction, smallestSnapshot(), new VersionBase(v, outputLevel), true, inputRangeDels(inputs));
  let runs = out.runs;
  if (runs == null) { latch(out.status, out.errRun, out.errAt, out.errWhat); return out.status; }
  install(replaceRuns(v, inputs, runs, outputLevel));
  counters.compactions++;
  counters.bytesCompacted += out.bytes;
  return S.OK;
}

/** Finishes the compaction in progress, flushes, then merges every run into the deepest
 *  non-empty level (at least 1). The merge reads every level, so it needs the shape that
 *  the compaction in progress would otherwise change under it. */
export function compactAll(): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  endRemote(); // everything is merged here; the worker's output, when it comes, is discarded
  if (pending != null) {
    let st = finishCompaction();
    if (st != S.OK) return st;
  }
  // The flush only (flush() with autoCompaction off): the merge below does all the rest.
  let st = flushMemtable();
  if (st != S.OK) return st;
  let v = version;
  let inputs = new Array<Run>();
  let children = new Array<InternalIterator>();
  let deepest = 1;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) {
      inputs.push(unchecked(runs[i]));
      if (l == 0) children.push(new RunIterator(unchecked(runs[i]), true));
    }
    if (l > 0 && runs.length > 0) children.push(new LevelIterator(runs, true));
    if (runs.length > 0 && l > deepest) deepest = l;
  }
  if (inputs.length == 0) return S.OK;
  // Without room for an output as large as everything (a store near its memory cap), the
  // merge is tried anyway: after deletes its output, what survives, may well fit, and a
  // merge refused memory frees what it wrote and changes nothing. Failing that, the levels
  // move down in pieces.
  st = mergeUnchecked(inputs, mergeSource(children), deepest, v);
  if (st != S.OUT_OF_MEMORY) return st;
  return compactDown(deepest);
}

/** compactAll without room to rewrite everything at once (a store near its memory cap):
 *  every level above `deepest` moves down by ordinary compactions, one at a time, each
 *  needing room for its own inputs only (writes leave it for level 0's); tombstones are
 *  dropped at the bottom as in the single merge, so deletes free their space.
 *  REQUIRES: no compaction in progress. */
function compactDown(deepest: i32): i32 {
  for (let l = 0; l < deepest; l++) {
    for (let guard = 0; guard < 1000000 && unchecked(version.levels[l]).length > 0; guard++) {
      let st = compactLevel(l, true);
      if (st != S.OK) return st;
      if (pending != null) {
        st = finishCompaction();
        if (st != S.OK) return st;
      }
    }
  }
  return S.OK;
}
