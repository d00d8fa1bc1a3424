// The browser build's twin of memory-reserve.ts: linear memory grows as TLSF doubles it.
// Where a browser commits a Wasm memory's pages as they are mapped (Chromium on Windows), a
// reservation would take real memory from the page, and tabs on phones have little to give;
// so browsers keep paying V8's full GC at each grow past ~64 MiB.

/** The most a store's memory grows to in one step: no such step. */
export const MEMORY_RESERVE_MAX = 0;

/** No reservation. */
export const memoryReserveBytes = (_maxMemoryBytes: number): number => 0;
