// A run (an SSTable): an immutable sorted sequence of internal entries, cut into data
// blocks (block.ts), with a sparse index (the last internal key of every block) and a
// bloom filter over its user keys (bloom.ts). In memory every block is its own allocation
// (TLSF caps one allocation at 1 GiB, and a later block cache wants per-block units);
// written to a file, the blocks are laid end to end followed by the index and the bloom.
//
// INVARIANTS: entries strictly increase in internal-key order across blocks; all versions
// of one user key sit in one run (a compaction never cuts a run inside a key); a run's
// bytes never change; it is freed when its last reference (levels, iterators) is dropped.
import { compareBytes, equalBytes, hash32, keyPrefix } from "./bytes";
import { compareInternal, seekTag, tagKind, KIND_DELETE } from "./internal-key";
import { BlockBuilder, BlockCursor, BLOCK_TRAILER } from "./block";
import { buildBloom, bloomImageSize, bloomMayContain } from "./bloom";
import { InternalIterator } from "./internal-iterator";
import { budgetAlloc, budgetFree } from "./memory-budget";

/** The number the next new run gets: its file number when the store has a directory.
 *  Recovery raises it above every imported run's number (noteRunId). */
let nextRunId: u32 = 1;
export function noteRunId(id: u32): void { if (id >= nextRunId) nextRunId = id + 1; }
export function takeRunId(): u32 { return nextRunId++; }
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
  /** Bytes of blocks + bloom + index estimate: what a run file would take. */
  bytes: u64 = 0;
  refs: i32 = 0;

  ref(): void { this.refs++; }
  unref(): void {
    if (--this.refs > 0) return;
    for (let i = 0; i < this.blockPtr.length; i++) budgetFree(unchecked(this.blockPtr[i]), unchecked(this.blockLen[i]));
    this.blockPtr.length = 0;
    budgetFree(this.bloom, this.bloomSize);
    budgetFree(this.smallest, this.smallestLen == 0 ? 1 : this.smallestLen);
    budgetFree(this.largest, this.largestLen == 0 ? 1 : this.largestLen);
    this.bloom = 0;
  }

  blockCount(): i32 { return this.blockPtr.length; }

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

  /** User key within [smallest, largest]? */
  covers(key: usize, klen: u32): bool {
    return compareBytes(key, klen, this.smallest, this.smallestLen) >= 0
      && compareBytes(key, klen, this.largest, this.largestLen) <= 0;
  }
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
  found.reset(unchecked(run.blockPtr[b]), unchecked(run.blockLen[b]));
  let i = found.lowerBound(key, klen, tag);
  if (i >= found.count) return false;
  found.decode(i);
  return equalBytes(found.keyPtr, found.keyLen, key, klen);
}

/** Builds runs from entries given in internal-key order. */
export class RunBuilder {
  private block: BlockBuilder = new BlockBuilder();
  private run: Run | null = null;
  /** Bloom hashes of the run's user keys so far (u32 each, a raw buffer reused across runs). */
  private hashes: usize = 0;
  private hashCap: u32 = 0;
  private hashCount: u32 = 0;
  private prevKey: usize = 0;
  private prevKeyCap: u32 = 0;
  private prevKeyLen: u32 = 0;
  private hasPrev: bool = false;
  private lastKeyOff: i64 = 0;
  private lastTagInBlock: u64 = 0;
  private lastKeyLenInBlock: u32 = 0;
  /** addDistinct: the last key added, in the caller's memory (copied at finish). */
  private extKey: usize = 0;
  private extKeyLen: u32 = 0;
  failed: bool = false;

  constructor(private blockBytes: u32, private bitsPerKey: u32) {}

  /** Bytes the run under construction holds so far. */
  currentBytes(): u64 {
    let r = this.run;
    return (r ? r.bytes : 0) + <u64>this.block.estimate();
  }
  hasEntries(): bool { let r = this.run; return r != null && (r.entries > 0); }

  /** True when `key` differs from the previous key added (a run may be cut only there). */
  isNewUserKey(key: usize, klen: u32): bool {
    return !this.hasPrev || !equalBytes(this.prevKey, this.prevKeyLen, key, klen);
  }

  add(key: usize, klen: u32, tag: u64, val: usize, vlen: u32): void {
    if (this.failed) return;
    let run = this.run;
    if (run == null) { run = new Run(); this.run = run; }
    let isNew = this.isNewUserKey(key, klen);
    if (isNew) {
      if (run.entries == 0) {
        run.smallest = copyKey(key, klen);
        run.smallestLen = klen;
        if (run.smallest == 0) { this.failed = true; return; }
      }
      if (!this.pushHash(hash32(key, klen))) return;
      if (klen > this.prevKeyCap) {
        budgetFree(this.prevKey, this.prevKeyCap);
        let cap = klen < 64 ? <u32>64 : klen;
        this.prevKey = budgetAlloc(cap);
        if (this.prevKey == 0) { this.prevKeyCap = 0; this.failed = true; return; }
        this.prevKeyCap = cap;
      }
      memory.copy(this.prevKey, key, klen);
      this.prevKeyLen = klen;
      this.hasPrev = true;
    }
    this.append(run, key, klen, tag, val, vlen);
  }

  /**
   * add() for a caller whose keys strictly increase, one entry per user key (bulk ingest):
   * no comparison with the previous key and no copy of it; the largest key is copied from
   * the caller's memory at finish(). REQUIRES: the keys' bytes stay put until finish(), and
   * no add() on the same run.
   */
  addDistinct(key: usize, klen: u32, tag: u64, val: usize, vlen: u32): void {
    if (this.failed) return;
    let run = this.run;
    if (run == null) { run = new Run(); this.run = run; }
    if (run.entries == 0) {
      run.smallest = copyKey(key, klen);
      run.smallestLen = klen;
      if (run.smallest == 0) { this.failed = true; return; }
    }
    if (!this.pushHash(hash32(key, klen))) return;
    this.extKey = key;
    this.extKeyLen = klen;
    this.append(run, key, klen, tag, val, vlen);
  }

  private pushHash(h: u32): bool {
    if (this.hashCount >= this.hashCap) {
      let ncap: u32 = this.hashCap < 1024 ? 1024 : this.hashCap << 1;
      let nb = budgetAlloc(<usize>ncap << 2);
      if (nb == 0) { this.failed = true; return false; }
      if (this.hashes != 0) {
        memory.copy(nb, this.hashes, <usize>this.hashCount << 2);
        budgetFree(this.hashes, <usize>this.hashCap << 2);
      }
      this.hashes = nb;
      this.hashCap = ncap;
    }
    store<u32>(this.hashes + (<usize>this.hashCount << 2), h);
    this.hashCount++;
    return true;
  }

  private append(run: Run, key: usize, klen: u32, tag: u64, val: usize, vlen: u32): void {
    let off = this.block.add(key, klen, tag, val, vlen);
    if (off < 0) { this.failed = true; return; }
    this.lastKeyOff = off;
    this.lastKeyLenInBlock = klen;
    this.lastTagInBlock = tag;
    run.entries++;
    if (tagKind(tag) == KIND_DELETE) run.tombstones++;
    if (this.block.estimate() >= <usize>this.blockBytes) this.cutBlock();
  }

  private cutBlock(): void {
    if (this.block.isEmpty() || this.failed) return;
    let run = this.run!;
    let len = <u32>this.block.estimate();
    let keyOff = <usize>this.lastKeyOff;
    let p = this.block.finish();
    if (p == 0) { this.failed = true; return; }
    run.blockPtr.push(p);
    run.blockLen.push(len);
    run.lastKeyPtr.push(p + keyOff);
    run.lastKeyLen.push(this.lastKeyLenInBlock);
    run.lastKeyPrefix.push(keyPrefix(p + keyOff, this.lastKeyLenInBlock));
    run.lastTag.push(this.lastTagInBlock);
    run.bytes += <u64>len + <u64>this.lastKeyLenInBlock + 16;
  }

  /** Finishes the current run (null if it is empty or memory ran out: see `failed`). */
  finish(): Run | null {
    this.cutBlock();
    let run = this.run;
    this.run = null;
    let keys = this.hashCount;
    this.hashCount = 0;
    this.hasPrev = false;
    let extKey = this.extKey;
    this.extKey = 0;
    if (run == null) return null;
    if (this.failed || run.entries == 0) { run.refs = 1; run.unref(); return null; }
    if (extKey != 0) {
      run.largest = copyKey(extKey, this.extKeyLen);
      run.largestLen = this.extKeyLen;
    } else {
      run.largest = copyKey(this.prevKey, this.prevKeyLen);
      run.largestLen = this.prevKeyLen;
    }
    run.bloomSize = bloomImageSize(keys, this.bitsPerKey);
    run.bloom = buildBloom(this.hashes, keys, this.bitsPerKey);
    if (run.largest == 0 || run.bloom == 0) { this.failed = true; run.refs = 1; run.unref(); return null; }
    run.bytes += <u64>run.bloomSize + 64;
    run.id = takeRunId();
    return run;
  }

  release(): void {
    this.block.release();
    budgetFree(this.hashes, <usize>this.hashCap << 2);
    this.hashes = 0;
    this.hashCap = 0;
    this.hashCount = 0;
    budgetFree(this.prevKey, this.prevKeyCap);
    this.prevKey = 0;
    this.prevKeyCap = 0;
  }
}

function copyKey(key: usize, klen: u32): usize {
  let p = budgetAlloc(klen == 0 ? 1 : klen);
  if (p != 0) memory.copy(p, key, klen);
  return p;
}

/** Iterates one run in internal-key order. */
export class RunIterator extends InternalIterator {
  private blockIndex: i32 = 0;
  private cursor: BlockCursor = new BlockCursor();

  constructor(private run: Run) { super(); }

  private openBlock(b: i32): bool {
    if (b < 0 || b >= this.run.blockCount()) { this.valid = false; return false; }
    this.blockIndex = b;
    this.cursor.reset(unchecked(this.run.blockPtr[b]), unchecked(this.run.blockLen[b]));
    return true;
  }

  private at(i: u32): void {
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
    this.openBlock(b);
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
