// How far a store's linear memory grows in one step once its engine has allocated 8 MiB, in
// Node: to a quarter of its memory cap, at most 1 GiB (memory-reserve-browser.ts: browsers
// grow step by step). The engine makes the one grow (assembly/memory-budget.ts).
// Why: V8 makes every memory.grow of a Wasm memory a new ArrayBuffer whose whole size it
// counts as external memory, so once linear memory passes ~64 MiB a grow often starts a full
// mark-compact of the JS heap on the spot, as long as the heap is large (beside a 311 MiB
// heap, one grow: 399 ms). TLSF doubles memory as it needs it, so a filling store met one
// such GC after another (bench/memory/grow-gc.mjs; docs/PERFORMANCE.md, "Linear memory
// grown once, ahead"). Grown pages are mapped, not written: the kernel backs them only when
// the engine writes them, so the reservation costs address space (V8 already reserves
// several GiB per wasm32 memory for its guard regions), not RAM.
// Why not at instantiation (a large initial memory): V8 counts that too, so every open of a
// store set a GC off, and opening many small stores (tests, partitions) paid one each.
// A quarter of the cap: a store seldom sits at its cap, and a small cap keeps it small.

/** The most a store's memory grows to in its one step. */
export const MEMORY_RESERVE_MAX = 1 << 30;

/** Bytes a store under `maxMemoryBytes` grows its linear memory to in one step. */
export const memoryReserveBytes = (maxMemoryBytes: number): number => Math.min(MEMORY_RESERVE_MAX, Math.floor(maxMemoryBytes / 4));
