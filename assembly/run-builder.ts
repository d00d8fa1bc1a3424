// Builds runs (run.ts) from entries given in internal-key order: data blocks cut at about
// blockBytes, the sparse index of each block's last key, and the bloom over the user keys.
// Used by merges (compaction.ts Merger) and bulk ingest (ingest.ts).
// INVARIANTS: a run is cut only between user keys (all versions of a key sit in one run);
// out of memory marks the builder `failed`, and finish() then frees what it built.
import { equalBytes, hash32, keyPrefix } from "./bytes";
import { tagKind, KIND_DELETE, KIND_MERGE } from "./internal-key";
import { BlockBuilder } from "./block";
import { buildBloom, bloomImageSize } from "./bloom";
import { budgetAlloc, budgetFree, copyBound } from "./memory-budget";
import { Run, takeRunId } from "./run";
import { RangeDels } from "./range-del";

/** A run of range tombstones and no entries (a merge whose entries all went, or a flush of
 *  a memtable holding only tombstones): no blocks, an empty bloom, smallest = largest = the
 *  lowest tombstone's start. Takes `rd` (owned); null when memory is refused (rd not taken). */
export function tombstoneOnlyRun(rd: RangeDels): Run | null {
  let run = new Run();
  let bounded = run.boundsFromRangeDels(rd);
  run.bloomSize = bloomImageSize(0, 0);
  run.bloom = buildBloom(0, 0, 0);
  if (!bounded || run.bloom == 0) { run.refs = 1; run.unref(); return null; }
  run.bytes = <u64>run.bloomSize + 64;
  run.setRangeDels(rd);
  run.id = takeRunId();
  return run;
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
        run.smallest = copyBound(key, klen);
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
      run.smallest = copyBound(key, klen);
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
    else if (tagKind(tag) == KIND_MERGE) run.hasMerges = true;
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
      run.largest = copyBound(extKey, this.extKeyLen);
      run.largestLen = this.extKeyLen;
    } else {
      run.largest = copyBound(this.prevKey, this.prevKeyLen);
      run.largestLen = this.prevKeyLen;
    }
    run.bloomSize = bloomImageSize(keys, this.bitsPerKey);
    run.bloom = buildBloom(this.hashes, keys, this.bitsPerKey);
    if (run.largest == 0 || run.bloom == 0) { this.failed = true; run.refs = 1; run.unref(); return null; }
    run.bytes += <u64>run.bloomSize + 64;
    run.id = takeRunId();
    return run;
  }

  /** Frees the builder's buffers, and the run it was building if one is unfinished (a merge
   *  abandoned for memory: its blocks so far would otherwise stay allocated for good). */
  release(): void {
    let r = this.run;
    if (r != null) { r.refs = 1; r.unref(); this.run = null; }
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
