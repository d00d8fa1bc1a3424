// Every bulk allocation (memtable arenas, run blocks, blooms, scratch buffers) goes
// through here, so the engine can refuse a write with OUT_OF_MEMORY *before* TLSF would
// have to grow linear memory past the cap (TLSF traps when memory.grow fails, and a trap
// would leave the instance unusable). INVARIANT: allocatedBytes == sum of live sizes.

let capBytes: u64 = <u64>3584 << 20; // 3.5 GiB: wasm32 tops out at 4 GiB
let allocatedBytes: u64 = 0;

export function setMemoryCap(bytes: u64): void { capBytes = bytes; }
export function memoryAllocated(): u64 { return allocatedBytes; }
export function memoryCap(): u64 { return capBytes; }

/** True if `bytes` more can be allocated without passing the cap. */
export function canAllocate(bytes: u64): bool {
  return allocatedBytes + bytes + 65536 <= capBytes;
}

/** Room that writes leave free below the cap, so that at the cap reads (iterator bounds,
 *  merge state) still get memory: a full store answers reads and refuses writes. */
const READ_RESERVE: u64 = 256 << 10;

/** True if a write may take `bytes` more and still leave the read reserve. */
export function canAllocateForWrite(bytes: u64): bool {
  return canAllocate(bytes + READ_RESERVE);
}

/** While set, every allocation leaves the read reserve too: work whose memory outlives the
 *  call that made it (a flush slice's partial run) must not take the room that keeps reads
 *  possible at the cap. */
let keepReadReserve = false;
export function setKeepReadReserve(on: bool): void { keepReadReserve = on; }

/** Allocates `size` bytes, or returns 0 when the cap would be passed. */
export function budgetAlloc(size: usize): usize {
  if (!canAllocate(<u64>size + (keepReadReserve ? READ_RESERVE : 0))) return 0;
  allocatedBytes += <u64>size;
  return heap.alloc(size);
}

export function budgetFree(ptr: usize, size: usize): void {
  if (ptr == 0) return;
  allocatedBytes -= <u64>size;
  heap.free(ptr);
}
