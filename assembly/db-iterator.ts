// The user-visible iterator: walks the merged internal entries and yields, for every user
// key in [lower, upper), the newest version with sequence <= snapSeq, skipping tombstones.
// It pins the memtables and the Version it started on, so flushes and compactions after its
// creation change nothing it sees; `close` drops the pins.
//
// In a store whose runs may be file-backed (block-cache.ts), entries handed to the host are
// copied into the iterator's own batch arena (keep), valid until its next batch: the blocks
// they came from may be evicted at the next safe point, before the host reads them.
import { MergingIterator } from "./merge-iterator";
import { Memtable } from "./memtable";
import { Version } from "./version";
import { compareBytes, equalBytes } from "./bytes";
import { tagSeq, tagKind, KIND_PUT } from "./internal-key";
import { budgetAlloc, budgetFree } from "./memory-budget";
import { KeyCopy } from "./key-copy";
import { readFailed } from "./block-cache";
import { RangeDels } from "./range-del";

/** Bytes of a batch arena chunk; a larger entry gets a chunk of its own size. */
const CHUNK_BYTES: usize = 64 << 10;

const FIRST_TAG: u64 = 0xffffffffffffffff; // sorts before every real tag of a key

export class DbIterator {
  keyPtr: usize = 0;
  keyLen: u32 = 0;
  valPtr: usize = 0;
  valLen: u32 = 0;
  private started: bool = false;
  private closed: bool = false;
  /** A failed block read ended this iterator: every later batch fails the same way. */
  error: i32 = 0;
  private finished: bool = false;
  private hasSkip: bool = false;
  private skipKey: usize = 0;
  private skipLen: u32 = 0;
  /** Own copy of skipKey across batches (file-backed stores; see keepSkipKey). */
  private skipCopy: KeyCopy = new KeyCopy();
  /** The batch arena: chunks (ptr, size); entries are bump-allocated in the last one. */
  private chunkPtr: usize[] = [];
  private chunkSize: usize[] = [];
  private chunkUsed: usize = 0;

  constructor(
    private merged: MergingIterator,
    private mem: Memtable,
    /** The sealed memtable, pinned as mem is, or null. */
    private imm: Memtable | null,
    private version: Version,
    private snapSeq: u64,
    private forward: bool,
    private lower: usize, private lowerLen: u32, private hasLower: bool,
    private upper: usize, private upperLen: u32, private hasUpper: bool,
    /** The range tombstones visible at snapSeq (pointers into the pinned memtables and
     *  runs), or null: a key's newest visible version older than one covering it is hidden. */
    private rd: RangeDels | null = null,
  ) {}

  /** Whether the version of key k at `seq` is hidden by a range tombstone. */
  // @ts-ignore: decorator
  @inline private covered(k: usize, kl: u32, seq: u64): bool {
    let rd = this.rd;
    return rd != null && seq < rd.covering(k, kl, this.snapSeq);
  }

  /** Moves to the next visible entry; false at the end. */
  step(): bool {
    if (this.finished) return false;
    if (!this.started) {
      this.started = true;
      if (this.forward) {
        if (this.hasLower) this.merged.seekGE(this.lower, this.lowerLen, FIRST_TAG);
        else this.merged.seekToFirst();
      } else {
        if (this.hasUpper) this.merged.seekLT(this.upper, this.upperLen, FIRST_TAG);
        else this.merged.seekToLast();
      }
    }
    let ok = this.forward ? this.stepForward() : this.stepReverse();
    if (!ok) this.finished = true;
    return ok;
  }

  private stepForward(): bool {
    let m = this.merged;
    while (m.valid) {
      let k = m.keyPtr, kl = m.keyLen, tag = m.tag;
      if (this.hasUpper && compareBytes(k, kl, this.upper, this.upperLen) >= 0) return false;
      if (tagSeq(tag) > this.snapSeq || (this.hasSkip && equalBytes(k, kl, this.skipKey, this.skipLen))) {
        m.next();
        continue;
      }
      // The first visible entry of a user key is its newest visible version.
      this.hasSkip = true;
      this.skipKey = k;
      this.skipLen = kl;
      let isPut = tagKind(tag) == KIND_PUT && !this.covered(k, kl, tagSeq(tag));
      if (isPut) { this.keyPtr = k; this.keyLen = kl; this.valPtr = m.valPtr; this.valLen = m.valLen; }
      m.next();
      if (isPut) return true;
    }
    return false;
  }

  private stepReverse(): bool {
    // Versions of one user key arrive oldest first: keep the last visible one of the group.
    let m = this.merged;
    let inGroup = false, hasBest = false, bestPut = false;
    let bestSeq: u64 = 0;
    let gk: usize = 0, gl: u32 = 0;
    while (m.valid) {
      let k = m.keyPtr, kl = m.keyLen, tag = m.tag;
      if (inGroup && !equalBytes(k, kl, gk, gl)) {
        if (hasBest && bestPut && !this.covered(gk, gl, bestSeq)) return true;
        inGroup = false;
        hasBest = false;
      }
      if (!inGroup) {
        if (this.hasLower && compareBytes(k, kl, this.lower, this.lowerLen) < 0) return false;
        inGroup = true;
        gk = k; gl = kl;
      }
      if (tagSeq(tag) <= this.snapSeq) {
        hasBest = true;
        bestPut = tagKind(tag) == KIND_PUT;
        bestSeq = tagSeq(tag);
        this.keyPtr = k; this.keyLen = kl; this.valPtr = m.valPtr; this.valLen = m.valLen;
      }
      m.prev();
    }
    return inGroup && hasBest && bestPut && !this.covered(gk, gl, bestSeq);
  }

  /** OK, or the failed block read that ended the merged sources early (InternalIterator.status):
   *  then step() returned false without the iterator being at its end. */
  readStatus(): i32 { return this.merged.status; }
  /** Records this iterator's failed read as the last one (block-cache.ts readFailed), so the
   *  host's read_error names its file and offset, whatever was read since. */
  publishReadError(): void {
    let m = this.merged;
    if (m.status != 0) readFailed(m.status, m.errRun, m.errAt, m.errWhat);
  }

  /** Starts a new batch: the previous batch's copies may be overwritten. Keeps one chunk. */
  resetBatch(): void {
    for (let i = 1; i < this.chunkPtr.length; i++) budgetFree(unchecked(this.chunkPtr[i]), unchecked(this.chunkSize[i]));
    if (this.chunkPtr.length > 1) { this.chunkPtr.length = 1; this.chunkSize.length = 1; }
    this.chunkUsed = 0;
  }

  /** A copy of (p, len) in the batch arena, valid until the next resetBatch; 0 when out of
   *  memory. */
  keep(p: usize, len: u32): usize {
    let n = this.chunkPtr.length;
    if (n == 0 || this.chunkUsed + <usize>len > unchecked(this.chunkSize[n - 1])) {
      let size = <usize>len > CHUNK_BYTES ? <usize>len : CHUNK_BYTES;
      let c = budgetAlloc(size);
      if (c == 0) return 0;
      this.chunkPtr.push(c);
      this.chunkSize.push(size);
      this.chunkUsed = 0;
      n++;
    }
    let dst = unchecked(this.chunkPtr[n - 1]) + this.chunkUsed;
    memory.copy(dst, p, len);
    this.chunkUsed += <usize>len;
    return dst;
  }

  /** At the end of a batch: the key the next step compares against becomes a copy, as the
   *  block it points into may be evicted before that step. False when out of memory. */
  keepSkipKey(): bool {
    if (!this.hasSkip || this.skipKey == this.skipCopy.ptr) return true;
    if (!this.skipCopy.set(this.skipKey, this.skipLen)) return false;
    this.skipKey = this.skipCopy.ptr;
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finished = true;
    this.merged.close();
    this.resetBatch();
    if (this.chunkPtr.length > 0) { budgetFree(unchecked(this.chunkPtr[0]), unchecked(this.chunkSize[0])); this.chunkPtr.length = 0; this.chunkSize.length = 0; }
    this.skipCopy.free();
    this.mem.unref();
    let sealed = this.imm;
    if (sealed != null) sealed.unref();
    this.version.unref();
    if (this.hasLower) budgetFree(this.lower, this.lowerLen == 0 ? 1 : this.lowerLen);
    if (this.hasUpper) budgetFree(this.upper, this.upperLen == 0 ? 1 : this.upperLen);
    this.hasLower = false;
    this.hasUpper = false;
  }
}
