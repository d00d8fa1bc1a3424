// XXH64 (assembly/xxhash64.ts), the block checksum of run file format versions 3 and 4
// (docs/FORMAT.md), against the published vectors: xxHash's own sanity check (cli/
// xsum_sanity_check.c: lengths 0 to 222 of its pseudorandom buffer, seeds 0 and PRIME32)
// and strings from other implementations' suites (LLVM's xxhashTest.cpp and others). The
// test's BigInt reference (test/support/xxhash64.ts) must match the vectors too, and then
// the Wasm code must match it on random inputs of every length class.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Units } from './support/units-wasm.js';
import { xxh64 as reference } from './support/xxhash64.js';

const PRIME32 = 2654435761n;
const PRIME64 = 11400714785074694797n;

/** xxHash's sanity buffer: byte i is the top byte of PRIME32 · PRIME64^i (mod 2^64). */
function sanityBuffer(len: number): Uint8Array {
  const b = new Uint8Array(len);
  let gen = PRIME32;
  for (let i = 0; i < len; i++) { b[i] = Number(gen >> 56n); gen = (gen * PRIME64) & ((1n << 64n) - 1n); }
  return b;
}

// [input, seed, XXH64]
const sanity: [number, bigint, bigint][] = [
  [0, 0n, 0xef46db3751d8e999n], [0, PRIME32, 0xac75fda2929b17efn],
  [1, 0n, 0xe934a84adb052768n], [1, PRIME32, 0x5014607643a9b4c3n],
  [4, 0n, 0x9136a0dca57457een],
  [14, 0n, 0x8282dcc4994e35c8n], [14, PRIME32, 0xc3bd6bf63deb6df0n],
  [222, 0n, 0xb641ae8cb691c174n], [222, PRIME32, 0x20cb8ab7ae10c14an],
];
const strings: [string, bigint, bigint][] = [
  ['a', 0n, 0xd24ec4f1a98c6e5bn],
  ['abc', 0n, 0x44bc2cf5ad770999n],
  ['abcd', 0n, 0xde0327b0d25d92ccn],
  ['abcdefgh', 0n, 0x3ad351775b4634b7n],
  ['foo', 0n, 0x33bf00a859c4ba3fn],
  ['bar', 0n, 0x48a37c90ad27a659n],
  ['0123456789abcdefghijklmnopqrstuvwxyz', 0n, 0x69196c1b3af0bff9n],
  ['abcdefghijklmnopqrstuvwxyz12345', 0n, 0x467605901b01d6f6n],
  ['abcdefghijklmnopqrstuvwxyz12345', 877380273n, 0x37b562ec5715e132n],
  ['a', 191961062n, 0x6e05ba2887c97977n],
  ['', 668718853n, 0x04e830582a31a119n],
];
const vectors: [string, Uint8Array, bigint, bigint][] = [
  ...sanity.map(([n, seed, h]): [string, Uint8Array, bigint, bigint] => [`sanity buffer[0, ${n})`, sanityBuffer(n), seed, h]),
  ...strings.map(([s, seed, h]): [string, Uint8Array, bigint, bigint] => [JSON.stringify(s), new TextEncoder().encode(s), seed, h]),
];

function wasm(u: Units, b: Uint8Array, seed: bigint): bigint {
  const [p] = u.args(b);
  return BigInt.asUintN(64, u.x.xxhash64(p, b.length, seed));
}

describe('XXH64', () => {
  it.each(vectors)('%s, seed %s: the published value', (_, b, seed, h) => {
    expect(reference(b, seed).toString(16)).toBe(h.toString(16));
    expect(wasm(new Units(), b, seed).toString(16)).toBe(h.toString(16));
  });

  it('the Wasm code matches the reference on random bytes of every length class (tails of 0-7, stripes of 32)', () => {
    const u = new Units();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (b, seed) => {
      expect(wasm(u, b, seed)).toBe(reference(b, seed));
    }), { numRuns: 500 });
    // A whole 4 KiB block at every alignment of the input.
    const block = sanityBuffer(4096 + 8);
    for (let a = 0; a < 8; a++) expect(wasm(u, block.subarray(a, a + 4096), 0n)).toBe(reference(block, 0n, a, a + 4096));
  });
});
