// Checks of a data block's bytes (docs/FORMAT.md, "Run file"), shared by the two places
// that read blocks from outside: a run file's image checked whole (run-file.ts) and a block
// read on demand (run.ts acquireBlock, RunIterator). A leaf below run.ts, run-file.ts and
// block-cache.ts, so none of them imports another for it.
// INVARIANT: a block that passes has every offset and entry inside it, so no read of it can
// leave the block.
import { BLOCK_TRAILER, HASH_INDEX_FLAG, MAX_INDEXED, BUCKET_EMPTY, BUCKET_COLLISION, bucketCount, writeHashIndex } from "./block";
import { crc32c, readVarint32, varintValue } from "./bytes";
import { xxh64Low32 } from "./xxhash64";
import { compareInternal, tagKind, KIND_DELETE, KIND_PUT, KIND_MERGE } from "./internal-key";

/** Why a block or an image is damaged: a CORRUPTION's `what` (docs/ABI.md). */
export const CORRUPT_FOOTER: i32 = 1;
export const CORRUPT_INDEX: i32 = 2;
export const CORRUPT_BLOOM: i32 = 3;
export const CORRUPT_BLOCK: i32 = 4;
export const CORRUPT_ORDER: i32 = 5;
export const CORRUPT_RANGE_DEL: i32 = 6;

/** A run file's checksum kind (docs/FORMAT.md, "Run file"), one for all its blocks: CRC-32C
 *  in format versions 1 and 2, XXH64's low 32 bits from 3 on. Files of both kinds live side
 *  by side after an upgrade (a compaction rewrites old ones in the new kind), so every reader
 *  of a block knows its run's kind (Run.checksum). */
export const CHECKSUM_CRC32C: u8 = 0;
export const CHECKSUM_XXH64: u8 = 1;

/** The checksum of kind `kind` of the `len` bytes at `p`. */
export function blockChecksum(kind: u8, p: usize, len: u32): u32 {
  return kind == CHECKSUM_XXH64 ? xxh64Low32(p, len) : crc32c(p, len);
}

/** The last entry checkBlock met (key pointer into its block): carried across blocks for
 *  the order check, and read by run-file.ts against the index. */
export let prevKey: usize = 0;
export let prevLen: u32 = 0;
export let prevTag: u64 = 0;
let hasPrev = false;
/** Entries and tombstones checkBlock has met with checkOrder (a whole-file check), for the
 *  footer's counts: the footer has no checksum of its own. */
export let seenEntries: u64 = 0;
export let seenTombstones: u64 = 0;
/** Merge operands checkBlock has met with checkOrder (the footer's flag bit 0 must match). */
export let seenMerges: u64 = 0;

/** Starts a whole-file check: no previous entry, nothing counted. */
export function beginOrderCheck(): void {
  hasPrev = false;
  seenEntries = 0;
  seenTombstones = 0;
  seenMerges = 0;
}

/** After verifyBlock returned 0: the block's last entry (key pointer into the block). */
export let lastEntryKey: usize = 0;
export let lastEntryLen: u32 = 0;
export let lastEntryTag: u64 = 0;

/** Checks one block on its own (a block read on demand, run.ts acquireBlock): every offset and
 *  entry inside the block, so no read can leave it. Key order is not compared here (that
 *  is `strata verify`'s whole-file check): the block's checksum has already been checked,
 *  and this runs on every block read. Returns 0 or a CORRUPT_* code; on 0, lastEntry* is
 *  the block's last entry. */
export function verifyBlock(b: usize, len: u32): i32 {
  hasPrev = false;
  let st = checkBlock(b, len, false);
  lastEntryKey = prevKey; lastEntryLen = prevLen; lastEntryTag = prevTag;
  return st;
}

/** A block's layout, as blockLayout found it: its entry count, where its offsets begin, and
 *  its hash index's buckets and their number (0 without one). */
let layoutCount: u32 = 0;
let layoutOffsets: usize = 0;
let layoutBuckets: usize = 0;
let layoutBucketN: u32 = 0;

/** Reads the trailer of the block (b, len) into layout*: returns where its entries end (its
 *  hash index or its offsets begin), or 0 when the count, a hash index the block may not
 *  have (`indexAllowed` false: a file of format version 4 or older), the index's size or
 *  one of its buckets is out of bounds. */
function blockLayout(b: usize, len: u32, indexAllowed: bool): usize {
  if (len < BLOCK_TRAILER) return 0;
  let raw = load<u32>(b + len - BLOCK_TRAILER);
  let n = raw & ~HASH_INDEX_FLAG;
  if (n == 0 || <u64>n * 4 + <u64>BLOCK_TRAILER > <u64>len) return 0;
  let offsets = b + len - BLOCK_TRAILER - (<usize>n << 2);
  layoutCount = n;
  layoutOffsets = offsets;
  layoutBuckets = 0;
  layoutBucketN = 0;
  if ((raw & HASH_INDEX_FLAG) == 0) return offsets;
  // Our writer's index (block.ts): exactly bucketCount(n) buckets, each an entry or a marker.
  if (!indexAllowed || n > MAX_INDEXED) return 0;
  let nb = bucketCount(n);
  if (<u64>n * 4 + <u64>BLOCK_TRAILER + 2 + <u64>nb > <u64>len || <u32>load<u16>(offsets - 2) != nb) return 0;
  let buckets = offsets - 2 - <usize>nb;
  for (let i: u32 = 0; i < nb; i++) {
    let v = load<u8>(buckets + i);
    if (<u32>v >= n && v != BUCKET_EMPTY && v != BUCKET_COLLISION) return 0;
  }
  layoutBuckets = buckets;
  layoutBucketN = nb;
  return buckets;
}

/** Scratch for a hash index rebuilt to compare (at most bucketCount(MAX_INDEXED) + 2 bytes). */
const rebuilt = memory.data(512);

/** A block of a run this process built (a background job's output, its checksum checked):
 *  only its last entry is decoded, bounds checked, into prevKey / prevLen / prevTag, as
 *  checkBlock leaves them. 0, or CORRUPT_BLOCK. */
export function lastEntryOf(b: usize, len: u32): i32 {
  let entriesEnd = blockLayout(b, len, true);
  if (entriesEnd == 0) return CORRUPT_BLOCK;
  let n = layoutCount;
  let e = b + <usize>load<u32>(layoutOffsets + (<usize>(n - 1) << 2));
  if (e + 10 > entriesEnd) return CORRUPT_BLOCK;
  let q = readVarint32(e + 8);
  let kl = varintValue;
  if (q >= entriesEnd) return CORRUPT_BLOCK;
  q = readVarint32(q);
  if (<u64>q + <u64>kl + <u64>varintValue > <u64>entriesEnd) return CORRUPT_BLOCK;
  prevKey = q; prevLen = kl; prevTag = load<u64>(e); hasPrev = true;
  return 0;
}

/** Checks one data block's structure: its trailer and hash index in bounds, offsets inside
 *  the entry area, every entry inside its block, and (checkOrder: a whole-file check) entries
 *  in strictly increasing internal-key order across the whole file since beginOrderCheck, and
 *  the hash index exactly what the entries give. `indexAllowed`: the block may have a hash
 *  index (format version 5 or 6). Returns 0 or a CORRUPT_* code. */
export function checkBlock(b: usize, len: u32, checkOrder: bool = true, indexAllowed: bool = true): i32 {
  let entriesEnd = blockLayout(b, len, indexAllowed);
  if (entriesEnd == 0) return CORRUPT_BLOCK;
  let n = layoutCount;
  let offsets = layoutOffsets;
  for (let i: u32 = 0; i < n; i++) {
    let off = <usize>load<u32>(offsets + (<usize>i << 2));
    let e = b + off;
    if (e + 10 > entriesEnd) return CORRUPT_BLOCK; // tag + two one-byte varints at least
    let tag = load<u64>(e);
    // Kinds an entry may have: tombstone, put, merge operand (internal-key.ts).
    let kind = tagKind(tag);
    if (kind > KIND_PUT && kind != KIND_MERGE) return CORRUPT_BLOCK;
    let q = readVarint32(e + 8);
    let kl = varintValue;
    if (q >= entriesEnd) return CORRUPT_BLOCK;
    q = readVarint32(q);
    let vl = varintValue;
    if (<u64>q + <u64>kl + <u64>vl > <u64>entriesEnd) return CORRUPT_BLOCK;
    if (checkOrder) {
      if (hasPrev && compareInternal(prevKey, prevLen, prevTag, q, kl, tag) >= 0) return CORRUPT_ORDER;
      seenEntries++;
      if (kind == KIND_DELETE) seenTombstones++;
      else if (kind == KIND_MERGE) seenMerges++;
    }
    prevKey = q; prevLen = kl; prevTag = tag; hasPrev = true;
  }
  // Every entry is in bounds: the index can be rebuilt from them and must match byte for byte.
  if (checkOrder && layoutBucketN != 0) {
    let nb = layoutBucketN;
    writeHashIndex(rebuilt, b, offsets, n);
    if (memory.compare(rebuilt, layoutBuckets, <usize>nb + 2) != 0) return CORRUPT_BLOCK;
  }
  return 0;
}
