// The browser build's twin of memory-reserve.ts: an engine starts at the module's minimum and
// grows as it needs. Where a browser commits a Wasm memory's pages when they are mapped
// (Chromium on Windows) a reservation would take real memory from the page, and tabs on
// phones have little to give; so browsers keep paying V8's full GC at each grow past ~64 MiB.

/** The most a store's engine reserves up front: nothing. */
export const MEMORY_RESERVE_MAX = 0;

/** Bytes of linear memory an engine starts with: the module's minimum. */
export const initialMemoryBytes = (_maxMemoryBytes: number): number => 0;
