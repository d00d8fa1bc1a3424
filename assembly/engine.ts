// The engine: one LSM tree per Wasm instance (a store instantiates its own module, so a
// partitioned store gets one linear memory, and one 4 GiB ceiling, per partition). This file
// holds the entry points: init, single writes, lookups, the iterator handles, flush and
// recovery; what they share lives in state.ts, and the rest in its own module:
//   batch-image.ts  write batches and restore chunks (validation, apply, bulk ingest)
//   admission.ts    the memory cap's admission of writes
//   flush.ts        flush of the sealed memtable in slices
//   leveled.ts      compaction policy (what to compact) and pacing (when), compactAll
//   tuning.ts       the tuning constants, each with why it has its value
// Module order, each importing only those before it: tuning, state, flush, leveled,
// admission, batch-image, engine (the ABI, index.ts and its abi-*.ts, imports this file only).
//
// Write path: validate → assign sequence numbers → insert into the memtable → when the
// memtable is full, seal it (it becomes the immutable memtable, a fresh one takes writes)
// → advance the sealed memtable's flush into a level-0 run, and the compaction in progress,
// by slices paced to the bytes written (docs/LSM.md, "Flush in slices" and "Compaction in
// slices").
// Restores of large chunks skip the memtable: the chunk becomes a level-0 run directly
// (batch-image.ts ingestBatch; docs/LSM.md, "Bulk ingest").
// Read path: memtable, sealed memtable, then level-0 runs newest first, then one run per
// deeper level; the first version visible at the reader's sequence wins (a tombstone means
// absent).
// Everything is synchronous: JS is single-threaded, so no lock is needed and no reader can
// observe half of a batch.
import { Memtable, MemtableIterator, worstCaseInsertBytes, entryTag, entryVal, entryValLen } from "./memtable";
import { Run, RunIterator, runGet, found, noteRunId } from "./run";
import { MAX_LEVELS, Version } from "./version";
import { LevelIterator } from "./level-iterator";
import { InternalIterator } from "./internal-iterator";
import { MergingIterator } from "./merge-iterator";
import { DbIterator } from "./db-iterator";
import { hash32, compareBytes, equalBytes } from "./bytes";
import { seekTag, tagSeq, tagKind, KIND_PUT, KIND_DELETE, KIND_RANGE_DELETE, KIND_MERGE, MAX_SEQ } from "./internal-key";
import { MergeChain } from "./merge-chain";
import { canAllocate, setMemoryCap, memoryAllocated, copyBound, budgetAlloc, budgetFree, grownCapacity } from "./memory-budget";
import { readStatus, clearReadError, readFailed } from "./block-cache";
import {
  Config, config, counters, ready, setReady, mem, imm, setMem, version, lastSeq, setLastSeq, setFlushedSeq, install, applyOne,
  bgStatus, refusal,
} from "./state";
import { flushMemtable } from "./flush";
import { afterWrite, startCompaction } from "./leveled";
import { admit, leavesReserves } from "./admission";
import { ENTRY_OVERHEAD } from "./tuning";
import { RangeDels, liveRangeDels } from "./range-del";
import * as S from "./status";

// What the ABI (abi-*.ts) reads through this module, from where it lives.
export {
  Config, Counters, config, counters, mem, imm, version, lastSeq, versionStamp, flushedSeq,
  acquireSnapshot, releaseSnapshot, snapshotCount, smallestSnapshot, bgStatus, bgRun, bgAt, bgWhat, refusal,
} from "./state";
export { flushBytesRead } from "./flush";
export { pauseCompaction, compactionPending, compactionInputBytes, compactionBytesRead, compactAsNeeded, compactAll } from "./leveled";
export { setReplaying, maintenanceRoom, leavesReserves } from "./admission";
export {
  writeBatch, prepareBatch, applyPrepared, currentPreparedToken, dropPrepared, restoreBatch, restoredCount, restoreChunkBytes,
} from "./batch-image";

const iterators = new Array<DbIterator | null>();
const freeHandles = new Array<i32>();

/** What a lookup found: the value and the sequence of its write. */
export let foundVal: usize = 0;
export let foundValLen: u32 = 0;
export let foundSeq: u64 = 0;

export function init(cfg: Config, memCap: u64): i32 {
  setMemoryCap(memCap);
  let m = new Memtable(cfg.memtableBytes);
  if (!m.init()) return S.OUT_OF_MEMORY;
  setMem(m);
  setReady();
  return S.OK;
}

function validateKV(klen: u32, vlen: u32): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  if (klen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
  if (vlen > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
  if (lastSeq >= MAX_SEQ) return S.INVALID_ARGUMENT;
  return S.OK;
}

// ---- writes ----------------------------------------------------------------------------

export function write(key: usize, klen: u32, kind: u8, val: usize, vlen: u32): i32 {
  let st = validateKV(klen, vlen);
  if (st != S.OK) return st;
  if (!admit(worstCaseInsertBytes(klen, vlen), kind != KIND_DELETE)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  applyOne(key, klen, kind, val, vlen);
  afterWrite(<u64>klen + <u64>vlen + ENTRY_OVERHEAD);
  return S.OK;
}

/** A range deletion [from, to) as one write (the batch image's KIND_RANGE_DELETE alone). */
export function writeRange(from: usize, fl: u32, to: usize, tl: u32): i32 {
  if (tl > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
  let st = validateKV(fl, 0);
  if (st != S.OK) return st;
  if (compareBytes(from, fl, to, tl) >= 0) return S.INVALID_ARGUMENT;
  if (!admit(worstCaseInsertBytes(fl, tl), false)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  applyOne(from, fl, KIND_RANGE_DELETE, to, tl);
  afterWrite(<u64>fl + <u64>tl + ENTRY_OVERHEAD);
  return S.OK;
}

// ---- reads -----------------------------------------------------------------------------

/** Finds the newest version of key visible at snapSeq; sets found* and returns OK,
 *  or NOT_FOUND when absent or deleted. */
export function lookup(key: usize, klen: u32, snapSeq: u64): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (klen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
  counters.gets++;
  clearReadError();
  // The newest range tombstone visible at snapSeq covering key: the version found must be
  // newer (docs/LSM.md, "Range deletions"). 0, and nothing scanned, in a store without any.
  cover = anyRangeDels() ? coveringSeq(key, klen, snapSeq) : 0;
  let n = mem.find(key, klen, seekTag(snapSeq));
  if (n == 0 && imm != null) n = imm!.find(key, klen, seekTag(snapSeq));
  if (n != 0) {
    let tag = entryTag(n);
    if (tagKind(tag) == KIND_DELETE || tagSeq(tag) < cover) return S.NOT_FOUND;
    if (tagKind(tag) == KIND_MERGE) return lookupChain(key, klen, snapSeq);
    foundVal = entryVal(n); foundValLen = entryValLen(n); foundSeq = tagSeq(tag);
    return S.OK;
  }
  let h = hash32(key, klen);
  let v = version;
  let l0 = unchecked(v.levels[0]);
  // A failed block read (file-backed runs) is the lookup's answer: never a wrong NOT_FOUND.
  for (let i = 0; i < l0.length; i++) {
    if (runGet(unchecked(l0[i]), key, klen, h, snapSeq)) return fromFound(key, klen, snapSeq);
    if (readStatus != S.OK) return readStatus;
  }
  for (let l = 1; l < MAX_LEVELS; l++) {
    let idx = v.findRun(l, key, klen);
    if (idx < 0) continue;
    if (runGet(unchecked(unchecked(v.levels[l])[idx]), key, klen, h, snapSeq)) return fromFound(key, klen, snapSeq);
    if (readStatus != S.OK) return readStatus;
  }
  return S.NOT_FOUND;
}

/** lookup's covering range tombstone sequence (0: none). */
let cover: u64 = 0;

/** Whether any range tombstone may exist (in a memtable or a run alive): one load. (Small:
 *  the optimizer inlines it; biome cannot parse @inline on a function in this file.) */
function anyRangeDels(): bool { return liveRangeDels > 0; }

/** The newest tombstone sequence <= snapSeq covering key, over every source a read
 *  consults (both memtables, every run of the current version). */
function coveringSeq(key: usize, klen: u32, snapSeq: u64): u64 {
  let best = mem.rangeDels.covering(key, klen, snapSeq);
  let sealed = imm;
  if (sealed != null) { let c = sealed.rangeDels.covering(key, klen, snapSeq); if (c > best) best = c; }
  let v = version;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) {
      let rd = unchecked(runs[i]).rangeDels;
      if (rd == null) continue;
      let c = rd.covering(key, klen, snapSeq);
      if (c > best) best = c;
    }
  }
  return best;
}

/** Every range tombstone visible at snapSeq in mem, sealed and v (pointers: an iterator
 *  pins all three), or null when there are none. */
function visibleRangeDels(m: Memtable, sealed: Memtable | null, v: Version, snapSeq: u64): RangeDels | null {
  if (!anyRangeDels()) return null;
  let out = new RangeDels();
  out.pushAll(m.rangeDels, snapSeq);
  if (sealed != null) out.pushAll(sealed.rangeDels, snapSeq);
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) {
      let rd = unchecked(runs[i]).rangeDels;
      if (rd != null) out.pushAll(rd, snapSeq);
    }
  }
  return out.count > 0 ? out : null;
}

function fromFound(key: usize, klen: u32, snapSeq: u64): i32 {
  if (tagKind(found.tag) == KIND_DELETE || tagSeq(found.tag) < cover) return S.NOT_FOUND;
  if (tagKind(found.tag) == KIND_MERGE) return lookupChain(key, klen, snapSeq);
  foundVal = found.valPtr; foundValLen = found.valLen; foundSeq = tagSeq(found.tag);
  return S.OK;
}

// ---- iterators ---------------------------------------------------------------------------

/** Opens an iterator; returns a handle >= 0 or a negative status. */
export function openIterator(lower: usize, lowerLen: u32, hasLower: bool,
                             upper: usize, upperLen: u32, hasUpper: bool,
                             reverse: bool, snapSeq: u64): i32 {
  if (!ready) return -S.INVALID_ARGUMENT;
  if ((hasLower && lowerLen > S.MAX_KEY_BYTES) || (hasUpper && upperLen > S.MAX_KEY_BYTES)) return -S.KEY_TOO_LARGE;
  if (!canAllocate(<u64>lowerLen + <u64>upperLen + 4096)) return -S.OUT_OF_MEMORY;
  let lo: usize = hasLower ? copyBound(lower, lowerLen) : 0;
  let hi: usize = hasUpper ? copyBound(upper, upperLen) : 0;
  let sealed = imm;
  let v = version;
  let merged = sourcesIterator(mem, sealed, v, !reverse);
  if (sealed != null) sealed.refs++;
  mem.refs++;
  v.refs++;
  let it = new DbIterator(merged, mem, sealed, v, snapSeq, !reverse,
                          lo, lowerLen, hasLower, hi, upperLen, hasUpper, visibleRangeDels(mem, sealed, v, snapSeq));
  let h: i32;
  if (freeHandles.length > 0) { h = freeHandles.pop(); unchecked(iterators[h] = it); }
  else { h = iterators.length; iterators.push(it); }
  return h;
}

/** Every source a read consults, merged: both memtables, the runs of v. */
function sourcesIterator(m: Memtable, sealed: Memtable | null, v: Version, forward: bool): MergingIterator {
  let children = new Array<InternalIterator>();
  children.push(new MemtableIterator(m));
  if (sealed != null) children.push(new MemtableIterator(sealed));
  let l0 = unchecked(v.levels[0]);
  for (let i = 0; i < l0.length; i++) children.push(new RunIterator(unchecked(l0[i])));
  for (let l = 1; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    if (runs.length > 0) children.push(new LevelIterator(runs));
  }
  return new MergingIterator(children, forward);
}

// ---- merge chains ------------------------------------------------------------------------

/** The chain a lookup hands to the host (its image is the lookup's value). */
const lookupChainBuf = new MergeChain();
let chainImage: usize = 0;
let chainImageCap: usize = 0;
/** The image outlives its lookup (the host folds it after the call) and grew into the room
 *  writes leave for maintenance and deletes (memory-budget.ts, "Reserves"): given back
 *  before those need it (abi-regions.ts giveBackBorrowed). */
let chainBorrowed = false;

export function giveBackChain(): void {
  if (!chainBorrowed) return;
  budgetFree(chainImage, chainImageCap);
  chainImage = 0;
  chainImageCap = 0;
  chainBorrowed = false;
}

/**
 * The key's newest visible version at snapSeq is a merge operand: gathers the operands down
 * to the value they apply to (a put), or to absent (a tombstone, a covering range tombstone,
 * the end of the key's versions), and returns MERGED with found* = the chain image and the
 * newest operand's sequence. Sources are walked newest first (memtable, sealed memtable,
 * level 0 newest first, then each level: every version in one is newer than any in the
 * next), and an iterator is opened only on a source whose probe (hash index, bloom, block
 * search) finds the key.
 */
function lookupChain(key: usize, klen: u32, snapSeq: u64): i32 {
  let c = lookupChainBuf;
  c.reset(false);
  let tag = seekTag(snapSeq);
  let st = 0; // 0: go on; 1: the chain ended; < 0: -status of a failed read
  if (mem.find(key, klen, tag) != 0) st = chainFrom(new MemtableIterator(mem), key, klen, snapSeq, c);
  let sealed = imm;
  if (st == 0 && sealed != null && sealed.find(key, klen, tag) != 0) st = chainFrom(new MemtableIterator(sealed), key, klen, snapSeq, c);
  let h = hash32(key, klen);
  let v = version;
  let l0 = unchecked(v.levels[0]);
  for (let i = 0; st == 0 && i < l0.length; i++) {
    let r = unchecked(l0[i]);
    if (runGet(r, key, klen, h, snapSeq)) st = chainFrom(new RunIterator(r), key, klen, snapSeq, c);
    else if (readStatus != S.OK) return readStatus;
  }
  for (let l = 1; st == 0 && l < MAX_LEVELS; l++) {
    let idx = v.findRun(l, key, klen);
    if (idx < 0) continue;
    let r = unchecked(unchecked(v.levels[l])[idx]);
    if (runGet(r, key, klen, h, snapSeq)) st = chainFrom(new RunIterator(r), key, klen, snapSeq, c);
    else if (readStatus != S.OK) return readStatus;
  }
  if (st < 0) return -st;
  if (c.failed) return S.OUT_OF_MEMORY;
  let size = c.imageBytes();
  if (size > chainImageCap) {
    let cap = grownCapacity(chainImageCap, <u64>size, 256);
    let p = cap == 0 ? <usize>0 : budgetAlloc(cap);
    if (p == 0) return S.OUT_OF_MEMORY;
    budgetFree(chainImage, chainImageCap);
    chainImage = p;
    chainImageCap = cap;
  }
  c.image(chainImage);
  foundVal = chainImage; foundValLen = <u32>size; foundSeq = c.newestSeq;
  if (!leavesReserves(0)) {
    c.free(); // imaged: the gathered copies are not needed past this call
    chainBorrowed = true;
  }
  return S.MERGED;
}

/** Adds the key's versions visible at snapSeq in one source to the chain, newest first,
 *  and closes the iterator: 1 when the chain ended there (a put, a tombstone, a version a
 *  range tombstone covers, or memory refused), 0 when the source ran out of them, -status
 *  when a block read failed (published for read_error). */
function chainFrom(it: InternalIterator, key: usize, klen: u32, snapSeq: u64, c: MergeChain): i32 {
  let ended = 0;
  it.seekGE(key, klen, seekTag(snapSeq));
  while (it.valid && equalBytes(it.keyPtr, it.keyLen, key, klen)) {
    let tag = it.tag;
    let kind = tagKind(tag);
    if (kind == KIND_DELETE || tagSeq(tag) < cover) { ended = 1; break; }
    if (kind == KIND_PUT) { c.setBase(it.valPtr, it.valLen); ended = 1; break; }
    if (!c.addOperand(tagSeq(tag), it.valPtr, it.valLen)) { ended = 1; break; }
    it.next();
  }
  let st = it.status;
  if (st != S.OK) readFailed(st, it.errRun, it.errAt, it.errWhat);
  it.close();
  return st != S.OK ? -st : ended;
}

export function getIterator(h: i32): DbIterator | null {
  if (h < 0 || h >= iterators.length) return null;
  return unchecked(iterators[h]);
}

export function closeIterator(h: i32): i32 {
  let it = getIterator(h);
  if (it == null) return S.BAD_HANDLE;
  it.close();
  unchecked(iterators[h] = null);
  freeHandles.push(h);
  return S.OK;
}

export function iteratorCount(): i32 { return iterators.length - freeHandles.length; }

// ---- flush -------------------------------------------------------------------------------

/** Turns the memtables into level-0 runs at once (the sealed one's flush first), then, if
 *  enabled and none is in progress, starts a compaction when a level is over its target
 *  (also with empty memtables: a restore leaves level 0 for the next flush, see
 *  ingestBatch). The writes that follow run it. A compaction in progress is left as it is:
 *  a flush only puts newer runs in front of level 0, which is not one of its inputs and is
 *  not below its output level. */
export function flush(): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  let st = flushMemtable();
  if (st != S.OK) return st;
  // The flush is done: a compaction refused memory now is tried again after the next one
  // (and writes are admitted only with room for it), so it is not this call's failure; one
  // that met damage is (it latched the background error).
  if (config.autoCompaction) {
    let cs = startCompaction();
    if (cs != S.OK && cs != S.OUT_OF_MEMORY) return cs;
  }
  return S.OK;
}

export function memoryInUse(): u64 { return memoryAllocated(); }

/** Runs of the current version whose blocks live in their files. */
export function fileBackedRuns(): i32 {
  let n = 0;
  let v = version;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) if (unchecked(runs[i]).fileBacked) n++;
  }
  return n;
}

// ---- recovery ----------------------------------------------------------------------------

/** The run with file number `id` in the current version, or null. */
export function findRunById(id: u32): Run | null {
  let v = version;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) if (unchecked(runs[i]).id == id) return unchecked(runs[i]);
  }
  return null;
}

/** Adds an imported run to `level`: level 0 at the end (the host imports level 0 newest
 *  first), deeper levels in key order. REQUIRES: recovery, before any write. */
export function addRecoveredRun(run: Run, level: i32): void {
  noteRunId(run.id);
  let nv = version.clone();
  run.ref();
  if (level == 0) unchecked(nv.levels[0]).push(run);
  else nv.insertSorted(level, run);
  install(nv);
}

/** Sets the last sequence after the runs are imported: writes up to `seq` are in them. */
export function setRecoveredSeq(seq: u64): void {
  setLastSeq(seq);
  setFlushedSeq(seq);
}
