// The Wasm side of bench/checksum.mjs: the engine's two block checksums, compiled with the
// engine's release options, each run `reps` times over one buffer.
import "../../assembly/abort";
import { crc32c } from "../../assembly/bytes";
import { xxh64Low32 } from "../../assembly/xxhash64";

export function buffer(len: u32): usize { return heap.alloc(<usize>len + 8); }

export function crc(p: usize, len: u32, reps: u32): u32 {
  let x: u32 = 0;
  for (let i: u32 = 0; i < reps; i++) x ^= crc32c(p + (i & 7), len); // moving input: no call is hoisted
  return x;
}

export function xxh(p: usize, len: u32, reps: u32): u32 {
  let x: u32 = 0;
  for (let i: u32 = 0; i < reps; i++) x ^= xxh64Low32(p + (i & 7), len);
  return x;
}
