// XXH64 (Yann Collet's xxHash, 64-bit variant; github.com/Cyan4973/xxHash, doc/xxhash_spec.md),
// the block checksum of run file format versions 3 to 6 (docs/FORMAT.md, "Run file"): a
// file stores the low 32 bits of XXH64 with seed 0, as RocksDB's kxxHash64 does. It replaced
// CRC-32C there because Wasm has no CRC instruction: table-driven CRC-32C costs a load per
// byte, XXH64 four 64-bit multiplies per 32 bytes (bench/checksum.mjs measures both). A leaf:
// imports nothing. Little-endian loads throughout, as Wasm's are.
const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;

function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

function mergeRound(h: u64, v: u64): u64 {
  return (h ^ round(0, v)) * P1 + P4;
}

/** XXH64 of the `len` bytes at `p` with `seed`. */
export function xxh64(p: usize, len: u32, seed: u64 = 0): u64 {
  let end = p + <usize>len;
  let h: u64;
  if (len >= 32) {
    let v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    let limit = end - 32;
    do {
      v1 = round(v1, load<u64>(p));
      v2 = round(v2, load<u64>(p, 8));
      v3 = round(v3, load<u64>(p, 16));
      v4 = round(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = seed + P5;
  }
  h += <u64>len;
  while (p + 8 <= end) {
    h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1;
    p++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/** The block checksum of format versions 3 to 6: the low 32 bits of XXH64, seed 0. */
export function xxh64Low32(p: usize, len: u32): u32 {
  return <u32>xxh64(p, len, 0);
}
