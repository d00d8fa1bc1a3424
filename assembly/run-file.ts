// The run file image (docs/FORMAT.md, "Run file"): a run's data blocks end to end, an index
// block, a bloom block, in format versions 2, 4 and 6 a range-del block, and a 48-byte footer.
// Versions 3 and 4 are 1 and 2 with every checksum XXH64 (its low 32 bits) instead of
// CRC-32C; 5 and 6 are 3 and 4 whose data blocks may carry a hash index (block.ts). This
// writes 5 (no range tombstones) or 6, and reads all six, since a store upgraded in place
// holds files of several kinds until compactions have rewritten the old ones.
// Readers from before a version refuse it (CORRUPTION, bad footer) rather than misread it.
// `writeRunImage` lays a run out for the host to
// write to a file; `readRunImage` rebuilds a run from such an image, checking every
// checksum and every structural bound first, so a damaged or hostile file yields
// CORRUPTION with an offset, never an out-of-bounds read or a trap.
import { BLOCK_TRAILER, BlockCursor } from "./block";
import { compareBytes, keyPrefix } from "./bytes";
import {
  CORRUPT_FOOTER, CORRUPT_INDEX, CORRUPT_BLOOM, CORRUPT_BLOCK, CORRUPT_RANGE_DEL, checkBlock, lastEntryOf, beginOrderCheck, prevKey, prevLen, prevTag,
  seenEntries, seenTombstones, seenMerges, CHECKSUM_CRC32C, CHECKSUM_XXH64, blockChecksum,
} from "./block-check";
import { xxh64Low32 } from "./xxhash64";
import { budgetAlloc, copyBound } from "./memory-budget";
import { Run, acquireBlock } from "./run";
import { releaseBlock } from "./block-cache";
import { RangeDels } from "./range-del";

export const FOOTER_BYTES: u32 = 48;
const MAGIC: u32 = 0x53524e31;
/** Versions 1, 3 and 5: no range-del block. Versions 2, 4 and 6: a range-del block between
 *  bloom and footer. Checksums: CRC-32C in 1 and 2, XXH64 (low 32 bits, seed 0) from 3 on.
 *  Data blocks with a hash index: from 5 on. */
const FORMAT_CRC32C: u16 = 1;
const FORMAT_XXH64: u16 = 3;
const FORMAT_HASH_INDEX: u16 = 5;
const FORMAT_VERSION: u16 = 5;
const FORMAT_VERSION_RANGE_DEL: u16 = 6;
/** Footer flags (u16 at 42; 0 before merge operands existed, and readers of that time refuse
 *  any other value: CORRUPTION, bad footer, rather than read operands as values). Bit 0: the
 *  run holds merge operands (entries of kind 4). */
const FLAG_MERGE_OPERANDS: u16 = 1;

/** Bytes of the range-del block of `run`: 0 without tombstones, else
 *  (seq u64 | fromLen u32 | toLen u32 | from | to) × n | n u32 | crc u32. */
function rangeDelBytes(run: Run): u64 {
  let rd = run.rangeDels;
  if (rd == null) return 0;
  return rd.keyBytes() + 16 * <u64>rd.count + 8;
}

/** Why an image was refused (a block-check.ts CORRUPT_* code), with where (`corruptAt`, a
 *  byte offset in the image). */
export let corruptWhat: i32 = 0;
export let corruptAt: u64 = 0;

function fail(what: i32, at: u64): Run | null {
  corruptWhat = what;
  corruptAt = at;
  return null;
}

function indexBytes(run: Run): u64 {
  let n: u64 = 8;
  for (let i = 0; i < run.blockCount(); i++) n += 24 + <u64>unchecked(run.lastKeyLen[i]);
  return n;
}

export function runImageSize(run: Run): u64 {
  let n: u64 = 0;
  for (let i = 0; i < run.blockCount(); i++) n += <u64>unchecked(run.blockLen[i]);
  return n + runTailSize(run);
}

/** Writes the image of `run` at `out` (runImageSize(run) bytes). */
export function writeRunImage(run: Run, out: usize): void {
  writeRunBlocks(run, 0, 0xffffffffffffffff, out); // every block: no limit
  writeRunTail(run, out + <usize>chunkBytes);
}

/** Bytes writeRunBlocks wrote last. */
export let chunkBytes: u64 = 0;

/**
 * The image's data blocks from block `from` on, as many whole blocks as fit `maxBytes`, with
 * their checksums: the host writes a run file a chunk at a time, so no write pays for a whole
 * run. Returns how many blocks were written: 0 past the last block, or when block `from`
 * alone is larger than maxBytes (then chunkBytes is its length). The file offset of block
 * `from` is the sum of the lengths before it.
 */
export function writeRunBlocks(run: Run, from: i32, maxBytes: u64, out: usize): i32 {
  let p = out;
  let nb = run.blockCount();
  let i = from;
  while (i < nb) {
    let len = unchecked(run.blockLen[i]);
    if (<u64>(p - out) + <u64>len > maxBytes) break;
    memory.copy(p, unchecked(run.blockPtr[i]), len);
    store<u32>(p + len - 4, xxh64Low32(p, len - 4));
    p += len;
    i++;
  }
  chunkBytes = i == from && i < nb ? <u64>unchecked(run.blockLen[i]) : <u64>(p - out);
  return i - from;
}

/** Bytes of the image after the data blocks: index, bloom and footer. */
export function runTailSize(run: Run): u64 {
  return indexBytes(run) + <u64>run.bloomSize + 4 + rangeDelBytes(run) + FOOTER_BYTES;
}

/** Writes the index, bloom and footer (runTailSize bytes) at `out`. */
export function writeRunTail(run: Run, out: usize): void {
  let nb = run.blockCount();
  let blocksBytes: u64 = 0;
  for (let i = 0; i < nb; i++) blocksBytes += <u64>unchecked(run.blockLen[i]);
  let p = out;
  let indexOffset = blocksBytes;
  let index = p;
  let offset: u64 = 0;
  for (let i = 0; i < nb; i++) {
    let kl = unchecked(run.lastKeyLen[i]);
    store<u64>(p, offset);
    store<u32>(p, unchecked(run.blockLen[i]), 8);
    store<u64>(p, unchecked(run.lastTag[i]), 12);
    store<u32>(p, kl, 20);
    memory.copy(p + 24, unchecked(run.lastKeyPtr[i]), kl);
    offset += <u64>unchecked(run.blockLen[i]);
    p += 24 + <usize>kl;
  }
  store<u32>(p, <u32>nb);
  store<u32>(p, xxh64Low32(index, <u32>(p + 4 - index)), 4);
  p += 8;
  let bloomOffset = indexOffset + <u64>(p - index);
  memory.copy(p, run.bloom, run.bloomSize);
  store<u32>(p + run.bloomSize, xxh64Low32(p, <u32>run.bloomSize));
  p += run.bloomSize + 4;
  let rd = run.rangeDels;
  if (rd != null) {
    let block = p;
    for (let i = 0; i < rd.count; i++) {
      let fl = unchecked(rd.fromLen[i]), tl = unchecked(rd.toLen[i]);
      store<u64>(p, unchecked(rd.seq[i]));
      store<u32>(p, fl, 8);
      store<u32>(p, tl, 12);
      memory.copy(p + 16, unchecked(rd.fromPtr[i]), fl);
      memory.copy(p + 16 + fl, unchecked(rd.toPtr[i]), tl);
      p += 16 + <usize>fl + <usize>tl;
    }
    store<u32>(p, <u32>rd.count);
    store<u32>(p, xxh64Low32(block, <u32>(p + 4 - block)), 4);
    p += 8;
  }
  store<u64>(p, indexOffset);
  store<u32>(p, <u32>(bloomOffset - indexOffset), 8);
  store<u64>(p, bloomOffset, 12);
  store<u32>(p, <u32>(run.bloomSize + 4), 20);
  store<u64>(p, run.entries, 24);
  store<u64>(p, run.tombstones, 32);
  store<u16>(p, rd != null ? FORMAT_VERSION_RANGE_DEL : FORMAT_VERSION, 40);
  store<u16>(p, run.hasMerges ? FLAG_MERGE_OPERANDS : 0, 42);
  store<u32>(p, MAGIC, 44);
}

/** The footer parseFooter read last. */
let indexOffset: u64 = 0;
let indexLen: u64 = 0;
let bloomOffset: u64 = 0;
let bloomLen: u64 = 0;
/** Versions 2 and 4: where the range-del block lies (rdLen 0: none). */
let rdOffset: u64 = 0;
let rdLen: u64 = 0;
/** The file's format version and checksum kind (block-check.ts CHECKSUM_*). */
let version: u16 = 0;
let checksumKind: u8 = CHECKSUM_XXH64;

/** Reads and checks the footer at f of a run file of `fileSize` bytes; false (with
 *  corruptWhat/At set) when damaged. */
function parseFooter(f: usize, fileSize: u64): bool {
  corruptWhat = 0;
  if (fileSize < <u64>FOOTER_BYTES) { fail(CORRUPT_FOOTER, 0); return false; }
  let footerAt = fileSize - FOOTER_BYTES;
  version = load<u16>(f, 40);
  if (load<u32>(f, 44) != MAGIC || version < FORMAT_CRC32C || version > FORMAT_VERSION_RANGE_DEL || (load<u16>(f, 42) & ~FLAG_MERGE_OPERANDS) != 0) {
    fail(CORRUPT_FOOTER, footerAt);
    return false;
  }
  indexOffset = load<u64>(f);
  indexLen = <u64>load<u32>(f, 8);
  bloomOffset = load<u64>(f, 12);
  bloomLen = <u64>load<u32>(f, 20);
  // Offsets are checked before they are added: a hostile footer must not wrap around.
  if (indexOffset > footerAt || indexLen > footerAt || bloomOffset > footerAt || bloomLen > footerAt
      || indexLen < 8 || indexOffset + indexLen != bloomOffset || bloomLen < 5 || bloomOffset + bloomLen > footerAt) {
    fail(CORRUPT_FOOTER, footerAt);
    return false;
  }
  rdOffset = bloomOffset + bloomLen;
  rdLen = footerAt - rdOffset;
  // Odd versions have nothing between bloom and footer; even ones a range-del block (at
  // least one tombstone: 16 bytes, a 1-byte end at least (from < to, from may be empty),
  // then count and crc).
  let rangeDel = (version & 1) == 0;
  if (rangeDel ? rdLen < 25 : rdLen != 0) { fail(CORRUPT_FOOTER, footerAt); return false; }
  checksumKind = version >= FORMAT_XXH64 ? CHECKSUM_XXH64 : CHECKSUM_CRC32C;
  return true;
}

/** Checks the index and bloom checksums, given where they are in memory. */
function checkTail(index: usize, bloom: usize): bool {
  if (blockChecksum(checksumKind, index, <u32>indexLen - 4) != load<u32>(index + <usize>indexLen - 4)) { fail(CORRUPT_INDEX, indexOffset); return false; }
  let bloomSize = <usize>bloomLen - 4;
  if (blockChecksum(checksumKind, bloom, <u32>bloomSize) != load<u32>(bloom + bloomSize)) { fail(CORRUPT_BLOOM, bloomOffset); return false; }
  return true;
}

/**
 * The range-del block at `b` (rdLen bytes, file offset rdOffset), checked: its checksum,
 * every entry inside it and from < to. An owned RangeDels; null when damaged (corruptWhat
 * set) or memory is refused (corruptWhat 0).
 */
function readRangeDels(b: usize): RangeDels | null {
  let len = <usize>rdLen;
  if (blockChecksum(checksumKind, b, <u32>(len - 4)) != load<u32>(b + len - 4)) { fail(CORRUPT_RANGE_DEL, rdOffset); return null; }
  let n = load<u32>(b + len - 8);
  let end = b + len - 8;
  let out = new RangeDels();
  let q = b;
  for (let i: u32 = 0; i < n; i++) {
    if (q + 16 > end) { fail(CORRUPT_RANGE_DEL, rdOffset + <u64>(q - b)); return null; }
    let fl = load<u32>(q, 8), tl = load<u32>(q, 12);
    if (<u64>fl + <u64>tl > <u64>(end - q - 16)) { fail(CORRUPT_RANGE_DEL, rdOffset + <u64>(q - b)); return null; }
    let fp = q + 16, tp = fp + <usize>fl;
    if (compareBytes(fp, fl, tp, tl) >= 0) { fail(CORRUPT_RANGE_DEL, rdOffset + <u64>(q - b)); return null; }
    out.push(fp, fl, tp, tl, load<u64>(q));
    q = tp + <usize>tl;
  }
  if (n == 0 || q != end) { fail(CORRUPT_RANGE_DEL, rdOffset); return null; }
  // The keys move into an arena of the run's own (the image is the host's buffer).
  let size = <usize>(end - b);
  let arena = budgetAlloc(size);
  if (arena == 0) return null;
  memory.copy(arena, b, size);
  for (let i = 0; i < out.count; i++) {
    unchecked(out.fromPtr[i] = arena + (unchecked(out.fromPtr[i]) - b));
    unchecked(out.toPtr[i] = arena + (unchecked(out.toPtr[i]) - b));
  }
  out.own = arena;
  out.ownSize = size;
  return out;
}

/** Gives `run` the tombstones of the image's range-del block at `b`, if it has one; and to
 *  a run without blocks, its bounds from them (run-builder.ts tombstoneOnlyRun). False on
 *  damage or refused memory (corruptWhat says which). */
function takeRangeDels(run: Run, b: usize, nb: u32): bool {
  if (rdLen == 0) {
    if (nb == 0) { fail(CORRUPT_INDEX, indexOffset); return false; } // no entries and no tombstones
    return true;
  }
  let rd = readRangeDels(b);
  if (rd == null) return false;
  run.setRangeDels(rd);
  return nb != 0 || run.boundsFromRangeDels(rd);
}

/**
 * Rebuilds a run from the image at (p, len), copying it into per-block allocations.
 * Returns null on damage (corruptWhat / corruptAt say what and where) or when memory is
 * refused (corruptWhat = 0). `built`: the image is a background job's output, built by
 * this module in another instance of this process: checksums, the index and each block's
 * last entry are checked, not every entry (decoding them all was most of an install).
 */
export function readRunImage(p: usize, len: u64, id: u32, built: bool = false): Run | null {
  if (len < <u64>FOOTER_BYTES) return fail(CORRUPT_FOOTER, 0);
  let f = p + <usize>(len - FOOTER_BYTES);
  if (!parseFooter(f, len)) return null;
  let index = p + <usize>indexOffset;
  let bloom = p + <usize>bloomOffset;
  let bloomSize = <usize>bloomLen - 4;
  if (!checkTail(index, bloom)) return null;

  let nb = load<u32>(index + <usize>indexLen - 8);
  let run = new Run();
  run.id = id;
  run.refs = 1; // dropped below on failure, which frees what was copied so far
  run.entries = load<u64>(f, 24);
  run.tombstones = load<u64>(f, 32);
  run.hasMerges = (load<u16>(f, 42) & FLAG_MERGE_OPERANDS) != 0;
  run.checksum = checksumKind;
  beginOrderCheck();
  let q = index;
  let indexEnd = index + <usize>indexLen - 8;
  let expectOffset: u64 = 0;
  for (let i: u32 = 0; i < nb; i++) {
    if (q + 24 > indexEnd) { run.unref(); return fail(CORRUPT_INDEX, indexOffset + <u64>(q - index)); }
    let off = load<u64>(q);
    let blen = load<u32>(q, 8);
    let lastTag = load<u64>(q, 12);
    let kl = load<u32>(q, 20);
    if (q + 24 + <usize>kl > indexEnd || off != expectOffset || off + <u64>blen > indexOffset) {
      run.unref();
      return fail(CORRUPT_INDEX, indexOffset + <u64>(q - index));
    }
    let src = p + <usize>off;
    if (blen < BLOCK_TRAILER || blockChecksum(checksumKind, src, blen - 4) != load<u32>(src + blen - 4)) { run.unref(); return fail(CORRUPT_BLOCK, off); }
    let st = built ? lastEntryOf(src, blen) : checkBlock(src, blen, true, version >= FORMAT_HASH_INDEX);
    if (st != 0) { run.unref(); return fail(st, off); }
    // The index's last key must be the block's last entry (prevKey after checkBlock).
    if (lastTag != prevTag || compareBytes(q + 24, kl, prevKey, prevLen) != 0) {
      run.unref();
      return fail(CORRUPT_INDEX, indexOffset + <u64>(q - index));
    }
    let b = budgetAlloc(blen);
    if (b == 0) { run.unref(); return null; }
    memory.copy(b, src, blen);
    run.blockPtr.push(b);
    run.blockLen.push(blen);
    run.lastKeyPtr.push(b + (prevKey - src));
    run.lastKeyLen.push(prevLen);
    run.lastKeyPrefix.push(keyPrefix(prevKey, prevLen));
    run.lastTag.push(lastTag);
    run.bytes += <u64>blen + <u64>prevLen + 16;
    if (i == 0) {
      // The run's smallest key is the first entry of its first block.
      firstEntry.reset(b, blen);
      firstEntry.decode(0);
      run.smallest = copyBound(firstEntry.keyPtr, firstEntry.keyLen);
      run.smallestLen = firstEntry.keyLen;
      if (run.smallest == 0) { run.unref(); return null; }
    }
    expectOffset = off + <u64>blen;
    q += 24 + <usize>kl;
  }
  if (expectOffset != indexOffset || q != indexEnd) { run.unref(); return fail(CORRUPT_INDEX, indexOffset); }
  // The footer's counts are not checksummed: every entry was just read, so compare them.
  if (!built && (seenEntries != run.entries || seenTombstones != run.tombstones || (seenMerges > 0) != run.hasMerges)) { run.unref(); return fail(CORRUPT_FOOTER, len - FOOTER_BYTES); }
  if (nb > 0) {
    run.largest = copyBound(unchecked(run.lastKeyPtr[nb - 1]), unchecked(run.lastKeyLen[nb - 1]));
    run.largestLen = unchecked(run.lastKeyLen[nb - 1]);
    if (run.largest == 0) { run.unref(); return null; }
  }
  run.bloom = budgetAlloc(bloomSize);
  run.bloomSize = bloomSize;
  if (run.bloom == 0) { run.unref(); return null; }
  memory.copy(run.bloom, bloom, bloomSize);
  if (!takeRangeDels(run, p + <usize>rdOffset, nb)) { run.unref(); return null; }
  run.bytes += <u64>bloomSize + 64;
  run.refs = 0; // the caller's Version takes the first reference
  return run;
}

const firstEntry = new BlockCursor();

/** Where a run file's index starts, from its footer at f; -1 when the footer is damaged. */
export function runTailOffset(f: usize, fileSize: u64): i64 {
  return parseFooter(f, fileSize) ? <i64>indexOffset : -1;
}

/** The footer at f, checked as an import checks it, written at out as seven f64: index offset
 *  and length, bloom offset and length, entries, tombstones, format version; false when it
 *  is damaged. */
export function readFooter(f: usize, fileSize: u64, out: usize): bool {
  if (!parseFooter(f, fileSize)) return false;
  store<f64>(out, <f64>indexOffset);
  store<f64>(out, <f64>indexLen, 8);
  store<f64>(out, <f64>bloomOffset, 16);
  store<f64>(out, <f64>bloomLen, 24);
  store<f64>(out, <f64>load<u64>(f, 24), 32);
  store<f64>(out, <f64>load<u64>(f, 32), 40);
  store<f64>(out, <f64>version, 48);
  return true;
}

/**
 * A file-backed run from the tail of its file: (p, len) holds the file's last `len` bytes,
 * from at most its index offset (runTailOffset) to the end. The index and bloom are checked
 * and kept; data blocks stay in the file and are checked when read (run.ts acquireBlock). The
 * first block is read now, for the smallest key. Null on damage (corruptWhat / corruptAt,
 * or readStatus when the first block's read failed) or when memory is refused.
 */
export function readRunTail(p: usize, len: u64, fileSize: u64, id: u32): Run | null {
  if (len < <u64>FOOTER_BYTES || len > fileSize) return fail(CORRUPT_FOOTER, 0);
  if (!parseFooter(p + <usize>(len - FOOTER_BYTES), fileSize)) return null;
  let tailStart = fileSize - len;
  if (indexOffset < tailStart) return fail(CORRUPT_FOOTER, fileSize - FOOTER_BYTES);
  let index = p + <usize>(indexOffset - tailStart);
  let bloom = p + <usize>(bloomOffset - tailStart);
  let bloomSize = <usize>bloomLen - 4;
  if (!checkTail(index, bloom)) return null;

  let nb = load<u32>(index + <usize>indexLen - 8);
  let indexEnd = index + <usize>indexLen - 8;
  // First pass: structure, and the size of the last keys' arena.
  let q = index;
  let expectOffset: u64 = 0;
  let keyBytes: usize = 0;
  for (let i: u32 = 0; i < nb; i++) {
    if (q + 24 > indexEnd) return fail(CORRUPT_INDEX, indexOffset + <u64>(q - index));
    let off = load<u64>(q);
    let blen = load<u32>(q, 8);
    let kl = load<u32>(q, 20);
    if (q + 24 + <usize>kl > indexEnd || off != expectOffset || blen < BLOCK_TRAILER || off + <u64>blen > indexOffset) {
      return fail(CORRUPT_INDEX, indexOffset + <u64>(q - index));
    }
    expectOffset = off + <u64>blen;
    keyBytes += <usize>kl;
    q += 24 + <usize>kl;
  }
  if (expectOffset != indexOffset || q != indexEnd) return fail(CORRUPT_INDEX, indexOffset);

  let run = new Run();
  run.id = id;
  run.refs = 1; // dropped below on failure, which frees what was allocated so far
  run.fileBacked = true;
  run.entries = load<u64>(p + <usize>(len - FOOTER_BYTES), 24);
  run.tombstones = load<u64>(p + <usize>(len - FOOTER_BYTES), 32);
  run.hasMerges = (load<u16>(p + <usize>(len - FOOTER_BYTES), 42) & FLAG_MERGE_OPERANDS) != 0;
  run.checksum = checksumKind; // its blocks are checked as they are read (run.ts checkRead)
  run.indexKeysSize = keyBytes == 0 ? 1 : keyBytes;
  run.indexKeys = budgetAlloc(run.indexKeysSize);
  run.bloom = budgetAlloc(bloomSize);
  run.bloomSize = bloomSize;
  if (run.indexKeys == 0 || run.bloom == 0) { run.unref(); return null; }
  memory.copy(run.bloom, bloom, bloomSize);
  let arena = run.indexKeys;
  q = index;
  for (let i: u32 = 0; i < nb; i++) {
    let blen = load<u32>(q, 8);
    let kl = load<u32>(q, 20);
    memory.copy(arena, q + 24, kl);
    run.blockPtr.push(0);
    run.blockLen.push(blen);
    run.blockOff.push(load<u64>(q));
    run.lastKeyPtr.push(arena);
    run.lastKeyLen.push(kl);
    run.lastKeyPrefix.push(keyPrefix(arena, kl));
    run.lastTag.push(load<u64>(q, 12));
    run.bytes += <u64>blen + <u64>kl + 16;
    arena += <usize>kl;
    q += 24 + <usize>kl;
  }
  run.bytes += <u64>bloomSize + 64;
  if (!takeRangeDels(run, p + <usize>(rdOffset - tailStart), nb)) { run.unref(); return null; }
  if (nb == 0) { run.refs = 0; return run; } // tombstones only: bounds from them
  run.largest = copyBound(unchecked(run.lastKeyPtr[nb - 1]), unchecked(run.lastKeyLen[nb - 1]));
  run.largestLen = unchecked(run.lastKeyLen[nb - 1]);
  if (run.largest == 0) { run.unref(); return null; }
  let first = acquireBlock(run, 0);
  if (first == null) { run.unref(); return null; } // readStatus says why
  firstEntry.reset(first.ptr, first.len);
  firstEntry.decode(0);
  run.smallest = copyBound(firstEntry.keyPtr, firstEntry.keyLen);
  run.smallestLen = firstEntry.keyLen;
  releaseBlock(first);
  if (run.smallest == 0) { run.unref(); return null; }
  run.refs = 0; // the caller's Version takes the first reference
  return run;
}
