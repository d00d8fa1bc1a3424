// Copies of small byte strings out of linear memory, carved from a shared pool.
//
// A `bytes` value a get returns must be the caller's own copy, and `u8.slice` of 100 bytes
// costs ~750 ns on Node 20: above 64 bytes (V8's typed_array_max_size_in_heap) every copy
// allocates an ArrayBuffer with an off-heap backing store, more than the rest of an
// in-memory get together. A view into a pooled ArrayBuffer costs ~90 ns. This is Node's own
// `Buffer` pool (Buffer.poolSize 8 KiB, copies below half of it pooled, offsets 8-aligned),
// with the same contract: each copy is a disjoint view nothing else writes, so it is its
// caller's own; its `.buffer` is the pool's (use `byteOffset`), and keeping it keeps its
// pool's 8 KiB alive (`value.slice()` detaches it). Transferring a pooled `.buffer`
// (postMessage) would detach its neighbours too: transfer a `slice()`.

/** Bytes per pool, as Node's Buffer.poolSize. */
const POOL_BYTES = 8192;
/** Copies longer than this get an ArrayBuffer of their own. */
const POOLED_MAX = POOL_BYTES >>> 1;

let pool = new Uint8Array(POOL_BYTES);
let used = 0;

/** A copy of u8[p, p + n) that is the caller's own (a view into a shared pool when small). */
export function copyBytes(u8: Uint8Array, p: number, n: number): Uint8Array {
  if (n > POOLED_MAX) return u8.slice(p, p + n);
  if (used + n > POOL_BYTES) { pool = new Uint8Array(POOL_BYTES); used = 0; }
  const at = used;
  pool.set(u8.subarray(p, p + n), at);
  used = (at + n + 7) & ~7; // 8-aligned, as Node aligns its pool
  return new Uint8Array(pool.buffer, at, n);
}
