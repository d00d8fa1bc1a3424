// A bloom filter over the distinct user keys of a run (LevelDB's scheme: one 32-bit hash,
// k probes by double hashing with delta = rotr(h, 17)).
//
// Image: bit array (ceil(bits / 8) bytes) | k u8. An image of one byte (k = 0) matches
// everything, which is what bitsPerKey = 0 builds.
import { budgetAlloc } from "./memory-budget";

export function bloomImageSize(keys: u32, bitsPerKey: u32): usize {
  if (bitsPerKey == 0 || keys == 0) return 1;
  let bits = <u64>keys * <u64>bitsPerKey;
  if (bits < 64) bits = 64;
  return <usize>((bits + 7) >> 3) + 1;
}

/** Builds the filter for `hashes`; returns the image (size bloomImageSize) or 0 when out of memory. */
export function buildBloom(hashes: u32[], bitsPerKey: u32): usize {
  let n = <u32>hashes.length;
  let size = bloomImageSize(n, bitsPerKey);
  let img = budgetAlloc(size);
  if (img == 0) return 0;
  memory.fill(img, 0, size);
  if (size == 1) { store<u8>(img, 0); return img; }
  let k = <u32>(<f64>bitsPerKey * 0.69);
  if (k < 1) k = 1;
  if (k > 30) k = 30;
  let bits = <u32>((size - 1) << 3);
  for (let i: u32 = 0; i < n; i++) {
    let h = unchecked(hashes[i]);
    let delta = rotr<u32>(h, 17);
    for (let j: u32 = 0; j < k; j++) {
      let b = h % bits;
      store<u8>(img + (b >> 3), load<u8>(img + (b >> 3)) | (<u8>1 << <u8>(b & 7)));
      h += delta;
    }
  }
  store<u8>(img + size - 1, <u8>k);
  return img;
}

/** False only if the key whose hash is `h` is certainly absent. */
export function bloomMayContain(img: usize, size: usize, h: u32): bool {
  let k = <u32>load<u8>(img + size - 1);
  if (k == 0 || size < 2) return true;
  let bits = <u32>((size - 1) << 3);
  let delta = rotr<u32>(h, 17);
  for (let j: u32 = 0; j < k; j++) {
    let b = h % bits;
    if ((load<u8>(img + (b >> 3)) & (<u8>1 << <u8>(b & 7))) == 0) return false;
    h += delta;
  }
  return true;
}
