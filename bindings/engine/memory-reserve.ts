// How much linear memory a store's engine starts with, in Node: a quarter of its memory cap,
// at most 1 GiB (memory-reserve-browser.ts: browsers start small).
// Why up front: V8 makes every memory.grow of a Wasm memory a new ArrayBuffer whose whole
// size it counts as external memory, so once linear memory passes ~64 MiB a grow often starts
// a full mark-compact of the JS heap on the spot, as long as the heap is large (beside a
// 311 MiB heap, one grow: 399 ms). TLSF doubles memory as it needs it: 1M puts in memory
// beside bench:peers' keys met 8 major GCs (710 ms) at 260k puts/s, and 1 (6 ms) at 297k
// once the memory began at 896 MiB (bench/memory/grow-gc.mjs; docs/PERFORMANCE.md, "Linear
// memory up front"). An initial memory is one mapping whose pages the kernel backs only when
// written, so the reservation costs address space (V8 already reserves several GiB per
// wasm32 memory for its guard regions), not RAM.
// A quarter of the cap: a store seldom sits at its cap, and a small cap (a test, a partition
// of many) then keeps a small reservation.

/** The most a store's engine reserves up front. */
export const MEMORY_RESERVE_MAX = 1 << 30;

/** Bytes of linear memory an engine under `maxMemoryBytes` starts with. */
export const initialMemoryBytes = (maxMemoryBytes: number): number => Math.min(MEMORY_RESERVE_MAX, Math.floor(maxMemoryBytes / 4));
