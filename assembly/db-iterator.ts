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
import { tagSeq, tagKind, KIND_PUT, KIND_MERGE } from "./internal-key";
import { MergeChain } from "./merge-chain";
import { budgetAlloc, budgetFree } from "./memory-budget";
import { KeyCopy } from "./key-copy";
import { readFailed, blockBytesThisCall } from "./block-cache";
import { READ_CALL_BYTES } from "./tuning";
import { RangeDels } from "./range-del";
import * as S from "./status";

/** Bytes of a batch arena chunk; a larger entry gets a chunk of its own size. */
const CHUNK_BYTES: usize = 64 << 10;

const FIRST_TAG: u64 = 0xffffffffffffffff; // sorts before every real tag of a key

export class DbIterator {
  keyPtr: usize = 0;
  keyLen: u32 = 0;
  valPtr: usize = 0;
  valLen: u32 = 0;
  /** The current entry's value is a merge chain image (merge-chain.ts) in the batch arena,
   *  for the host to fold. */
  isChain: bool = false;
  /** A chain image was kept: the arena is reset every batch, file-backed or not. */
  usesArena: bool = false;
  private chain: MergeChain | null = null;
  private started: bool = false;
  private closed: bool = false;
  /** A failed block read ended this iterator: every later batch fails the same way. */
  error: i32 = 0;
  private finished: bool = false;
  /** step() stopped before the end, having read READ_CALL_BYTES of blocks in this call: the
   *  batch ends here and the next call goes on from the same place. */
  paused: bool = false;
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
    if (!ok && !this.paused) this.finished = true;
    return ok;
  }

  /** Whether to stop before the next entry: this call has read READ_CALL_BYTES of blocks,
   *  which stay in memory until the call returns (only file-backed runs read blocks). */
  // @ts-ignore: decorator
  @inline private mustPause(): bool {
    if (blockBytesThisCall <= READ_CALL_BYTES) return false;
    this.paused = true;
    return true;
  }

  /** End the batch after this entry: it holds READ_CALL_BYTES of copies (a second arena
   *  chunk), or the call has read as many in blocks. */
  batchFull(): bool {
    return this.chunkPtr.length > 1 || this.chunkUsed >= CHUNK_BYTES || blockBytesThisCall > READ_CALL_BYTES;
  }

  private stepForward(): bool {
    let m = this.merged;
    while (m.valid) {
      if (this.mustPause()) return false; // between entries: the loop keeps no state of its own
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
      let kind = tagKind(tag);
      if (kind == KIND_MERGE && !this.covered(k, kl, tagSeq(tag))) return this.chainForward(k, kl);
      let isPut = kind == KIND_PUT && !this.covered(k, kl, tagSeq(tag));
      if (isPut) { this.keyPtr = k; this.keyLen = kl; this.valPtr = m.valPtr; this.valLen = m.valLen; this.isChain = false; }
      m.next();
      if (isPut) return true;
    }
    return false;
  }

  /** At the newest visible version of k, a merge operand: gathers it and the older ones
   *  down to a put (the base) or absent, and makes the chain image the entry's value. The
   *  key's remaining versions are skipped by the next step. */
  private chainForward(k: usize, kl: u32): bool {
    let m = this.merged;
    let c = this.chainBuf();
    c.reset(false);
    let rd = this.rd;
    let cover: u64 = rd != null ? rd.covering(k, kl, this.snapSeq) : 0;
    while (m.valid && equalBytes(m.keyPtr, m.keyLen, k, kl)) {
      let tag = m.tag, kind = tagKind(tag);
      if (tagSeq(tag) < cover || (kind != KIND_MERGE && kind != KIND_PUT)) break;
      if (kind == KIND_PUT) { c.setBase(m.valPtr, m.valLen); break; }
      if (!c.addOperand(tagSeq(tag), m.valPtr, m.valLen)) break;
      m.next();
    }
    return this.emitChain(k, kl);
  }

  /** Makes the gathered chain the current entry (its image in the batch arena). */
  private emitChain(k: usize, kl: u32): bool {
    let c = this.chain!;
    let size = c.imageBytes();
    let dst: usize = c.failed ? 0 : this.alloc(size);
    if (dst == 0) { this.error = S.OUT_OF_MEMORY; return false; }
    c.image(dst);
    this.usesArena = true;
    this.keyPtr = k; this.keyLen = kl; this.valPtr = dst; this.valLen = <u32>size; this.isChain = true;
    return true;
  }

  private chainBuf(): MergeChain {
    let c = this.chain;
    if (c == null) { c = new MergeChain(); this.chain = c; }
    return c;
  }

  private stepReverse(): bool {
    // Versions of one user key arrive oldest first: keep the last visible one of the group,
    // and, for merge operands, the chain that ends there: the newest put or tombstone below
    // them (a version a range tombstone covers counts as a tombstone) and the operands since.
    let m = this.merged;
    let inGroup = false, hasBest = false, bestKind: u8 = 0;
    let cover: u64 = 0;
    let basePtr: usize = 0, baseLen: u32 = 0, hasBase = false, chained = false;
    let gk: usize = 0, gl: u32 = 0;
    while (m.valid) {
      let k = m.keyPtr, kl = m.keyLen, tag = m.tag;
      if (inGroup && !equalBytes(k, kl, gk, gl)) {
        if (hasBest && this.finishGroup(gk, gl, bestKind, chained, hasBase, basePtr, baseLen)) return true;
        if (this.error != 0) return false;
        inGroup = false;
        hasBest = false;
      }
      if (!inGroup) {
        if (this.mustPause()) return false; // between groups: nothing gathered yet
        if (this.hasLower && compareBytes(k, kl, this.lower, this.lowerLen) < 0) return false;
        inGroup = true;
        gk = k; gl = kl;
        let rd = this.rd;
        cover = rd != null ? rd.covering(k, kl, this.snapSeq) : 0;
        hasBase = false; chained = false;
      }
      let seq = tagSeq(tag);
      if (seq <= this.snapSeq) {
        hasBest = true;
        let kind = tagKind(tag);
        if (seq < cover && kind != 0) kind = 0; // covered: as a tombstone
        bestKind = kind;
        if (kind == KIND_MERGE) {
          if (!chained) { this.chainBuf().reset(true); chained = true; }
          if (!this.chain!.addOperand(seq, m.valPtr, m.valLen)) { this.error = S.OUT_OF_MEMORY; return false; }
        } else {
          chained = false;
          hasBase = kind == KIND_PUT;
          basePtr = m.valPtr; baseLen = m.valLen;
        }
        this.keyPtr = k; this.keyLen = kl; this.valPtr = m.valPtr; this.valLen = m.valLen; this.isChain = false;
      }
      m.prev();
    }
    return inGroup && hasBest && this.finishGroup(gk, gl, bestKind, chained, hasBase, basePtr, baseLen);
  }

  /** The end of a backward group whose newest visible version has kind `kind`: true when it
   *  yields an entry (a put, or a chain over `base` when the newest is a merge operand). */
  private finishGroup(k: usize, kl: u32, kind: u8, chained: bool, hasBase: bool, basePtr: usize, baseLen: u32): bool {
    if (kind == KIND_PUT) return true;
    if (kind != KIND_MERGE || !chained) return false;
    if (hasBase && !this.chain!.setBase(basePtr, baseLen)) { this.error = S.OUT_OF_MEMORY; return false; }
    return this.emitChain(k, kl);
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
    // The first chunk is kept for the next batch, unless a large entry made it larger.
    let keep = this.chunkPtr.length > 0 && unchecked(this.chunkSize[0]) == CHUNK_BYTES ? 1 : 0;
    for (let i = keep; i < this.chunkPtr.length; i++) budgetFree(unchecked(this.chunkPtr[i]), unchecked(this.chunkSize[i]));
    this.chunkPtr.length = keep;
    this.chunkSize.length = keep;
    this.chunkUsed = 0;
  }

  /** A copy of (p, len) in the batch arena, valid until the next resetBatch; 0 when out of
   *  memory. */
  keep(p: usize, len: u32): usize {
    let dst = this.alloc(<usize>len);
    if (dst != 0) memory.copy(dst, p, len);
    return dst;
  }

  /** `len` bytes of the batch arena, valid until the next resetBatch; 0 when out of memory. */
  alloc(len: usize): usize {
    let n = this.chunkPtr.length;
    if (n == 0 || this.chunkUsed + len > unchecked(this.chunkSize[n - 1])) {
      let size = len > CHUNK_BYTES ? len : CHUNK_BYTES;
      let c = budgetAlloc(size);
      if (c == 0) return 0;
      this.chunkPtr.push(c);
      this.chunkSize.push(size);
      this.chunkUsed = 0;
      n++;
    }
    let dst = unchecked(this.chunkPtr[n - 1]) + this.chunkUsed;
    this.chunkUsed += len;
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
    let c = this.chain;
    if (c != null) c.free();
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
