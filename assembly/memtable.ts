// The memtable: a skiplist of internal entries in an arena of linear memory.
//
// Node layout (8-byte aligned, in an arena chunk):
//   +0  tag      u64   sequence << 8 | kind
//   +8  keyLen   u32
//   +12 valLen   u32
//   +16 height   u32   1..MAX_HEIGHT
//   +20 (pad)    u32
//   +24 next     u32 × height   successor at each level (0 = end)
//   +24+4h key bytes, then value bytes
//
// Every write inserts a new node, even for an existing key, so older versions stay
// readable for snapshots and open iterators; nodes are never unlinked or moved.
//
// Point lookups skip the skiplist: an open-addressing hash index maps each user key to its
// newest node, and older versions follow it on level 0 (same key, tag descending). A get —
// above all a miss, which must look here before the runs' blooms — then costs one hash and
// one or two probes instead of a dozen cache-missing comparisons. Should the index fail to
// grow (memory refused), it is dropped and lookups fall back to the skiplist.
// INVARIANTS: level-0 links visit nodes in internal-key order; an entry's bytes never
// change once linked; the arena is freed only when the last reference is dropped.
import { compareInternal } from "./internal-key";
import { hash32, equalBytes } from "./bytes";
import { InternalIterator } from "./internal-iterator";
import { budgetAlloc, budgetFree, canAllocate } from "./memory-budget";
import { RangeDels, noteRangeDels } from "./range-del";

const MAX_HEIGHT: u32 = 12;
const NODE_HEADER: u32 = 24;
const HEAD_BYTES: usize = NODE_HEADER + (MAX_HEIGHT << 2);

// @ts-ignore: decorator
@inline function nodeTag(n: usize): u64 { return load<u64>(n); }
// @ts-ignore: decorator
@inline function nodeKeyLen(n: usize): u32 { return load<u32>(n, 8); }
// @ts-ignore: decorator
@inline function nodeValLen(n: usize): u32 { return load<u32>(n, 12); }
// @ts-ignore: decorator
@inline function nodeHeight(n: usize): u32 { return load<u32>(n, 16); }
// @ts-ignore: decorator
@inline function nodeNext(n: usize, level: u32): usize { return <usize>load<u32>(n + NODE_HEADER + (level << 2)); }
// @ts-ignore: decorator
@inline function setNodeNext(n: usize, level: u32, to: usize): void { store<u32>(n + NODE_HEADER + (level << 2), <u32>to); }
// @ts-ignore: decorator
@inline function nodeKey(n: usize): usize { return n + NODE_HEADER + (nodeHeight(n) << 2); }

export function nodeSize(height: u32, klen: u32, vlen: u32): usize {
  return (<usize>(NODE_HEADER + (height << 2) + klen + vlen) + 7) & ~7;
}

/** Arena bytes one insert takes at most (a node of the greatest height). */
export function worstCaseInsertBytes(klen: u32, vlen: u32): u64 {
  return <u64>nodeSize(MAX_HEIGHT, klen, vlen);
}

export class Memtable {
  private chunks: usize[] = [];
  private chunkSizes: usize[] = [];
  private cur: usize = 0;
  private end: usize = 0;
  private readonly chunkBytes: usize;
  private head: usize = 0;
  private maxLevel: u32 = 1;
  private rng: u32 = 0x2545f491;
  /** Arena bytes used by entries (the flush trigger compares this to memtableBytes). */
  bytes: u64 = 0;
  entries: u32 = 0;
  /** Bytes of keys and values written by users (for write amplification). */
  userBytes: u64 = 0;
  /** Range tombstones (range-del.ts): nodes in the arena, not linked into the skiplist. */
  rangeDels: RangeDels = new RangeDels();
  /** References: the engine while active, plus each open iterator. */
  refs: i32 = 1;
  /** Hash index: u32 node pointers, tableCap a power of two, 0 = empty slot. */
  private table: usize = 0;
  private tableCap: u32 = 0;
  private tableCount: u32 = 0;

  constructor(memtableBytes: u32) {
    let c = <usize>memtableBytes >> 2;
    if (c < 4096) c = 4096;
    if (c > (1 << 20)) c = 1 << 20;
    this.chunkBytes = c;
  }

  /** Allocates the head node (on its own: the first arena chunk waits for the first write,
   *  whose reserve() checks it against the read reserve, so a sealed memtable's successor
   *  takes no write memory until it is written to). Returns false when out of memory. */
  init(): bool {
    let h = budgetAlloc(HEAD_BYTES);
    if (h == 0) return false;
    memory.fill(h, 0, HEAD_BYTES);
    store<u32>(h, MAX_HEIGHT, 16);
    this.head = h;
    this.table = allocTable(INITIAL_TABLE);
    if (this.table != 0) this.tableCap = INITIAL_TABLE;
    return true;
  }

  /** Points the index slot of n's key at n (the newest version of that key). */
  private index(n: usize): void {
    if (this.table == 0) return;
    if ((this.tableCount + 1) << 1 > this.tableCap && !this.growTable()) {
      if (this.tableCount + 1 >= this.tableCap) { this.dropTable(); return; }
    }
    let k = nodeKey(n), kl = nodeKeyLen(n);
    let mask = this.tableCap - 1;
    let i = hash32(k, kl) & mask;
    while (true) {
      let slot = this.table + (<usize>i << 2);
      let m = <usize>load<u32>(slot);
      if (m == 0) { store<u32>(slot, <u32>n); this.tableCount++; return; }
      if (equalBytes(nodeKey(m), nodeKeyLen(m), k, kl)) { store<u32>(slot, <u32>n); return; }
      i = (i + 1) & mask;
    }
  }

  private growTable(): bool {
    let cap = this.tableCap << 1;
    let t = allocTable(cap);
    if (t == 0) return false;
    let mask = cap - 1;
    for (let j: u32 = 0; j < this.tableCap; j++) {
      let n = <usize>load<u32>(this.table + (<usize>j << 2));
      if (n == 0) continue;
      let i = hash32(nodeKey(n), nodeKeyLen(n)) & mask;
      while (load<u32>(t + (<usize>i << 2)) != 0) i = (i + 1) & mask;
      store<u32>(t + (<usize>i << 2), <u32>n);
    }
    budgetFree(this.table, <usize>this.tableCap << 2);
    this.table = t;
    this.tableCap = cap;
    return true;
  }

  private dropTable(): void {
    budgetFree(this.table, <usize>this.tableCap << 2);
    this.table = 0;
    this.tableCap = 0;
    this.tableCount = 0;
  }

  /**
   * Makes sure the next inserts totalling at most `bytes` (sum of worstCaseInsertBytes)
   * allocate nothing, by opening a fresh chunk now if the current one is too short. This is
   * how a write is refused with OUT_OF_MEMORY before it changes anything: once reserved,
   * `add` cannot fail. Returns false (nothing changed) when memory is refused: when a chunk
   * would pass the cap minus `leave`, or, with room in the current chunk, when not even
   * `leave` is free (the engine's admission rule: memory-budget.ts, "Reserves").
   */
  reserve(bytes: u64, leave: u64): bool {
    if (<u64>(this.end - this.cur) >= bytes) return canAllocate(leave);
    if (bytes > <u64>0x3fffffff) return false;
    let want = <usize>bytes;
    let csize = want > this.chunkBytes ? want : this.chunkBytes;
    if (!canAllocate(<u64>csize + leave)) csize = want;
    if (!canAllocate(<u64>csize + leave)) return false;
    let c = budgetAlloc(csize);
    if (c == 0) return false;
    this.chunks.push(c);
    this.chunkSizes.push(csize);
    this.cur = c;
    this.end = c + csize;
    return true;
  }

  /** Bytes free in the current chunk: inserts totalling at most this (sum of
   *  worstCaseInsertBytes) allocate nothing. */
  room(): u64 { return <u64>(this.end - this.cur); }

  private arenaAlloc(size: usize): usize {
    if (this.cur + size > this.end) {
      let csize = size > this.chunkBytes ? size : this.chunkBytes;
      let c = budgetAlloc(csize);
      if (c == 0) return 0;
      this.chunks.push(c);
      this.chunkSizes.push(csize);
      this.cur = c;
      this.end = c + csize;
    }
    let p = this.cur;
    this.cur += size;
    return p;
  }

  private randomHeight(): u32 {
    let h: u32 = 1;
    let x = this.rng;
    while (h < MAX_HEIGHT) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      if ((x & 3) != 0) break; // branching factor 4
      h++;
    }
    this.rng = x;
    return h;
  }

  /** Inserts a new version. Returns false (nothing changed) when out of memory. */
  add(key: usize, klen: u32, tag: u64, val: usize, vlen: u32): bool {
    let height = this.randomHeight();
    let size = nodeSize(height, klen, vlen);
    let n = this.arenaAlloc(size);
    if (n == 0) return false;
    store<u64>(n, tag);
    store<u32>(n, klen, 8);
    store<u32>(n, vlen, 12);
    store<u32>(n, height, 16);
    let kp = n + NODE_HEADER + (height << 2);
    memory.copy(kp, key, klen);
    memory.copy(kp + klen, val, vlen);
    let prev = memtablePrevScratch;
    if (height > this.maxLevel) {
      for (let l = this.maxLevel; l < height; l++) store<u32>(prev + (l << 2), <u32>this.head);
      this.maxLevel = height;
    }
    this.lastBefore(kp, klen, tag, prev);
    for (let l: u32 = 0; l < height; l++) {
      let p = <usize>load<u32>(prev + (l << 2));
      setNodeNext(n, l, nodeNext(p, l));
      setNodeNext(p, l, n);
    }
    this.index(n);
    this.bytes += <u64>size;
    this.entries++;
    this.userBytes += <u64>klen + <u64>vlen;
    return true;
  }

  /** Adds the range tombstone [from, to) at `seq`: a node of height 1 (from as its key, to
   *  as its value) in the arena, never linked, so point reads and iterators do not meet it,
   *  and a batch's reservation (worstCaseInsertBytes) covers it. False when out of memory. */
  addRangeDel(from: usize, fl: u32, to: usize, tl: u32, seq: u64): bool {
    let size = nodeSize(1, fl, tl);
    let n = this.arenaAlloc(size);
    if (n == 0) return false;
    store<u64>(n, seq << 8);
    store<u32>(n, fl, 8);
    store<u32>(n, tl, 12);
    store<u32>(n, 1, 16);
    let kp = n + NODE_HEADER + 4;
    memory.copy(kp, from, fl);
    memory.copy(kp + fl, to, tl);
    this.rangeDels.push(kp, fl, kp + fl, tl, seq);
    noteRangeDels(1);
    this.bytes += <u64>size;
    this.entries++; // so a memtable holding only tombstones is flushed
    this.userBytes += <u64>fl + <u64>tl;
    return true;
  }

  /** The newest entry for `key` with tag <= maxTag, or 0. */
  find(key: usize, klen: u32, maxTag: u64): usize {
    if (this.table != 0) {
      let mask = this.tableCap - 1;
      let i = hash32(key, klen) & mask;
      while (true) {
        let m = <usize>load<u32>(this.table + (<usize>i << 2));
        if (m == 0) return 0;
        if (equalBytes(nodeKey(m), nodeKeyLen(m), key, klen)) {
          // Versions of the key follow on level 0, newest first.
          while (m != 0 && nodeTag(m) > maxTag) {
            m = nodeNext(m, 0);
            if (m != 0 && !equalBytes(nodeKey(m), nodeKeyLen(m), key, klen)) return 0;
          }
          return m;
        }
        i = (i + 1) & mask;
      }
    }
    let n = nodeNext(this.lastBefore(key, klen, maxTag), 0);
    if (n != 0 && nodeKeyLen(n) == klen && compareInternal(nodeKey(n), klen, 0, key, klen, 0) == 0) return n;
    return 0;
  }

  /** Last node < (key, tag); the head when none. With `prev` (MAX_HEIGHT slots), also
   *  stores the last node < (key, tag) at every level there (add links a node after them). */
  lastBefore(key: usize, klen: u32, tag: u64, prev: usize = 0): usize {
    let x = this.head;
    let level = this.maxLevel - 1;
    while (true) {
      let nx = nodeNext(x, level);
      if (nx != 0 && compareInternal(nodeKey(nx), nodeKeyLen(nx), nodeTag(nx), key, klen, tag) < 0) {
        x = nx;
      } else {
        if (prev != 0) store<u32>(prev + (level << 2), <u32>x);
        if (level == 0) return x;
        level--;
      }
    }
  }

  lastNode(): usize {
    let x = this.head;
    let level = this.maxLevel - 1;
    while (true) {
      let nx = nodeNext(x, level);
      if (nx != 0) { x = nx; }
      else { if (level == 0) return x; level--; }
    }
  }

  firstNode(): usize { return nodeNext(this.head, 0); }
  headNode(): usize { return this.head; }

  unref(): void {
    if (--this.refs > 0) return;
    if (this.rangeDels.count > 0) { noteRangeDels(-this.rangeDels.count); this.rangeDels = new RangeDels(); }
    for (let i = 0; i < this.chunks.length; i++) budgetFree(unchecked(this.chunks[i]), unchecked(this.chunkSizes[i]));
    this.chunks.length = 0;
    this.chunkSizes.length = 0;
    budgetFree(this.head, HEAD_BYTES);
    this.head = 0;
    if (this.table != 0) this.dropTable();
  }
}

const INITIAL_TABLE: u32 = 1024;

function allocTable(cap: u32): usize {
  let t = budgetAlloc(<usize>cap << 2);
  if (t != 0) memory.fill(t, 0, <usize>cap << 2);
  return t;
}

/** Scratch for lastBefore's per-level predecessors (add); the engine is single-threaded. */
const memtablePrevScratch: usize = memory.data(MAX_HEIGHT * 4, 8);

export function entryTag(n: usize): u64 { return nodeTag(n); }
export function entryKey(n: usize): usize { return nodeKey(n); }
export function entryKeyLen(n: usize): u32 { return nodeKeyLen(n); }
export function entryVal(n: usize): usize { return nodeKey(n) + nodeKeyLen(n); }
export function entryValLen(n: usize): u32 { return nodeValLen(n); }

export class MemtableIterator extends InternalIterator {
  private node: usize = 0;
  constructor(private mem: Memtable) { super(); }

  private load(n: usize): void {
    if (n == 0 || n == this.mem.headNode()) { this.valid = false; this.node = 0; return; }
    this.node = n;
    this.valid = true;
    this.tag = nodeTag(n);
    this.keyPtr = nodeKey(n);
    this.keyLen = nodeKeyLen(n);
    this.valPtr = this.keyPtr + this.keyLen;
    this.valLen = nodeValLen(n);
  }

  seekGE(key: usize, klen: u32, tag: u64): void {
    let prevNode = this.mem.lastBefore(key, klen, tag);
    this.load(nodeNext(prevNode, 0));
  }
  seekLT(key: usize, klen: u32, tag: u64): void { this.load(this.mem.lastBefore(key, klen, tag)); }
  seekToFirst(): void { this.load(this.mem.firstNode()); }
  seekToLast(): void { this.load(this.mem.lastNode()); }
  next(): void { this.load(nodeNext(this.node, 0)); }
  prev(): void { this.load(this.mem.lastBefore(this.keyPtr, this.keyLen, this.tag)); }
}
