// A run (an SSTable): an immutable sorted sequence of internal entries, cut into data
// blocks (block.ts), with a sparse index (the last internal key of every block) and a
// bloom filter over its user keys (bloom.ts). In memory every block is its own allocation
// (TLSF caps one allocation at 1 GiB, and the block cache works in per-block units);
// written to a file, the blocks are laid end to end followed by the index and the bloom.
// Runs are built by RunBuilder (run-builder.ts) and read by runGet and RunIterator here.
//
// Resident or file-backed. A run is built resident (its blocks in linear memory). Once the
// host has made its file durable it may detach the run (detachRun): the blocks are freed
// and read back through the block cache (block-cache.ts) when needed, while the index (last
// keys, in one arena) and the bloom stay resident. Runs imported from a Node directory are
// file-backed from the start (run-file.ts readRunTail). A run with open iterators
// (`readers`) is detached when the last one closes: they hold raw pointers into its blocks.
//
// INVARIANTS: entries strictly increase in internal-key order across blocks; all versions
// of one user key sit in one run (a compaction never cuts a run inside a key); a run's
// bytes never change; it is freed when its last reference (levels, iterators) is dropped.
import { compareBytes, equalBytes, keyPrefix } from "./bytes";
import { compareInternal, seekTag } from "./internal-key";
import { BlockCursor } from "./block";
import { bloomMayContain } from "./bloom";
import { InternalIterator } from "./internal-iterator";
import { budgetAlloc, budgetFree, memoryCap, copyBound, canAllocate } from "./memory-budget";
import { CacheEntry, cacheFind, cacheAdd, releaseBlock, dropRunBlocks, trimCache, trimCacheTo, startCall, hostReadBlock, readFailed,
  readStatus, readErrorRun, readErrorAt, readErrorWhat } from "./block-cache";
import { verifyBlock, lastEntryKey, lastEntryLen, lastEntryTag, CORRUPT_BLOCK, CORRUPT_INDEX, CHECKSUM_XXH64, blockChecksum } from "./block-check";
import { RangeDels, noteRangeDels } from "./range-del";
import { READAHEAD_CAP_SHIFT, READAHEAD_MIN, READAHEAD_MAX, READ_RESERVE } from "./tuning";
import * as S from "./status";

/** The length of the key spanLo or spanHi returned last. */
export let spanLen: u32 = 0;

/** Sequential reads (compactions) of a file-backed run take about this many bytes of whole
 *  blocks per read from the host: 256 KiB, less under a small memory cap (a 64th of it, at
 *  least 16 KiB), since a level-0 compaction holds one such chunk per input run (tuning.ts). */
export function readaheadBytes(): u64 {
  let r = memoryCap() >> READAHEAD_CAP_SHIFT;
  if (r > READAHEAD_MAX) r = READAHEAD_MAX;
  if (r < READAHEAD_MIN) r = READAHEAD_MIN;
  return r;
}

/** Tells the host a file-backed run is gone, so it may close the run file (which it may
 *  have unlinked already: an open descriptor keeps it readable until then). */
@external("env", "run_freed")
declare function hostRunFreed(run: u32): void;

/** The number the next new run gets: its file number when the store has a directory.
 *  Recovery raises it above every imported run's number (noteRunId). */
let nextRunId: u32 = 1;
export function noteRunId(id: u32): void { if (id >= nextRunId) nextRunId = id + 1; }
export function takeRunId(): u32 { return nextRunId++; }
/** Reserves `n` consecutive numbers (a background compaction names its output files before
 *  it knows how many it writes); returns the first. */
export function takeRunIds(n: u32): u32 { let first = nextRunId; nextRunId += n; return first; }
export function peekRunId(): u32 { return nextRunId; }

export class Run {
  id: u32 = 0;
  blockPtr: usize[] = [];
  blockLen: u32[] = [];
  /** Last entry of each block: where its key sits inside the block, and its tag. */
  lastKeyPtr: usize[] = [];
  lastKeyLen: u32[] = [];
  lastTag: u64[] = [];
  /** keyPrefix of each block's last key, for findBlock's search. */
  lastKeyPrefix: u64[] = [];
  /** Smallest and largest user keys (copies). */
  smallest: usize = 0;
  smallestLen: u32 = 0;
  largest: usize = 0;
  largestLen: u32 = 0;
  bloom: usize = 0;
  bloomSize: usize = 0;
  entries: u64 = 0;
  tombstones: u64 = 0;
  /** The run holds merge operands (footer flag FLAG_MERGE_OPERANDS, run-file.ts). */
  hasMerges: bool = false;
  /** Bytes of blocks + bloom + index estimate: what a run file would take. */
  bytes: u64 = 0;
  refs: i32 = 0;
  /** Blocks are in the run file (blockPtr all 0), read through the block cache. */
  fileBacked: bool = false;
  /** The checksum kind of the run's file (block-check.ts CHECKSUM_*): what checkRead checks
   *  a block read from it with. A run built here is written in the current kind. */
  checksum: u8 = CHECKSUM_XXH64;
  /** File-backed: each block's offset in the run file. */
  blockOff: u64[] = [];
  /** File-backed: one allocation holding every block's last key (lastKeyPtr points in). */
  indexKeys: usize = 0;
  indexKeysSize: usize = 0;
  /** The run's range tombstones (range-del.ts; owned: their own arena), or null. A run may
   *  hold tombstones and no entries (no blocks): then smallest = largest = the lowest
   *  tombstone's start. Its tombstones lie within the key interval the run was cut for, so
   *  runs of a level >= 1 stay disjoint counting them (spanLo..spanHi). */
  rangeDels: RangeDels | null = null;
  /** Open RunIterators: while any, the run stays resident (they point into its blocks). */
  readers: i32 = 0;
  /** The host asked to detach while readers were open: done when the last one closes. */
  detachPending: bool = false;

  ref(): void { this.refs++; }
  unref(): void {
    if (--this.refs > 0) return;
    let rd = this.rangeDels;
    if (rd != null) { rd.free(); this.rangeDels = null; noteRangeDels(-1); }
    if (this.fileBacked) {
      dropRunBlocks(this.id, this.blockCount());
      budgetFree(this.indexKeys, this.indexKeysSize);
      this.indexKeys = 0;
      hostRunFreed(this.id);
    } else {
      for (let i = 0; i < this.blockPtr.length; i++) budgetFree(unchecked(this.blockPtr[i]), unchecked(this.blockLen[i]));
    }
    this.blockPtr.length = 0;
    this.blockLen.length = 0;
    budgetFree(this.bloom, this.bloomSize);
    budgetFree(this.smallest, this.smallestLen == 0 ? 1 : this.smallestLen);
    budgetFree(this.largest, this.largestLen == 0 ? 1 : this.largestLen);
    this.bloom = 0;
  }

  blockCount(): i32 { return this.blockLen.length; }

  /** Index of the first block whose last internal key >= (key, tag); blockCount() if none. */
  findBlock(key: usize, klen: u32, tag: u64): i32 {
    let lo = 0, hi = this.blockPtr.length;
    let kp = keyPrefix(key, klen);
    let prefixes = this.lastKeyPrefix;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      let pm = unchecked(prefixes[mid]);
      let less = pm != kp ? pm < kp
        : compareInternal(unchecked(this.lastKeyPtr[mid]), unchecked(this.lastKeyLen[mid]), unchecked(this.lastTag[mid]), key, klen, tag) < 0;
      if (less) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  mayContain(hash: u32): bool { return bloomMayContain(this.bloom, this.bloomSize, hash); }

  /** Takes `rd` (owned) as the run's tombstones. */
  setRangeDels(rd: RangeDels): void {
    this.rangeDels = rd;
    noteRangeDels(1);
    this.bytes += rd.keyBytes() + 16 * <u64>rd.count;
  }

  /** A run without blocks (tombstones only) takes its bounds from `rd`: smallest = largest =
   *  the lowest tombstone's start. False when memory is refused. */
  boundsFromRangeDels(rd: RangeDels): bool {
    let i = rd.lowest();
    let fl = unchecked(rd.fromLen[i]);
    this.smallest = copyBound(unchecked(rd.fromPtr[i]), fl);
    this.smallestLen = fl;
    this.largest = copyBound(unchecked(rd.fromPtr[i]), fl);
    this.largestLen = fl;
    return this.smallest != 0 && this.largest != 0;
  }

  /** The lowest key the run covers, entries and tombstones: spanLo()/spanLoLen. */
  spanLo(): usize {
    let rd = this.rangeDels;
    if (rd != null) {
      let i = rd.lowest();
      if (compareBytes(unchecked(rd.fromPtr[i]), unchecked(rd.fromLen[i]), this.smallest, this.smallestLen) < 0) {
        spanLen = unchecked(rd.fromLen[i]);
        return unchecked(rd.fromPtr[i]);
      }
    }
    spanLen = this.smallestLen;
    return this.smallest;
  }
  /** The highest key the run covers (a tombstone's end, exclusive, counts as covered: a
   *  conservative bound, which only ever adds a run to a compaction's inputs). */
  spanHi(): usize {
    let rd = this.rangeDels;
    if (rd != null) {
      let i = rd.highest();
      if (compareBytes(unchecked(rd.toPtr[i]), unchecked(rd.toLen[i]), this.largest, this.largestLen) > 0) {
        spanLen = unchecked(rd.toLen[i]);
        return unchecked(rd.toPtr[i]);
      }
    }
    spanLen = this.largestLen;
    return this.largest;
  }

  /** User key within [smallest, largest]? */
  covers(key: usize, klen: u32): bool {
    return compareBytes(key, klen, this.smallest, this.smallestLen) >= 0
      && compareBytes(key, klen, this.largest, this.largestLen) <= 0;
  }
}

// ---- reading file-backed blocks ----------------------------------------------------------

/**
 * Block `b` of file-backed `run`, pinned: the caller must releaseBlock it. Null when the
 * read failed (readStatus says why: IO_ERROR, CORRUPTION or OUT_OF_MEMORY).
 */
export function acquireBlock(run: Run, b: i32): CacheEntry | null {
  let cached = cacheFind(run.id, b);
  if (cached != null) return cached;
  let len = unchecked(run.blockLen[b]);
  let off = unchecked(run.blockOff[b]);
  let p = budgetAlloc(len);
  if (p == 0) { readFailed(S.OUT_OF_MEMORY, run.id, off, 0); return null; }
  let st = hostReadBlock(run.id, <f64>off, len, p);
  if (st != S.OK) { budgetFree(p, len); readFailed(st, run.id, off, CORRUPT_BLOCK); return null; }
  let what = checkRead(run, b, p, len);
  if (what != 0) { budgetFree(p, len); readFailed(S.CORRUPTION, run.id, off, what); return null; }
  return cacheAdd(run.id, b, p, len);
}

/** 0, or why block `b` of `run` read at `p` is damaged (a block-check.ts CORRUPT_* code). */
export function checkRead(run: Run, b: i32, p: usize, len: u32): i32 {
  if (len < 8 || blockChecksum(run.checksum, p, len - 4) != load<u32>(p + len - 4)) return CORRUPT_BLOCK;
  let st = verifyBlock(p, len);
  if (st != 0) return st;
  // The index's last key of this block must be the block's last entry: a block swapped
  // for another (valid) one of the file is caught here.
  if (lastEntryTag != unchecked(run.lastTag[b])
      || compareBytes(lastEntryKey, lastEntryLen, unchecked(run.lastKeyPtr[b]), unchecked(run.lastKeyLen[b])) != 0) return CORRUPT_INDEX;
  return 0;
}

/** Runs whose last reader closed while a detach was pending: detached at a safe point,
 *  since the closing iterator's last entry may still be read during the current call. */
const detachQueue = new Array<Run>();
export function queueDetach(run: Run): void { detachQueue.push(run); }

/** A safe point (block-cache.ts, the file comment): pending detaches, then eviction. Near
 *  the cap the cache gives up every unpinned block: the read reserve writes leave is for the
 *  blocks and batches of the call about to run, not for cached copies of files. */
export function safePoint(): void {
  if (detachQueue.length > 0) {
    for (let i = 0; i < detachQueue.length; i++) detachRun(unchecked(detachQueue[i]));
    detachQueue.length = 0;
  }
  trimCache();
  if (!canAllocate(READ_RESERVE)) trimCacheTo(0);
  startCall();
}

/** Result of Run point lookups: the newest visible entry, set by `runGet`. */
export const found = new BlockCursor();

/**
 * Looks up the newest version of `key` with sequence <= snapSeq. Returns true and fills
 * `found` when the run holds one (a put or a tombstone: check the kind).
 */
export function runGet(run: Run, key: usize, klen: u32, hash: u32, snapSeq: u64): bool {
  if (!run.mayContain(hash)) return false;
  let tag = seekTag(snapSeq);
  let b = run.findBlock(key, klen, tag);
  if (b >= run.blockCount()) return false;
  if (!run.fileBacked) {
    found.reset(unchecked(run.blockPtr[b]), unchecked(run.blockLen[b]));
    return found.seek(key, klen, hash, tag);
  }
  // Unpinned at once: the block stays readable until the next safe point (block-cache.ts),
  // by when the host has copied the value out.
  let e = acquireBlock(run, b);
  if (e == null) return false; // readStatus says why
  found.reset(e.ptr, e.len);
  let hit = found.seek(key, klen, hash, tag);
  releaseBlock(e);
  return hit;
}

/**
 * Makes `run` file-backed: the host has written its file durably. Its last keys move to
 * one arena and its blocks are freed. Deferred while iterators read it (see `readers`);
 * a run whose arena cannot be allocated just stays resident. REQUIRES: a safe point
 * (block-cache.ts): nothing points into the run's blocks but open RunIterators.
 */
export function detachRun(run: Run): void {
  if (run.fileBacked || run.refs <= 0) return;
  if (run.readers > 0) { run.detachPending = true; return; }
  run.detachPending = false;
  let n = run.blockCount();
  let size: usize = 0;
  for (let i = 0; i < n; i++) size += <usize>unchecked(run.lastKeyLen[i]);
  let arena = budgetAlloc(size == 0 ? 1 : size);
  if (arena == 0) return;
  let q = arena;
  let off: u64 = 0;
  run.blockOff = new Array<u64>(n);
  for (let i = 0; i < n; i++) {
    let kl = unchecked(run.lastKeyLen[i]);
    memory.copy(q, unchecked(run.lastKeyPtr[i]), kl);
    unchecked(run.lastKeyPtr[i] = q);
    q += <usize>kl;
    unchecked(run.blockOff[i] = off);
    off += <u64>unchecked(run.blockLen[i]);
    budgetFree(unchecked(run.blockPtr[i]), unchecked(run.blockLen[i]));
    unchecked(run.blockPtr[i] = 0);
  }
  run.indexKeys = arena;
  run.indexKeysSize = size == 0 ? 1 : size;
  run.fileBacked = true;
}

/**
 * Iterates one run in internal-key order. `sequential` (compactions, forward only): a
 * file-backed run is read in chunks of whole blocks (readaheadBytes()) into the iterator's
 * own buffer, bypassing the block cache: a merge reads each block once, and should neither
 * pay a host call per block nor push the readers' working set out of the cache. A chunk is
 * overwritten when the next one is read, so the entry just left is gone: only a reader
 * that copies what it keeps (Merger does) may ask for this.
 */
export class RunIterator extends InternalIterator {
  private blockIndex: i32 = 0;
  private cursor: BlockCursor = new BlockCursor();
  /** File-backed: the cached block the cursor stands on, pinned. */
  private pinned: CacheEntry | null = null;
  private closed: bool = false;
  /** Sequential reads: the chunk buffer, and the blocks [chunkFirst, chunkLast] it holds
   *  from file offset chunkOff. */
  private chunk: usize = 0;
  private chunkCap: usize = 0;
  private chunkFirst: i32 = 0;
  private chunkLast: i32 = -1;
  private chunkOff: u64 = 0;

  constructor(private run: Run, private sequential: bool = false) { super(); run.readers++; }

  /** Stands the cursor on block b. False at either end, or when the block could not be
   *  read: then `status` says why, and the iterator stays failed (see InternalIterator). */
  private openBlock(b: i32): bool {
    let run = this.run;
    if (this.status != S.OK) { this.valid = false; return false; }
    if (b < 0 || b >= run.blockCount()) { this.unpin(); this.valid = false; return false; }
    if (!run.fileBacked) {
      this.cursor.reset(unchecked(run.blockPtr[b]), unchecked(run.blockLen[b]));
    } else if (this.sequential) {
      if ((b < this.chunkFirst || b > this.chunkLast) && !this.readChunk(b)) { this.readFailure(); return false; }
      this.cursor.reset(this.chunk + <usize>(unchecked(run.blockOff[b]) - this.chunkOff), unchecked(run.blockLen[b]));
    } else {
      // Pin the new block before unpinning the old: the entry just left stays readable.
      let e = acquireBlock(run, b);
      if (e == null) { this.unpin(); this.readFailure(); return false; }
      this.unpin();
      this.pinned = e;
      this.cursor.reset(e.ptr, e.len);
    }
    this.blockIndex = b;
    return true;
  }

  /** The block read just failed (block-cache.ts recorded where and why): the iterator's status. */
  private readFailure(): void {
    this.valid = false;
    this.status = readStatus != S.OK ? readStatus : S.IO_ERROR;
    this.errRun = readErrorRun;
    this.errAt = readErrorAt;
    this.errWhat = readErrorWhat;
  }

  /** Reads blocks b, b+1, … (about readaheadBytes(), at least block b) into the chunk
   *  buffer with one host call, checking each. False with readStatus set on failure. */
  private readChunk(b: i32): bool {
    let run = this.run;
    let n = run.blockCount();
    let last = b;
    let bytes = <u64>unchecked(run.blockLen[b]);
    let readahead = readaheadBytes();
    while (last + 1 < n && bytes + <u64>unchecked(run.blockLen[last + 1]) <= readahead) {
      last++;
      bytes += <u64>unchecked(run.blockLen[last]);
    }
    let off = unchecked(run.blockOff[b]);
    if (<usize>bytes > this.chunkCap) {
      budgetFree(this.chunk, this.chunkCap);
      this.chunkCap = 0;
      this.chunk = budgetAlloc(<usize>bytes);
      if (this.chunk == 0) { this.chunkLast = -1; readFailed(S.OUT_OF_MEMORY, run.id, off, 0); return false; }
      this.chunkCap = <usize>bytes;
    }
    this.chunkFirst = b;
    this.chunkLast = -1; // nothing valid until the read and checks pass
    let st = hostReadBlock(run.id, <f64>off, <u32>bytes, this.chunk);
    if (st != S.OK) { readFailed(st, run.id, off, CORRUPT_BLOCK); return false; }
    for (let i = b; i <= last; i++) {
      let at = unchecked(run.blockOff[i]);
      let what = checkRead(run, i, this.chunk + <usize>(at - off), unchecked(run.blockLen[i]));
      if (what != 0) { readFailed(S.CORRUPTION, run.id, at, what); return false; }
    }
    this.chunkOff = off;
    this.chunkLast = last;
    return true;
  }

  private unpin(): void {
    let e = this.pinned;
    if (e != null) { releaseBlock(e); this.pinned = null; }
  }

  /** Drops the pin and the reader count; a detach the host asked for meanwhile happens now. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.valid = false;
    this.unpin();
    budgetFree(this.chunk, this.chunkCap);
    this.chunk = 0;
    this.chunkCap = 0;
    let run = this.run;
    run.readers--;
    if (run.readers == 0 && run.detachPending) queueDetach(run);
  }

  // @ts-ignore: decorator
  @inline private at(i: u32): void {
    let c = this.cursor;
    c.decode(i);
    this.valid = true;
    this.keyPtr = c.keyPtr; this.keyLen = c.keyLen; this.tag = c.tag;
    this.valPtr = c.valPtr; this.valLen = c.valLen;
  }

  seekGE(key: usize, klen: u32, tag: u64): void {
    if (!this.openBlock(this.run.findBlock(key, klen, tag))) return;
    let i = this.cursor.lowerBound(key, klen, tag);
    if (i < this.cursor.count) this.at(i);
    else if (this.openBlock(this.blockIndex + 1)) this.at(0);
  }

  seekLT(key: usize, klen: u32, tag: u64): void {
    let b = this.run.findBlock(key, klen, tag);
    if (b >= this.run.blockCount()) { this.seekToLast(); return; }
    if (!this.openBlock(b)) return;
    let i = this.cursor.lowerBound(key, klen, tag);
    if (i > 0) this.at(i - 1);
    else if (this.openBlock(b - 1)) this.at(this.cursor.count - 1);
  }

  seekToFirst(): void { if (this.openBlock(0)) this.at(0); }
  seekToLast(): void { if (this.openBlock(this.run.blockCount() - 1)) this.at(this.cursor.count - 1); }

  next(): void {
    let i = this.cursor.index + 1;
    if (i < this.cursor.count) this.at(i);
    else if (this.openBlock(this.blockIndex + 1)) this.at(0);
  }

  prev(): void {
    let i = this.cursor.index;
    if (i > 0) this.at(i - 1);
    else if (this.openBlock(this.blockIndex - 1)) this.at(this.cursor.count - 1);
  }
}
