// A data block: a byte image holding sorted internal entries (docs/ABI.md, "Run layout").
//
//   entry*             tag u64 LE | keyLen varint32 | valLen varint32 | key | value
//   offsets  u32 × n   offset of each entry from the block start (every entry is a
//                      restart point: binary search and reverse steps need no scan)
//   n        u32
//   checksum u32       of every byte before it (filled in the file image only): XXH64's
//                      low 32 bits, or CRC-32C in files of format versions 1 and 2
//
// Keys are not prefix-compressed: lookups and reverse iteration stay O(log n) and
// branch-light; the cost is bytes, which compression of whole blocks can win back later.
import { putVarint32, readVarint32, varintValue, varint32Size } from "./bytes";
import { compareInternal } from "./internal-key";
import { budgetAlloc, budgetFree, grownCapacity } from "./memory-budget";

export const BLOCK_TRAILER: u32 = 8; // n + crc

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
  estimate(): usize { return this.size + (<usize>this.count << 2) + BLOCK_TRAILER; }
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
    memory.copy(p, this.offs, <usize>n << 2);
    p += <usize>n << 2;
    store<u32>(p, n);
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
@inline export function blockCount(p: usize, len: u32): u32 { return load<u32>(p + len - BLOCK_TRAILER); }


/** A cursor over one block; `decode(i)` fills the entry fields. */
export class BlockCursor {
  block: usize = 0;
  offsets: usize = 0;
  count: u32 = 0;
  index: u32 = 0;
  tag: u64 = 0;
  keyPtr: usize = 0;
  keyLen: u32 = 0;
  valPtr: usize = 0;
  valLen: u32 = 0;

  reset(block: usize, len: u32): void {
    this.block = block;
    this.count = blockCount(block, len);
    this.offsets = block + len - BLOCK_TRAILER - (<usize>this.count << 2);
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
}
