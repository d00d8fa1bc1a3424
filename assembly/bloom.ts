// A cache-local bloom filter over the distinct user keys of a run (RocksDB's "block-based"
// scheme): the key's 32-bit hash picks one 64-byte line, and all k probes fall inside that
// line, so a lookup costs one cache miss per run instead of k. The price is a slightly
// higher false-positive rate at the same bits per key (about 1.2% instead of 1% at 10).
//
// Image: lines × 64 bytes | k u8. line = (h × lines) >> 32; within the line, probe j tests
// bit (g >> 23) & 511 for g = h × 0x9E3779B1, stepping g += delta, delta = rotr(h, 17) | 1.
// An image of one byte (k = 0) matches everything, which is what bitsPerKey = 0 builds.
import { budgetAlloc } from "./memory-budget";

const LINE_BYTES: usize = 64;

export function bloomImageSize(keys: u32, bitsPerKey: u32): usize {
  if (bitsPerKey == 0 || keys == 0) return 1;
  let bits = <u64>keys * <u64>bitsPerKey;
  let lines = (bits + 511) >> 9;
  return <usize>lines * LINE_BYTES + 1;
}

// @ts-ignore: decorator
@inline function lineOf(img: usize, size: usize, h: u32): usize {
  let lines = <u64>((size - 1) / LINE_BYTES);
  return img + <usize>((<u64>h * lines) >> 32) * LINE_BYTES;
}

/** Builds the filter for the n hashes (u32 each) at `hashes`; returns the image (size
 *  bloomImageSize) or 0 when out of memory. */
export function buildBloom(hashes: usize, n: u32, bitsPerKey: u32): usize {
  let size = bloomImageSize(n, bitsPerKey);
  let img = budgetAlloc(size);
  if (img == 0) return 0;
  memory.fill(img, 0, size);
  if (size == 1) return img;
  let k = <u32>(<f64>bitsPerKey * 0.69);
  if (k < 1) k = 1;
  if (k > 30) k = 30;
  for (let i: u32 = 0; i < n; i++) {
    let h = load<u32>(hashes + (<usize>i << 2));
    let line = lineOf(img, size, h);
    let g = h * 0x9e3779b1;
    let delta = rotr<u32>(h, 17) | 1;
    for (let j: u32 = 0; j < k; j++) {
      let b = g >> 23;
      store<u8>(line + (b >> 3), load<u8>(line + (b >> 3)) | (<u8>1 << <u8>(b & 7)));
      g += delta;
    }
  }
  store<u8>(img + size - 1, <u8>k);
  return img;
}

/** The 64-byte line bloomMayContain(img, size, h) tests (img itself when the filter has no
 *  lines): a batch of lookups touches it ahead (batch-lookup.ts). */
export function bloomLine(img: usize, size: usize, h: u32): usize {
  return size < LINE_BYTES + 1 ? img : lineOf(img, size, h);
}

/** False only if the key whose hash is `h` is certainly absent. */
export function bloomMayContain(img: usize, size: usize, h: u32): bool {
  if (size < LINE_BYTES + 1) return true;
  let k = <u32>load<u8>(img + size - 1);
  if (k == 0) return true;
  let line = lineOf(img, size, h);
  let g = h * 0x9e3779b1;
  let delta = rotr<u32>(h, 17) | 1;
  for (let j: u32 = 0; j < k; j++) {
    let b = g >> 23;
    if ((load<u8>(line + (b >> 3)) & (<u8>1 << <u8>(b & 7))) == 0) return false;
    g += delta;
  }
  return true;
}
