// A data block: a byte image holding sorted internal entries (docs/ABI.md, "Run layout").
//
//   entry*             tag u64 LE | keyLen varint32 | valLen varint32 | key | value
//   [hash index]       bucket u8 × B, then B u16: only when n's top bit is set (below)
//   offsets  u32 × n   offset of each entry from the block start (every entry is a
//                      restart point: binary search and reverse steps need no scan)
//   n        u32       entries; bit 31 set: the block has a hash index (format versions 5, 6)
//   checksum u32       of every byte before it (filled in the file image only): XXH64's
//                      low 32 bits, or CRC-32C in files of format versions 1 and 2
//
// The hash index is RocksDB's data block hash index: a point lookup hashes the user key
// (the hash its bloom probe already made) to one of B ≈ 4n/3 buckets, which holds the index
// of the key's first entry in the block (its newest version), BUCKET_EMPTY (no entry of a
// key with that bucket: the key is not in the block) or BUCKET_COLLISION (two keys share it:
// binary search). It replaces the binary search's ~5 entry decodes, each a cache miss in
// another part of the block, by one bucket byte and one entry. A block of more than
// MAX_INDEXED entries has none: a bucket holds an entry index below BUCKET_EMPTY.
//
// Keys are not prefix-compressed: lookups and reverse iteration stay O(log n) and
// branch-light; the cost is bytes, which compression of whole blocks can win back later.
import { putVarint32, readVarint32, varintValue, varint32Size, hash32, equalBytes } from "./bytes";
import { compareInternal } from "./internal-key";
import { budgetAlloc, budgetFree, grownCapacity } from "./memory-budget";

export const BLOCK_TRAILER: u32 = 8; // n + crc

/** Bit 31 of a block's n: the block has a hash index. */
export const HASH_INDEX_FLAG: u32 = 0x80000000;
/** A bucket that no key of the block hashes to, and one that two or more keys share. */
export const BUCKET_EMPTY: u8 = 254;
export const BUCKET_COLLISION: u8 = 255;
/** The most entries a block with a hash index holds (bucket values 0..MAX_INDEXED - 1). */
export const MAX_INDEXED: u32 = 254;

/** Buckets of the hash index of a block of n entries (RocksDB's default: used 3/4 full). */
// @ts-ignore: decorator
@inline export function bucketCount(n: u32): u32 { return n + (n + 2) / 3; }
/** Hash-index bytes (buckets and their count) of a block of n entries; 0 past MAX_INDEXED. */
// @ts-ignore: decorator
@inline export function hashIndexBytes(n: u32): u32 { return n == 0 || n > MAX_INDEXED ? 0 : bucketCount(n) + 2; }
/** The bucket of `hash` among `buckets` (a multiply-shift, not a division). */
// @ts-ignore: decorator
@inline export function bucketOf(hash: u32, buckets: u32): u32 { return <u32>((<u64>hash * <u64>buckets) >>> 32); }
/** The bucket `hash` falls in, in the hash index that ends where a block's offsets begin
 *  (its bucket count, a u16, just before them). REQUIRES: the block has a hash index. */
// @ts-ignore: decorator
@inline export function bucketAt(offsets: usize, hash: u32): u8 {
  let nb = <u32>load<u16>(offsets - 2);
  return load<u8>(offsets - 2 - <usize>nb + <usize>bucketOf(hash, nb));
}

/** Accumulates entries for one block in a growable buffer that is reused across blocks.
 *  The entry offsets go to a second raw buffer (an Array's push cost more than the copy). */
export class BlockBuilder {
  buf: usize = 0;
  cap: usize = 0;
  size: usize = 0;
  private offs: usize = 0;
  private offsCap: u32 = 0;
  private count: u32 = 0;

  /** Bytes the finished block would take. */
  estimate(): usize { return this.size + <usize>hashIndexBytes(this.count) + (<usize>this.count << 2) + BLOCK_TRAILER; }
  isEmpty(): bool { return this.count == 0; }

  private reserve(extra: usize): bool {
    let need = <u64>this.size + <u64>extra;
    if (need > <u64>this.cap) {
      let ncap = grownCapacity(this.cap, need, 4096);
      let nb = ncap == 0 ? <usize>0 : budgetAlloc(ncap);
      if (nb == 0) return false;
      if (this.buf != 0) {
        memory.copy(nb, this.buf, this.size);
        budgetFree(this.buf, this.cap);
      }
      this.buf = nb;
      this.cap = ncap;
    }
    if (this.count >= this.offsCap) {
      let ncap: u32 = this.offsCap < 256 ? 256 : this.offsCap << 1;
      let no = budgetAlloc(<usize>ncap << 2);
      if (no == 0) return false;
      if (this.offs != 0) {
        memory.copy(no, this.offs, <usize>this.count << 2);
        budgetFree(this.offs, <usize>this.offsCap << 2);
      }
      this.offs = no;
      this.offsCap = ncap;
    }
    return true;
  }

  /** Appends an entry; returns the offset of its key inside the block, or -1 when out of memory. */
  add(key: usize, klen: u32, tag: u64, val: usize, vlen: u32): i64 {
    let need = <usize>(8 + varint32Size(klen) + varint32Size(vlen)) + <usize>klen + <usize>vlen;
    if (!this.reserve(need)) return -1;
    let p = this.buf + this.size;
    store<u32>(this.offs + (<usize>this.count << 2), <u32>this.size);
    this.count++;
    store<u64>(p, tag);
    let q = p + 8;
    if (klen < 0x80) { store<u8>(q, <u8>klen); q++; } else q += putVarint32(q, klen);
    if (vlen < 0x80) { store<u8>(q, <u8>vlen); q++; } else q += putVarint32(q, vlen);
    let keyOff = <i64>(q - this.buf);
    memory.copy(q, key, klen);
    memory.copy(q + klen, val, vlen);
    this.size += need;
    return keyOff;
  }

  /** Copies the finished block into a fresh allocation of exactly `estimate()` bytes
   *  (0 when out of memory) and resets the builder. */
  finish(): usize {
    let total = this.estimate();
    let out = budgetAlloc(total);
    if (out == 0) return 0;
    memory.copy(out, this.buf, this.size);
    let p = out + this.size;
    let n = this.count;
    let flag: u32 = 0;
    if (hashIndexBytes(n) > 0) {
      writeHashIndex(p, this.buf, this.offs, n);
      p += <usize>hashIndexBytes(n);
      flag = HASH_INDEX_FLAG;
    }
    memory.copy(p, this.offs, <usize>n << 2);
    p += <usize>n << 2;
    store<u32>(p, n | flag);
    // The checksum is computed when the block is written to a file (run-file.ts): an
    // in-memory block is never read back from anywhere that could damage it, and summing
    // every block of every flush and compaction cost an eighth of the write path.
    store<u32>(p + 4, 0);
    this.size = 0;
    this.count = 0;
    return out;
  }

  release(): void {
    budgetFree(this.buf, this.cap);
    budgetFree(this.offs, <usize>this.offsCap << 2);
    this.buf = 0;
    this.cap = 0;
    this.size = 0;
    this.offs = 0;
    this.offsCap = 0;
    this.count = 0;
  }
}

/** Number of entries in the block image at (p, len). */
// @ts-ignore: decorator
@inline export function blockCount(p: usize, len: u32): u32 { return load<u32>(p + len - BLOCK_TRAILER) & ~HASH_INDEX_FLAG; }

/** Writes the hash index of the n entries at `entries` (offsets u32 × n at `offs`) to `p`:
 *  bucketCount(n) buckets, then that count as a u16. Each key's bucket gets the index of
 *  its first entry (versions of a key are adjacent, newest first). */
export function writeHashIndex(p: usize, entries: usize, offs: usize, n: u32): void {
  let nb = bucketCount(n);
  memory.fill(p, BUCKET_EMPTY, nb);
  let prevKey: usize = 0, prevLen: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let q = readVarint32(entries + <usize>load<u32>(offs + (<usize>i << 2)) + 8);
    let kl = varintValue;
    q = readVarint32(q);
    if (i > 0 && equalBytes(q, kl, prevKey, prevLen)) continue; // an older version
    prevKey = q; prevLen = kl;
    let slot = p + <usize>bucketOf(hash32(q, kl), nb);
    store<u8>(slot, load<u8>(slot) == BUCKET_EMPTY ? <u8>i : BUCKET_COLLISION);
  }
  store<u16>(p + nb, <u16>nb);
}


/** A cursor over one block; `decode(i)` fills the entry fields. */
export class BlockCursor {
  block: usize = 0;
  offsets: usize = 0;
  count: u32 = 0;
  /** The block has a hash index (bucketAt reads it, from `offsets`). */
  hashed: bool = false;
  index: u32 = 0;
  tag: u64 = 0;
  keyPtr: usize = 0;
  keyLen: u32 = 0;
  valPtr: usize = 0;
  valLen: u32 = 0;

  reset(block: usize, len: u32): void {
    this.block = block;
    let n = load<u32>(block + len - BLOCK_TRAILER);
    this.count = n & ~HASH_INDEX_FLAG;
    this.offsets = block + len - BLOCK_TRAILER - (<usize>this.count << 2);
    this.hashed = (n & HASH_INDEX_FLAG) != 0;
  }

  decode(i: u32): void {
    this.index = i;
    let p = this.block + <usize>load<u32>(this.offsets + (<usize>i << 2));
    this.tag = load<u64>(p);
    p = readVarint32(p + 8);
    this.keyLen = varintValue;
    p = readVarint32(p);
    this.valLen = varintValue;
    this.keyPtr = p;
    this.valPtr = p + this.keyLen;
  }

  /** Index of the first entry >= (key, tag); `count` when none. */
  lowerBound(key: usize, klen: u32, tag: u64): u32 {
    let lo: u32 = 0, hi = this.count;
    while (lo < hi) {
      let mid = (lo + hi) >>> 1;
      this.decode(mid);
      if (compareInternal(this.keyPtr, this.keyLen, this.tag, key, klen, tag) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Decodes the newest entry of `key` (whose hash32 is `hash`) with a tag <= `tag`, and
   *  returns true; false when the block holds none. REQUIRES: the block is the run's first
   *  whose last internal key is >= (key, tag) (Run.findBlock), so a key's versions newer
   *  than `tag` cannot fill the block's end. */
  seek(key: usize, klen: u32, hash: u32, tag: u64): bool {
    let i: u32;
    if (this.hashed) {
      let b = bucketAt(this.offsets, hash);
      if (b == BUCKET_EMPTY) return false;
      if (b != BUCKET_COLLISION) {
        // The key's first entry, if the bucket is the key's and not another's: then its
        // versions from the newest, to the first old enough.
        for (i = b; i < this.count; i++) {
          this.decode(i);
          if (!equalBytes(this.keyPtr, this.keyLen, key, klen)) return false;
          if (this.tag <= tag) return true;
        }
        return false;
      }
    }
    i = this.lowerBound(key, klen, tag);
    if (i >= this.count) return false;
    this.decode(i);
    return equalBytes(this.keyPtr, this.keyLen, key, klen);
  }
}
