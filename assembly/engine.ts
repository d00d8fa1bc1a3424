// The engine: one LSM tree per Wasm instance (a store instantiates its own module, so a
// partitioned store gets one linear memory, and one 4 GiB ceiling, per partition).
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
import { Run, runGet, found, noteRunId } from "./run";
import { Version, MAX_LEVELS } from "./version";
import { LevelIterator } from "./level-iterator";
import { InternalIterator } from "./internal-iterator";
import { MergingIterator } from "./merge-iterator";
import { RunIterator } from "./run";
import { DbIterator } from "./db-iterator";
import { CompactionConfig, Merger, mergeInto, runsIterator, overlapping, replaceRuns } from "./compaction";
import { hash32, compareBytes } from "./bytes";
import { makeTag, seekTag, tagSeq, tagKind, KIND_PUT, KIND_DELETE, MAX_SEQ } from "./internal-key";
import { canAllocate, budgetAlloc, budgetFree, setMemoryCap, memoryAllocated, memoryCap, setKeepReadReserve, writeLeaves } from "./memory-budget";
import { readaheadBytes } from "./run";
import { ingestRun, ingestScratchBytes, RESTORE_HEADER, KIND_PAD, PAD_HEADER } from "./ingest";
import { TreeMergingIterator } from "./merge-iterator";
import { readStatus, clearReadError, readFailed, markBackground, fileBacking, trimCacheTo } from "./block-cache";
import * as S from "./status";

export class Config {
  memtableBytes: u32 = 4 << 20;
  level0Trigger: i32 = 4;
  levelBaseBytes: u64 = 16 << 20;
  levelMultiplier: u32 = 10;
  autoCompaction: bool = true;
  compaction: CompactionConfig = new CompactionConfig();
}

export class Counters {
  puts: u64 = 0;
  deletes: u64 = 0;
  gets: u64 = 0;
  flushes: u64 = 0;
  compactions: u64 = 0;
  userBytes: u64 = 0;
  bytesFlushed: u64 = 0;
  bytesCompacted: u64 = 0;
  /** Writes that did a back-pressure slice (level 0 full while a compaction is behind). */
  stalls: u64 = 0;
}

export const config = new Config();
export const counters = new Counters();
export let mem: Memtable = new Memtable(4 << 20);
/** The sealed memtable being flushed, or null: no write reaches it, every read consults it
 *  after `mem`, and its run replaces it (in front of level 0) when the flush ends. */
export let imm: Memtable | null = null;
export let version: Version = new Version();
export let lastSeq: u64 = 0;
/** Live snapshots: sequence → how many handles hold it. */
const snapshots = new Map<u64, i32>();
const iterators = new Array<DbIterator | null>();
const freeHandles = new Array<i32>();
/** Per level >= 1: a copy of the largest key of the run last compacted (round robin). */
const compactPointer = new StaticArray<usize>(MAX_LEVELS);
const compactPointerLen = new StaticArray<u32>(MAX_LEVELS);
let ready = false;

/** What a lookup found: the value and the sequence of its write. */
export let foundVal: usize = 0;
export let foundValLen: u32 = 0;
export let foundSeq: u64 = 0;

export function init(cfg: Config, memCap: u64): i32 {
  setMemoryCap(memCap);
  let m = new Memtable(cfg.memtableBytes);
  if (!m.init()) return S.OUT_OF_MEMORY;
  mem = m;
  ready = true;
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

export function smallestSnapshot(): u64 {
  let s = lastSeq;
  let keys = snapshots.keys();
  for (let i = 0; i < keys.length; i++) if (unchecked(keys[i]) < s) s = unchecked(keys[i]);
  return s;
}

// ---- writes ----------------------------------------------------------------------------

/** Applies one write with the next sequence number. REQUIRES: validated, memory reserved. */
function applyOne(key: usize, klen: u32, kind: u8, val: usize, vlen: u32): void {
  applyAt(lastSeq + 1, key, klen, kind, val, vlen);
}

/** Applies one write with sequence `seq`. REQUIRES: seq > lastSeq, validated, memory reserved. */
function applyAt(seq: u64, key: usize, klen: u32, kind: u8, val: usize, vlen: u32): void {
  mem.add(key, klen, makeTag(seq, kind), val, vlen); // cannot fail: the caller reserved its bytes
  lastSeq = seq;
  if (kind == KIND_PUT) counters.puts++; else counters.deletes++;
  counters.userBytes += <u64>klen + <u64>vlen;
}

export function write(key: usize, klen: u32, kind: u8, val: usize, vlen: u32): i32 {
  let st = validateKV(klen, vlen);
  if (st != S.OK) return st;
  if (!admit(worstCaseInsertBytes(klen, vlen), kind == KIND_PUT)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  applyOne(key, klen, kind, val, vlen);
  afterWrite(<u64>klen + <u64>vlen + ENTRY_OVERHEAD);
  return S.OK;
}

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
  if (n >= INGEST_MIN_RECORDS && need >= <u64>(config.memtableBytes >> 2)) return ingestBatch(p, count, n, prev, userBytes);
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

/** A restore chunk is ingested as a run (bulk ingest) when it applies at least this many
 *  records and would fill at least a quarter of the memtable; smaller ones go through it. */
const INGEST_MIN_RECORDS: u32 = 64;
/** While restoring, level 0 may hold up to this many ingested runs before it is compacted. */
const BULK_L0_RUNS: i32 = 64;
/** ... and up to this many bytes (or an eighth of the memory cap, if smaller). */
const BULK_L0_BYTES: u64 = 256 << 20;

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
  lastSeq = last;
  flushedSeq = last;
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
  let limit = memoryCap() >> 3;
  if (limit > BULK_L0_BYTES) limit = BULK_L0_BYTES;
  return v.levelBytes(0) >= limit;
}

/** restore_chunk_bytes: a 32nd of the memory cap, between 256 KiB and 16 MiB. */
export function restoreChunkBytes(): u32 {
  let c = memoryCap() >> 5;
  if (c < (256 << 10)) c = 256 << 10;
  if (c > (16 << 20)) c = 16 << 20;
  return <u32>c;
}

/** What a write owes compaction per entry beyond its key and value bytes: the same 16 bytes
 *  Merger counts per entry read, so that debt and slices are in one unit. */
const ENTRY_OVERHEAD: u64 = 16;

/** After a write of `added` bytes: seals a full memtable, and pays the write's share of the
 *  sealed memtable's flush and of the compaction in progress, each a slice. */
function afterWrite(added: u64): void {
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

// ---- memory cap: admission of writes ---------------------------------------------------
// A write is admitted only if the store stays one it can always flush, compact and reopen
// (docs/LSM.md, "Memory cap"), as a write stop in LevelDB and RocksDB holds writes back until
// compaction catches up; here refusing is OUT_OF_MEMORY, and the catching up happens inline
// first. Memory that only maintenance and deletes may take: memory-budget.ts, "Reserves".

/** Set while the host replays its write-ahead log at open: those writes were admitted
 *  once, so only the read reserve applies to them (the state the manifest recovers may ask
 *  more room than the one they were admitted in, and a reopen must not fail on it). */
let replaying = false;
export function setReplaying(on: bool): void { replaying = on; }

/** The run bytes maintenanceRoom() counts in the version of stamp levelsStamp (cached: every
 *  write asks): L0 + L1, or in memory every level. */
let roomRunBytes: u64 = 0;
let levelsStamp: u32 = 0xffffffff;

/** Bytes a merge needs besides its output: a readahead chunk per file-backed source
 *  (run.ts) and the builder's and key copies' buffers. */
function mergeScratch(sources: i32): u64 {
  let s: u64 = 64 << 10;
  if (fileBacking) s += <u64>(sources + 1) * readaheadBytes();
  return s;
}

/**
 * Room the maintenance that bounds level 0 will need, beyond what is allocated now: the
 * flush of both memtables (a level-0 run no larger than their arena bytes, which it then
 * frees), then the compaction of level 0 with that run, which rewrites level 0 and, with
 * random keys, all of level 1 into new runs held in memory until it ends (with a directory
 * too: the host writes them out after), plus its scratch. A compaction of deeper levels in
 * progress needs its inputs' bytes instead, when that is more.
 * In memory, where every run is resident anyway, the room kept is that of compact(): every
 * run rewritten at once. Then a store refusing puts can always delete, compact the deleted
 * data away and shrink, at the price of holding at most about half its cap (an LSM's usual
 * space amplification); one with a directory holds far more than its cap, so only keeps the
 * room for level 0's compaction, and compact() there may be refused (compactAll).
 */
export function maintenanceRoom(): u64 {
  let memBytes = mem.bytes + (imm != null ? imm!.bytes : 0);
  let v = version;
  if (levelsStamp != versionStamp) {
    roomRunBytes = v.levelBytes(0) + v.levelBytes(1);
    if (!fileBacking) for (let l = 2; l < MAX_LEVELS; l++) roomRunBytes += v.levelBytes(l);
    levelsStamp = versionStamp;
  }
  let l0 = roomRunBytes + memBytes + mergeScratch(unchecked(v.levels[0]).length + 2);
  let c: u64 = pending != null ? pending!.inputBytes + mergeScratch(pending!.inputs.length) : 0;
  return l0 > c ? l0 : c;
}

/** Reserves `need` memtable bytes for a write (`puts`: it holds a put), leaving the reserves:
 *  the maintenance room grown by the write (its entries join the flush and the level-0
 *  compaction), and for puts the shrink reserve. Short of room it first catches up. */
function admit(need: u64, puts: bool): bool {
  if (replaying) return mem.reserve(need, writeLeaves(0, false));
  if (mem.reserve(need, writeLeaves(maintenanceRoom() + need, puts))) return true;
  catchUp();
  if (bgStatus != S.OK) return false; // the catching up met damage: refused before any change
  if (mem.reserve(need, writeLeaves(maintenanceRoom() + need, puts))) return true;
  // Memory pressure: a memtable holds its entries in more bytes than their run will (node
  // headers, arena slack), so it is flushed before its size says, as RocksDB's write buffer
  // manager does. Once per refusal at most: an empty memtable has nothing to give.
  if (mem.entries == 0 || flushMemtable() != S.OK) return false;
  catchUp();
  if (bgStatus != S.OK) return false;
  return mem.reserve(need, writeLeaves(maintenanceRoom() + need, puts));
}

/** A write stop's wait, done inline: finishes the sealed memtable's flush and the compaction
 *  in progress, or runs the one a level over its target needs (the room for both is what
 *  writes leave), and evicts the block cache's unpinned blocks (copies of file blocks). */
function catchUp(): void {
  trimCacheTo(0);
  if (imm != null) finishFlush();
  if (pending == null && config.autoCompaction) startCompaction();
  if (pending != null) finishCompaction();
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

// ---- snapshots and iterators -----------------------------------------------------------

export function acquireSnapshot(): u64 {
  let s = lastSeq;
  snapshots.set(s, snapshots.has(s) ? snapshots.get(s) + 1 : 1);
  return s;
}

export function releaseSnapshot(seq: u64): void {
  if (!snapshots.has(seq)) return;
  let n = snapshots.get(seq) - 1;
  if (n <= 0) snapshots.delete(seq); else snapshots.set(seq, n);
}

export function snapshotCount(): i32 {
  let n = 0;
  let vals = snapshots.values();
  for (let i = 0; i < vals.length; i++) n += unchecked(vals[i]);
  return n;
}

function copyBound(p: usize, len: u32): usize {
  let c = budgetAlloc(len == 0 ? 1 : len);
  if (c != 0) memory.copy(c, p, len);
  return c;
}

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

// ---- flush and compaction --------------------------------------------------------------

/** Changes whenever a new Version is installed: the host compares it after a call to learn
 *  that runs were added or removed (and must be written to or deleted from disk). */
export let versionStamp: u32 = 0;
/** Every write with a sequence <= flushedSeq is in a run (none is only in the memtable). */
export let flushedSeq: u64 = 0;

function install(nv: Version): void {
  versionStamp++;
  let old = version;
  version = nv;
  old.unref();
}

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

/** Turns both memtables into level-0 runs in one call, without compacting; afterwards
 *  every write is in a run (flushedSeq = lastSeq). */
function flushMemtable(): i32 {
  let st = finishFlush();
  if (st != S.OK) return st;
  if (mem.entries == 0) { flushedSeq = lastSeq; return S.OK; }
  st = sealMemtable();
  if (st != S.OK) return st;
  return finishFlush();
}

// ---- flush in slices ------------------------------------------------------------------
// A full memtable is sealed (imm) and a fresh one takes the writes; the sealed one is merged
// into a level-0 run by a Merger that each write advances by a slice, so no write pays for
// a whole flush (4 MiB: 6–14 ms). Reads stay exact: lookups and new iterators consult mem,
// then imm, then the runs, and the run replaces imm in one install when it is complete.
// INVARIANTS: at most one memtable is sealed; everything in imm is older than everything in
// mem and newer than every run (so flushedSeq = immSeq once its run is in), which is why a
// seal, an ingest and an explicit flush first finish the flush in progress.

/** Bytes of the sealed memtable merged per byte written: the flush ends after half a
 *  memtable of writes, well before the next seal needs it done. */
const FLUSH_PACE: u64 = 2;
/** lastSeq when imm was sealed: its entries are exactly the writes in (flushedSeq, immSeq]. */
let immSeq: u64 = 0;
/** The merge of imm into a level-0 run; null when none is sealed, or its last try failed. */
let immFlush: Merger | null = null;
/** Bytes of flushing owed by writes and not yet read. */
let flushDebt: u64 = 0;
/** A slice of the flush was refused memory: slices wait, and the write that fills the
 *  memtable (or an explicit flush) runs the whole flush in one call instead. */
let flushDeferred = false;

/** Bytes of the sealed memtable its flush has read so far (0 when none is sealed). */
export function flushBytesRead(): u64 { return immFlush != null ? immFlush!.bytesRead : 0; }

/** Seals the memtable and starts its flush. REQUIRES: none sealed, mem not empty. */
function sealMemtable(): i32 {
  let fresh = new Memtable(config.memtableBytes);
  if (!fresh.init()) { fresh.refs = 1; fresh.unref(); return S.OUT_OF_MEMORY; }
  imm = mem;
  immSeq = lastSeq;
  mem = fresh;
  flushDebt = 0;
  return S.OK;
}

/** Pays the write's share of the sealed memtable's flush, in slices of at least minSlice(). */
function payFlush(added: u64): void {
  if (flushDeferred) return;
  flushDebt += added * FLUSH_PACE;
  if (flushDebt >= minSlice()) flushAndCompact(flushDebt);
}

/** A flush slice from a write: when it completes the flush, a compaction starts if one is
 *  due (an explicit flush, an ingest and compactAll decide that themselves). */
function flushAndCompact(budget: u64): void {
  if (stepFlush(budget) == S.OK && imm == null && config.autoCompaction && pending == null) startCompaction();
}

/** Merges about `budget` bytes of the sealed memtable (FLUSH_WHOLE: all of it); when its
 *  merge is complete, installs the run in front of level 0. Out of memory keeps imm (reads
 *  still see it); a refused slice defers the flush to one whole call (flushDeferred). REQUIRES:
 *  one sealed. */
function stepFlush(budget: u64): i32 {
  let sealed = imm!;
  if (immFlush == null) {
    // S is fixed now: a snapshot taken later is at >= immSeq, above every entry of imm.
    immFlush = new Merger(new MemtableIterator(sealed), config.compaction, smallestSnapshot(), null, 0, false);
  }
  let m = immFlush!;
  let before = m.bytesRead;
  // A slice's partial run stays allocated after this call: it must leave reads their
  // reserve. A whole flush frees what it took or installs it before returning, so may not.
  let sliced = budget != FLUSH_WHOLE;
  setKeepReadReserve(sliced);
  let ended = m.step(budget);
  setKeepReadReserve(false);
  let read = m.bytesRead - before;
  flushDebt = flushDebt > read ? flushDebt - read : 0;
  if (!ended) return S.OK;
  immFlush = null;
  if (m.failed) {
    if (sliced && m.status == S.OUT_OF_MEMORY) flushDeferred = true;
    return m.status;
  }
  flushDebt = 0;
  flushDeferred = false;
  install(replaceRuns(version, new Array<Run>(), m.output(), 0));
  flushedSeq = immSeq;
  counters.flushes++;
  counters.bytesFlushed += m.bytes;
  imm = null;
  sealed.unref();
  return S.OK;
}

/** The budget of a flush run whole, in one call. */
const FLUSH_WHOLE: u64 = 0xffffffffffffffff;

/** Finishes the flush of the sealed memtable, if there is one. */
function finishFlush(): i32 {
  if (imm == null) return S.OK;
  return stepFlush(FLUSH_WHOLE);
}

function levelTarget(level: i32): u64 {
  let t = config.levelBaseBytes;
  for (let l = 1; l < level; l++) t *= <u64>config.levelMultiplier;
  return t;
}

/** The level most over its target (level 0: runs / level0Trigger), or -1 when none is. */
function pickLevel(): i32 {
  let best = -1;
  let bestScore: f64 = 1.0;
  let v = version;
  let l0 = <f64>unchecked(v.levels[0]).length / <f64>config.level0Trigger;
  if (l0 >= bestScore) { best = 0; bestScore = l0; }
  for (let l = 1; l < MAX_LEVELS - 1; l++) {
    let score = <f64>v.levelBytes(l) / <f64>levelTarget(l);
    if (score > bestScore) { best = l; bestScore = score; }
  }
  return best;
}

/** Runs compactions, the one in progress first, until no level is over its target: one
 *  long step, for callers that want the shape settled (a restore's bulk merge). */
export function compactAsNeeded(): i32 {
  for (let guard = 0; guard < 1000; guard++) {
    if (pending == null) {
      let st = startCompaction();
      if (st != S.OK) return st;
      if (pending == null) return S.OK;
    }
    let st = finishCompaction();
    if (st != S.OK) return st;
  }
  return S.OK;
}

// ---- the background error ---------------------------------------------------------------
// As RocksDB's background-error state (docs/API.md, "Background errors"): the first
// CORRUPTION or IO_ERROR a compaction meets, whether one in slices driven by writes or
// compactAll, is latched. The compaction itself has failed cleanly (its output freed, its
// inputs still in the version), and the write whose slice met it was already applied, so
// that write succeeds; from then on the engine refuses writes, flushes and compactions with
// the latched error before changing anything, and starts no compaction (which would meet the
// same damage again), until the store is reopened. Reads go on: a read of a damaged block
// fails on its own, every other one answers. Running out of memory is not latched: it
// passes, and the next flush tries again.

/** Set while the host replays its log at open (pause_compaction): no compaction starts, so
 *  none can latch a background error and refuse the rest of the replay. Those writes were
 *  acknowledged before the crash; they must all be applied, whatever a run file holds. The
 *  compaction due starts at the flush that ends recovery, and the first writes run it. */
let compactionPaused = false;
export function pauseCompaction(on: bool): void { compactionPaused = on; }

/** OK, or the latched background error, and where the block read failed. */
export let bgStatus: i32 = S.OK;
export let bgRun: u32 = 0;
export let bgAt: u64 = 0;
export let bgWhat: i32 = 0;

/** Latches a compaction's failure `st` when it is damage or I/O (the first one stays). */
function latch(st: i32, run: u32, at: u64, what: i32): void {
  if (bgStatus != S.OK || (st != S.CORRUPTION && st != S.IO_ERROR)) return;
  bgStatus = st; bgRun = run; bgAt = at; bgWhat = what;
}

/** The latched error, as a refused call's status: published as the last read failure
 *  (marked background), so the host's message names its file and offset. REQUIRES: latched. */
export function refusal(): i32 {
  readFailed(bgStatus, bgRun, bgAt, bgWhat);
  markBackground();
  return bgStatus;
}

// ---- compaction in slices --------------------------------------------------------------
// At most one compaction is in progress. A flush starts it (picked as compactLevel picks;
// a trivial move is done at once); every write then advances it by a slice paced to the
// bytes that write added, as RocksDB paces compaction by its debt; the write that
// completes it installs the result on the current version and starts the next. Why reads
// stay exact meanwhile, rule by rule: docs/LSM.md, "Compaction in slices".
// INVARIANT: while one is in progress, no other change removes runs or touches levels >= 1:
// flushes and ingests only put newer runs in front of level 0, and compactAll (the only
// other merge) finishes it first. So its inputs are all still in the current version when
// it ends, and the deeper levels its tombstone rule read at the start are still the same.

/** Pacing margin over the estimated steady-state need (paceFactor), so that compaction keeps
 *  ahead of a steady fill and level 0 stays near its trigger. */
const PACE_MARGIN: f64 = 1.5;
// Slice sizes scale with the memtable, whose flush is the write path's other regular pause
// (with the default 4 MiB: 4 KiB, 1 MiB, 2 MiB).
/** Least bytes a write's slice reads, so that writes of a few bytes still move it on. */
@inline function minSlice(): u64 { return <u64>config.memtableBytes >> 10; }
/** Most bytes a slice reads, unless the write's own share is larger (a large batch pays
 *  twice its share, so large writes cannot outrun compaction): older debt beyond it waits. */
@inline function maxSlice(): u64 { return <u64>config.memtableBytes >> 2; }
/** Back-pressure, as LevelDB's stop trigger (12 runs at a trigger of 4): level 0 holds
 *  level0Trigger × L0_STOP_RUNS runs, at least level0Trigger × (L0_STOP_RUNS - 1) of them
 *  flushed while this compaction ran (so it is behind, not merely merging a restore's deep
 *  level 0). Then every write reads at least stopSlice() bytes until it is done, about as
 *  long as a flush, instead of letting level 0, which every read probes run by run,
 *  grow without bound. */
const L0_STOP_RUNS: i32 = 3;
@inline function stopSlice(): u64 { return <u64>config.memtableBytes >> 1; }

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

let pending: Compaction | null = null;
/** Bytes of merging owed by writes and not yet read. */
let debt: u64 = 0;

export function compactionPending(): bool { return pending != null; }
export function compactionInputBytes(): u64 { return pending == null ? 0 : pending!.inputBytes; }
export function compactionBytesRead(): u64 { return pending == null ? 0 : pending!.merger.bytesRead; }

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
 *  back-pressure. */
function payDebt(owed: u64): void {
  let c = pending!;
  let cap = owed << 1;
  if (cap < maxSlice()) cap = maxSlice();
  let budget = debt;
  if (budget > cap) budget = cap;
  if (budget < minSlice()) budget = minSlice();
  let l0 = unchecked(version.levels[0]).length;
  let trigger = config.level0Trigger;
  if (l0 >= trigger * L0_STOP_RUNS && l0 - c.level0Inputs >= trigger * (L0_STOP_RUNS - 1) && budget < stopSlice()) {
    budget = stopSlice();
    counters.stalls++;
  }
  let st = stepCompaction(budget);
  // Failed (out of memory, or a block read): the merge was abandoned; the next flush tries again.
  if (st == S.OK && pending == null) startCompaction();
}

/** If none is in progress, starts a compaction of the level most over its target; trivial
 *  moves are installed at once and the next level looked at. */
function startCompaction(): i32 {
  if (bgStatus != S.OK) return bgStatus; // stopped until reopen
  if (compactionPaused) return S.OK;
  for (let guard = 0; guard < 1000 && pending == null; guard++) {
    let best = pickLevel();
    if (best < 0) return S.OK;
    let st = compactLevel(best);
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
function finishCompaction(): i32 {
  return stepCompaction(0xffffffffffffffff);
}

/** Picks what `level` gives to the level below, as LevelDB does, and starts merging it (a
 *  trivial move is installed at once). REQUIRES: no compaction in progress. */
function compactLevel(level: i32): i32 {
  let v = version;
  let inputs = new Array<Run>();
  let outputLevel = level + 1;
  if (level == 0) {
    let l0 = unchecked(v.levels[0]);
    if (l0.length == 0) return S.OK;
    let lo = unchecked(l0[0]), hi = unchecked(l0[0]);
    for (let i = 0; i < l0.length; i++) {
      let r = unchecked(l0[i]);
      inputs.push(r);
      if (compareBytes(r.smallest, r.smallestLen, lo.smallest, lo.smallestLen) < 0) lo = r;
      if (compareBytes(r.largest, r.largestLen, hi.largest, hi.largestLen) > 0) hi = r;
    }
    let over = overlapping(v, 1, lo.smallest, lo.smallestLen, hi.largest, hi.largestLen);
    for (let i = 0; i < over.length; i++) inputs.push(unchecked(over[i]));
    if (l0.length > 4) {
      // A deep level 0 (a restore's ingested runs): level 1 as one source, and a tree.
      let children = new Array<InternalIterator>();
      for (let i = 0; i < l0.length; i++) children.push(new RunIterator(unchecked(l0[i]), true));
      if (over.length > 0) children.push(new LevelIterator(over, true));
      return beginMerge(inputs, mergeSource(children), outputLevel, v);
    }
  } else {
    let runs = unchecked(v.levels[level]);
    if (runs.length == 0) return S.OK;
    // Round robin: the first run after the one compacted last time.
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
    let over = overlapping(v, outputLevel, pick.smallest, pick.smallestLen, pick.largest, pick.largestLen);
    if (over.length == 0) {
      // Trivial move: nothing below overlaps, so the run moves down unchanged.
      let moved = new Array<Run>();
      moved.push(pick);
      let nv = replaceRuns(v, moved, moved, outputLevel);
      install(nv);
      counters.compactions++;
      return S.OK;
    }
    inputs.push(pick);
    for (let i = 0; i < over.length; i++) inputs.push(unchecked(over[i]));
  }
  return beginMerge(inputs, runsIterator(inputs), outputLevel, v);
}

/** One forward iterator over `children`: a tournament tree when there are many. */
function mergeSource(children: Array<InternalIterator>): InternalIterator {
  if (children.length > 4) return new TreeMergingIterator(children);
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
  let m = new Merger(source, config.compaction, smallestSnapshot(), v, outputLevel, true);
  let l0Inputs = outputLevel == 1 ? unchecked(v.levels[0]).length : 0;
  pending = new Compaction(m, inputs, outputLevel, v, inputBytes, l0Inputs, paceFactor());
  return S.OK;
}

/** Merges `inputs` (read through `source`) into new runs of `outputLevel`, in one call. */
function mergeRuns(inputs: Array<Run>, source: InternalIterator, outputLevel: i32, v: Version): i32 {
  if (outputRoom(inputs, source) < 0) return S.OUT_OF_MEMORY;
  return mergeUnchecked(inputs, source, outputLevel, v);
}

/** mergeRuns without its room check: refused memory, the merge frees what it wrote. */
function mergeUnchecked(inputs: Array<Run>, source: InternalIterator, outputLevel: i32, v: Version): i32 {
  let out = mergeInto(source, config.compaction, smallestSnapshot(), v, outputLevel, true);
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
  if (pending != null) {
    let st = finishCompaction();
    if (st != S.OK) return st;
  }
  let saved = config.autoCompaction;
  config.autoCompaction = false;
  let st = flush();
  config.autoCompaction = saved;
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
      let st = compactLevel(l);
      if (st != S.OK) return st;
      if (pending != null) {
        st = finishCompaction();
        if (st != S.OK) return st;
      }
    }
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
  lastSeq = seq;
  flushedSeq = seq;
}
