// Byte-level helpers: unsigned lexicographic comparison, LEB128 varints, a 32-bit hash
// for bloom filters and CRC-32C for block checksums. All work on raw (ptr, len) pairs.

/**
 * Unsigned lexicographic order of two byte strings; a proper prefix sorts first.
 * Compares eight bytes a step: the words are byte-swapped so that an unsigned integer
 * comparison equals a bytewise one (wasm is little-endian).
 */
export function compareBytes(a: usize, alen: u32, b: usize, blen: u32): i32 {
  let n = alen < blen ? alen : blen;
  let i: u32 = 0;
  while (i + 8 <= n) {
    let wa = load<u64>(a + i);
    let wb = load<u64>(b + i);
    if (wa != wb) {
      wa = bswap<u64>(wa);
      wb = bswap<u64>(wb);
      return wa < wb ? -1 : 1;
    }
    i += 8;
  }
  if (i + 4 <= n) {
    let wa = load<u32>(a + i);
    let wb = load<u32>(b + i);
    if (wa != wb) {
      wa = bswap<u32>(wa);
      wb = bswap<u32>(wb);
      return wa < wb ? -1 : 1;
    }
    i += 4;
  }
  while (i < n) {
    let ca = load<u8>(a + i);
    let cb = load<u8>(b + i);
    if (ca != cb) return ca < cb ? -1 : 1;
    i++;
  }
  return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

/** The first eight bytes of a key as a big-endian u64, zero-padded: prefixes that differ
 *  order their keys as compareBytes does; equal prefixes decide nothing. Kept in arrays
 *  so that binary searches compare in cache instead of chasing key pointers. */
export function keyPrefix(p: usize, len: u32): u64 {
  if (len >= 8) return bswap<u64>(load<u64>(p));
  let v: u64 = 0;
  for (let i: u32 = 0; i < len; i++) v |= <u64>load<u8>(p + i) << (56 - (i << 3));
  return v;
}

export function equalBytes(a: usize, alen: u32, b: usize, blen: u32): bool {
  return alen == blen && compareBytes(a, alen, b, blen) == 0;
}

/** Writes v as LEB128 at p; returns the number of bytes written (1..5). */
export function putVarint32(p: usize, v: u32): u32 {
  let n: u32 = 0;
  while (v >= 0x80) {
    store<u8>(p + n, <u8>(v | 0x80));
    v >>>= 7;
    n++;
  }
  store<u8>(p + n, <u8>v);
  return n + 1;
}

export function varint32Size(v: u32): u32 {
  let n: u32 = 1;
  while (v >= 0x80) { v >>>= 7; n++; }
  return n;
}

/** Decoded by readVarint32: the value and where the next field starts. */
export let varintValue: u32 = 0;
/** Reads a LEB128 u32 at p, sets varintValue and returns the address after it. */
// @ts-ignore: decorator
@inline export function readVarint32(p: usize): usize {
  let b = <u32>load<u8>(p);
  if (b < 0x80) { varintValue = b; return p + 1; }
  let v = b & 0x7f;
  let shift: u32 = 7;
  p++;
  while (true) {
    b = <u32>load<u8>(p++);
    v |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
    if (shift > 28) break;
  }
  varintValue = v;
  return p;
}

/** A fast 32-bit hash (murmur3's mixing, four bytes a step) for bloom filters. */
export function hash32(p: usize, len: u32): u32 {
  let h: u32 = 0x9747b28c ^ len;
  let i: u32 = 0;
  while (i + 4 <= len) {
    let k = load<u32>(p + i);
    k *= 0xcc9e2d51; k = rotl<u32>(k, 15); k *= 0x1b873593;
    h ^= k; h = rotl<u32>(h, 13); h = h * 5 + 0xe6546b64;
    i += 4;
  }
  let k: u32 = 0;
  let rest = len - i;
  if (rest == 3) k ^= <u32>load<u8>(p + i + 2) << 16;
  if (rest >= 2) k ^= <u32>load<u8>(p + i + 1) << 8;
  if (rest >= 1) {
    k ^= <u32>load<u8>(p + i);
    k *= 0xcc9e2d51; k = rotl<u32>(k, 15); k *= 0x1b873593; h ^= k;
  }
  h ^= h >>> 16; h *= 0x85ebca6b; h ^= h >>> 13; h *= 0xc2b2ae35; h ^= h >>> 16;
  return h;
}

/** CRC-32C tables for slicing-by-8: crcTable[k·256 + b] is the CRC of byte b followed by
 *  k zero bytes, so eight bytes fold in one step (blocks are checksummed on every flush and
 *  compaction: a byte-at-a-time loop was an eighth of the write path's time). */
const crcTable = new StaticArray<u32>(8 * 256);
let crcReady = false;

function initCrcTable(): void {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = (c & 1) ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    unchecked(crcTable[i] = c);
  }
  for (let i = 0; i < 256; i++) {
    let c = unchecked(crcTable[i]);
    for (let k = 1; k < 8; k++) {
      c = unchecked(crcTable[c & 0xff]) ^ (c >>> 8);
      unchecked(crcTable[k * 256 + i] = c);
    }
  }
  crcReady = true;
}

/** CRC-32C (Castagnoli), the checksum of every block (docs/FORMAT.md). */
export function crc32c(p: usize, len: u32): u32 {
  if (!crcReady) initCrcTable();
  let c: u32 = 0xffffffff;
  let i: u32 = 0;
  while (i + 8 <= len) {
    let lo = load<u32>(p + i) ^ c;
    let hi = load<u32>(p + i + 4);
    c = unchecked(crcTable[7 * 256 + (lo & 0xff)]) ^ unchecked(crcTable[6 * 256 + ((lo >>> 8) & 0xff)])
      ^ unchecked(crcTable[5 * 256 + ((lo >>> 16) & 0xff)]) ^ unchecked(crcTable[4 * 256 + (lo >>> 24)])
      ^ unchecked(crcTable[3 * 256 + (hi & 0xff)]) ^ unchecked(crcTable[2 * 256 + ((hi >>> 8) & 0xff)])
      ^ unchecked(crcTable[256 + ((hi >>> 16) & 0xff)]) ^ unchecked(crcTable[hi >>> 24]);
    i += 8;
  }
  for (; i < len; i++) c = unchecked(crcTable[(c ^ load<u8>(p + i)) & 0xff]) ^ (c >>> 8);
  return c ^ 0xffffffff;
}
