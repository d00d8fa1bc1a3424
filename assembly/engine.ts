// The engine: one LSM tree per Wasm instance (a store instantiates its own module, so a
// partitioned store gets one linear memory, and one 4 GiB ceiling, per partition). This file
// holds the entry points: init, single writes, lookups, the iterator handles, flush and
// recovery; what they share lives in state.ts, and the rest in its own module:
//   admission.ts    the memory cap's admission of writes
//   flush.ts        flush of the sealed memtable in slices
//   leveled.ts      compaction policy (what to compact) and pacing (when), compactAll
//   tuning.ts       the tuning constants, each with why it has its value
//
// Write path: validate → assign sequence numbers → insert into the memtable → when the
// memtable is full, seal it (it becomes the immutable memtable, a fresh one takes writes)
// → advance the sealed memtable's flush into a level-0 run, and the compaction in progress,
// by slices paced to the bytes written (docs/LSM.md, "Flush in slices" and "Compaction in
// slices").
// Restores of large chunks skip the memtable: the chunk becomes a level-0 run directly
// (ingestBatch; docs/LSM.md, "Bulk ingest").
// Read path: memtable, sealed memtable, then level-0 runs newest first, then one run per
// deeper level; the first version visible at the reader's sequence wins (a tombstone means
// absent).
// Everything is synchronous: JS is single-threaded, so no lock is needed and no reader can
// observe half of a batch.
import { Memtable, MemtableIterator, worstCaseInsertBytes, entryTag, entryVal, entryValLen } from "./memtable";
import { Run, RunIterator, runGet, found, noteRunId } from "./run";
import { MAX_LEVELS } from "./version";
import { LevelIterator } from "./level-iterator";
import { InternalIterator } from "./internal-iterator";
import { MergingIterator } from "./merge-iterator";
import { DbIterator } from "./db-iterator";
import { hash32 } from "./bytes";
import { seekTag, tagSeq, tagKind, KIND_PUT, KIND_DELETE, MAX_SEQ } from "./internal-key";
import { canAllocate, setMemoryCap, memoryAllocated, copyBound, memoryCap, writeLeaves } from "./memory-budget";
import { readStatus, clearReadError } from "./block-cache";
import { Config, config, counters, ready, setReady, mem, imm, setMem, version, lastSeq, setLastSeq, setFlushedSeq, install, applyOne, bgStatus, refusal, applyAt } from "./state";
import { flushMemtable } from "./flush";
import { afterWrite, startCompaction, compactAsNeeded } from "./leveled";
import { admit, replaying, maintenanceRoom } from "./admission";
import { ENTRY_OVERHEAD, INGEST_MIN_RECORDS, INGEST_MIN_FILL_SHIFT, BULK_L0_RUNS, BULK_L0_BYTES, BULK_L0_CAP_SHIFT, RESTORE_CHUNK_CAP_SHIFT, RESTORE_CHUNK_MIN, RESTORE_CHUNK_MAX } from "./tuning";
import * as S from "./status";
import { replaceRuns } from "./compaction";
import { ingestRun, ingestScratchBytes, RESTORE_HEADER, KIND_PAD, PAD_HEADER } from "./ingest";

// What index.ts reads through this module, from where it lives.
export {
  Config, Counters, config, counters, mem, imm, version, lastSeq, versionStamp, flushedSeq,
  acquireSnapshot, releaseSnapshot, snapshotCount, smallestSnapshot, bgStatus, bgRun, bgAt, bgWhat, refusal,
} from "./state";
export { flushBytesRead } from "./flush";
export { pauseCompaction, compactionPending, compactionInputBytes, compactionBytesRead, compactAsNeeded, compactAll } from "./leveled";
export { setReplaying, maintenanceRoom } from "./admission";

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
  if (!admit(worstCaseInsertBytes(klen, vlen), kind == KIND_PUT)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  applyOne(key, klen, kind, val, vlen);
  afterWrite(<u64>klen + <u64>vlen + ENTRY_OVERHEAD);
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
  let n = mem.find(key, klen, seekTag(snapSeq));
  if (n == 0 && imm != null) n = imm!.find(key, klen, seekTag(snapSeq));
  if (n != 0) {
    let tag = entryTag(n);
    if (tagKind(tag) == KIND_DELETE) return S.NOT_FOUND;
    foundVal = entryVal(n); foundValLen = entryValLen(n); foundSeq = tagSeq(tag);
    return S.OK;
  }
  let h = hash32(key, klen);
  let v = version;
  let l0 = unchecked(v.levels[0]);
  // A failed block read (file-backed runs) is the lookup's answer: never a wrong NOT_FOUND.
  for (let i = 0; i < l0.length; i++) {
    if (runGet(unchecked(l0[i]), key, klen, h, snapSeq)) return fromFound();
    if (readStatus != S.OK) return readStatus;
  }
  for (let l = 1; l < MAX_LEVELS; l++) {
    let idx = v.findRun(l, key, klen);
    if (idx < 0) continue;
    if (runGet(unchecked(unchecked(v.levels[l])[idx]), key, klen, h, snapSeq)) return fromFound();
    if (readStatus != S.OK) return readStatus;
  }
  return S.NOT_FOUND;
}

function fromFound(): i32 {
  if (tagKind(found.tag) == KIND_DELETE) return S.NOT_FOUND;
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
  let children = new Array<InternalIterator>();
  children.push(new MemtableIterator(mem));
  let sealed = imm;
  if (sealed != null) { children.push(new MemtableIterator(sealed)); sealed.refs++; }
  let v = version;
  let l0 = unchecked(v.levels[0]);
  for (let i = 0; i < l0.length; i++) children.push(new RunIterator(unchecked(l0[i])));
  for (let l = 1; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    if (runs.length > 0) children.push(new LevelIterator(runs));
  }
  mem.refs++;
  v.refs++;
  let it = new DbIterator(new MergingIterator(children, !reverse), mem, sealed, v, snapSeq, !reverse,
                          lo, lowerLen, hasLower, hi, upperLen, hasUpper);
  let h: i32;
  if (freeHandles.length > 0) { h = freeHandles.pop(); unchecked(iterators[h] = it); }
  else { h = iterators.length; iterators.push(it); }
  return h;
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

// ========================================================================================
// Batch images (docs/ABI.md): a write batch (writeBatch, prepared by prepareBatch) and a
// restore chunk of changelog records (restoreBatch), each validated whole before anything
// is applied, then applied with consecutive (or their own) sequence numbers. A large
// restore chunk skips the memtable and becomes a level-0 run (ingestBatch; docs/LSM.md,
// "Bulk ingest").
// INVARIANT: an image refused (bad bytes, a bound, memory) applies nothing.
/**
 * A batch image (docs/ABI.md): count × { kind u8 | keyLen u32 | valLen u32 | key | value }.
 * Validated whole before anything is applied, then applied with consecutive sequences.
 */
export function writeBatch(p: usize, len: u32, count: u32): i32 {
  let st = prepareBatch(p, len, count);
  if (st != S.OK) return st;
  let q = p;
  let added: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    let kind = load<u8>(q);
    let klen = load<u32>(q + 1);
    let vlen = load<u32>(q + 5);
    let kp = q + 9;
    applyOne(kp, klen, kind, kp + klen, vlen);
    added += <u64>klen + <u64>vlen + ENTRY_OVERHEAD;
    q = kp + <usize>klen + <usize>vlen;
  }
  afterWrite(added);
  return S.OK;
}

/**
 * Validates a batch image and reserves the memtable bytes it needs, applying nothing.
 * After OK, writeBatch of the same image cannot fail: a store with a write-ahead log
 * prepares, appends the batch to the log, then applies it, so the log never holds a write
 * the engine refused.
 */
export function prepareBatch(p: usize, len: u32, count: u32): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  let end = p + <usize>len;
  let q = p;
  let need: u64 = 0;
  let puts = false;
  for (let i: u32 = 0; i < count; i++) {
    if (q + 9 > end) return S.INVALID_ARGUMENT;
    let kind = load<u8>(q);
    let klen = load<u32>(q + 1);
    let vlen = load<u32>(q + 5);
    if (kind != KIND_PUT && kind != KIND_DELETE) return S.INVALID_ARGUMENT;
    if (klen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
    if (vlen > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
    if (<u64>(end - q - 9) < <u64>klen + <u64>vlen) return S.INVALID_ARGUMENT;
    q += 9 + <usize>klen + <usize>vlen;
    need += worstCaseInsertBytes(klen, vlen);
    if (kind == KIND_PUT) puts = true;
  }
  if (lastSeq + <u64>count > MAX_SEQ) return S.INVALID_ARGUMENT;
  if (!admit(need, puts)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  return S.OK;
}

/** Records applied by the last restoreBatch (the others were already in the store). */
export let restoredCount: u32 = 0;

/**
 * Applies changelog records with the sequence numbers they carry, so restored keys keep
 * their versions. Image (docs/ABI.md): count × { kind u8 | seq f64 | keyLen u32 |
 * valLen u32 | key | value }. A record whose seq <= lastSeq is taken as already applied
 * and skipped, which makes replaying an overlapping tail idempotent; the rest must have
 * strictly increasing integer sequences. Padding records (kind 2) carry nothing. Validated
 * whole before anything is applied; a large chunk is ingested as a run (ingestBatch).
 */
export function restoreBatch(p: usize, len: u32, count: u32): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  restoredCount = 0;
  let end = p + <usize>len;
  let q = p;
  let need: u64 = 0;
  let n: u32 = 0;
  let userBytes: u64 = 0;
  let prev = lastSeq;
  for (let i: u32 = 0; i < count; i++) {
    if (q + PAD_HEADER <= end && load<u8>(q) == KIND_PAD) {
      let skip = load<u32>(q + 1);
      if (<u64>(end - q - PAD_HEADER) < <u64>skip) return S.INVALID_ARGUMENT;
      q += PAD_HEADER + <usize>skip;
      continue;
    }
    if (q + RESTORE_HEADER > end) return S.INVALID_ARGUMENT;
    let kind = load<u8>(q);
    let seqF = load<f64>(q + 1);
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    if (kind != KIND_PUT && kind != KIND_DELETE) return S.INVALID_ARGUMENT;
    if (!(seqF >= 1) || seqF > <f64>MAX_SEQ || seqF != Math.floor(seqF)) return S.INVALID_ARGUMENT;
    if (klen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
    if (vlen > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
    if (<u64>(end - q - RESTORE_HEADER) < <u64>klen + <u64>vlen) return S.INVALID_ARGUMENT;
    let seq = <u64>seqF;
    if (seq > lastSeq) {
      if (seq <= prev) return S.INVALID_ARGUMENT; // out of order after the applied prefix
      prev = seq;
      need += worstCaseInsertBytes(klen, vlen);
      n++;
      userBytes += <u64>klen + <u64>vlen;
    }
    q += RESTORE_HEADER + <usize>klen + <usize>vlen;
  }
  if (n == 0) return S.OK;
  if (n >= INGEST_MIN_RECORDS && need >= <u64>(config.memtableBytes >> INGEST_MIN_FILL_SHIFT)) return ingestBatch(p, count, n, prev, userBytes);
  if (!admit(need, true)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  q = p;
  for (let i: u32 = 0; i < count; i++) {
    let kind = load<u8>(q);
    if (kind == KIND_PAD) { q += PAD_HEADER + <usize>load<u32>(q + 1); continue; }
    let seq = <u64>load<f64>(q + 1);
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    let kp = q + RESTORE_HEADER;
    if (seq > lastSeq) { applyAt(seq, kp, klen, kind, kp + klen, vlen); restoredCount++; }
    q = kp + <usize>klen + <usize>vlen;
  }
  afterWrite(userBytes + <u64>n * ENTRY_OVERHEAD);
  return S.OK;
}

/**
 * The bulk-ingest path of restoreBatch (docs/LSM.md, "Bulk ingest"): the n records to apply
 * become one level-0 run, newest of all, holding the newest record of each key. REQUIRES:
 * the image is validated; `last` is the sequence of its last record. The memtable is
 * flushed first, since it must never hold entries newer than a level-0 run: afterwards
 * every write is in a run (flushedSeq = lastSeq). Out of memory leaves the data unchanged
 * (a flush may have happened, which no read can tell).
 */
function ingestBatch(p: usize, count: u32, n: u32, last: u64, userBytes: u64): i32 {
  let cfg = config.compaction;
  // Worst case: block bytes (entry header ≤ 18, offset 4), the bloom, hashes and the sort.
  let est = userBytes + <u64>n * 26 + ((<u64>n * <u64>cfg.bitsPerKey) >> 3) + ingestScratchBytes(n) + (64 << 10);
  // The run joins level 0, so the compaction of level 0 will rewrite it too (admit()).
  let leave = replaying ? writeLeaves(0, false) : writeLeaves(maintenanceRoom() + est, true);
  if (!canAllocate(est + leave)) return S.OUT_OF_MEMORY;
  if (mem.entries > 0 || imm != null) {
    let st = flushMemtable();
    if (st != S.OK) return st;
  }
  let run = ingestRun(p, count, n, lastSeq, cfg.blockBytes, cfg.bitsPerKey);
  if (run == null) return S.OUT_OF_MEMORY;
  let outputs = new Array<Run>();
  outputs.push(run);
  install(replaceRuns(version, new Array<Run>(), outputs, 0));
  // Counted as the memtable path counts them: every record applied.
  countRestored(p, count, lastSeq);
  setLastSeq(last);
  setFlushedSeq(last);
  restoredCount = n;
  counters.bytesFlushed += run.bytes;
  if (config.autoCompaction && bulkLevel0Full()) compactAsNeeded();
  return S.OK;
}

/** Counts the records of a restore image above `after` as puts and deletes. */
function countRestored(p: usize, count: u32, after: u64): void {
  let q = p;
  for (let i: u32 = 0; i < count; i++) {
    let kind = load<u8>(q);
    if (kind == KIND_PAD) { q += PAD_HEADER + <usize>load<u32>(q + 1); continue; }
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    if (<u64>load<f64>(q + 1) > after) {
      if (kind == KIND_PUT) counters.puts++; else counters.deletes++;
      counters.userBytes += <u64>klen + <u64>vlen;
    }
    q += RESTORE_HEADER + <usize>klen + <usize>vlen;
  }
}

/** Whether ingested runs have filled level 0 as far as a restore lets them. Below that
 *  their compaction is left to the next flush (or compaction), so a restore merges the runs
 *  it ingests about once instead of at every level0Trigger runs (docs/LSM.md). */
function bulkLevel0Full(): bool {
  let v = version;
  if (unchecked(v.levels[0]).length >= BULK_L0_RUNS) return true;
  let limit = memoryCap() >> BULK_L0_CAP_SHIFT;
  if (limit > BULK_L0_BYTES) limit = BULK_L0_BYTES;
  return v.levelBytes(0) >= limit;
}

/** restore_chunk_bytes: a 32nd of the memory cap, between 256 KiB and 16 MiB. */
export function restoreChunkBytes(): u32 {
  let c = memoryCap() >> RESTORE_CHUNK_CAP_SHIFT;
  if (c < RESTORE_CHUNK_MIN) c = RESTORE_CHUNK_MIN;
  if (c > RESTORE_CHUNK_MAX) c = RESTORE_CHUNK_MAX;
  return <u32>c;
}
