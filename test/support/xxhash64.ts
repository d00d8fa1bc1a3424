// XXH64 in plain BigInt arithmetic, straight from the specification (github.com/Cyan4973/
// xxHash, doc/xxhash_spec.md): the tests' independent reference for assembly/xxhash64.ts,
// and for reading run files' checksums (test/durability.test.ts). Slow; tests only.
const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
const mul = (a: bigint, b: bigint) => (a * b) & M;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint) => mul(rotl((acc + mul(input, P2)) & M, 31n), P1);
const merge = (h: bigint, v: bigint) => (mul(h ^ round(0n, v), P1) + P4) & M;

/** XXH64 of b[start, end) with `seed`. */
export function xxh64(b: Uint8Array, seed = 0n, start = 0, end = b.length): bigint {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = end - start;
  let p = start;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M, v2 = (seed + P2) & M, v3 = seed, v4 = (seed - P1) & M;
    for (; p + 32 <= end; p += 32) {
      v1 = round(v1, v.getBigUint64(p, true));
      v2 = round(v2, v.getBigUint64(p + 8, true));
      v3 = round(v3, v.getBigUint64(p + 16, true));
      v4 = round(v4, v.getBigUint64(p + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    for (const x of [v1, v2, v3, v4]) h = merge(h, x);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= end; p += 8) h = (mul(rotl(h ^ round(0n, v.getBigUint64(p, true)), 27n), P1) + P4) & M;
  if (p + 4 <= end) { h = (mul(rotl(h ^ mul(BigInt(v.getUint32(p, true)), P1), 23n), P2) + P3) & M; p += 4; }
  for (; p < end; p++) h = mul(rotl(h ^ mul(BigInt(b[p]), P5), 11n), P1);
  h ^= h >> 33n; h = mul(h, P2); h ^= h >> 29n; h = mul(h, P3); h ^= h >> 32n;
  return h;
}

/** The run file block checksum of format versions 3 and 4: the low 32 bits of XXH64, seed 0. */
export const xxh64Low32 = (b: Uint8Array, start = 0, end = b.length): number => Number(xxh64(b, 0n, start, end) & 0xffffffffn);
