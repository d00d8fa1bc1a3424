// Every bulk allocation (memtable arenas, run blocks, blooms, scratch buffers) goes
// through here, so the engine can refuse a write with OUT_OF_MEMORY *before* TLSF would
// have to grow linear memory past the cap (TLSF traps when memory.grow fails, and a trap
// would leave the instance unusable). INVARIANT: allocatedBytes == sum of live sizes.
import { READ_RESERVE, SHRINK_CAP_SHIFT, SHRINK_MIN, SHRINK_MAX } from "./tuning";

let capBytes: u64 = <u64>3584 << 20; // 3.5 GiB: wasm32 tops out at 4 GiB
let allocatedBytes: u64 = 0;

export function setMemoryCap(bytes: u64): void { capBytes = bytes; }
export function memoryAllocated(): u64 { return allocatedBytes; }
export function memoryCap(): u64 { return capBytes; }

/** True if `bytes` more can be allocated without passing the cap. */
export function canAllocate(bytes: u64): bool {
  return allocatedBytes + bytes + 65536 <= capBytes;
}


// Reserves, from the cap down (docs/LSM.md, "Memory cap"): a write of puts must leave, on
// top of the read reserve, (1) the room that flushing both memtables and the compaction of
// level 0 need (the engine's maintenanceRoom(): they rewrite what they read into new runs,
// held in memory until they end), and (2) the shrink reserve, which only deletes may take.
// So a store that refuses puts can still take deletes, flush them and compact them away:
// it can always shrink, be made durable and be reopened.

/** Room only deletes may take (tuning.ts SHRINK_*: a sixteenth of the cap, between 64 KiB
 *  and 16 MiB). Room that writes leave for reads: tuning.ts READ_RESERVE. */
export function shrinkReserve(): u64 {
  let r = capBytes >> SHRINK_CAP_SHIFT;
  if (r < SHRINK_MIN) r = SHRINK_MIN;
  if (r > SHRINK_MAX) r = SHRINK_MAX;
  return r;
}

/** The bytes a write must leave free beyond what it allocates: the read reserve, plus
 *  `maintenance` and, for a write of puts, the shrink reserve. */
export function writeLeaves(maintenance: u64, puts: bool): u64 {
  return READ_RESERVE + maintenance + (puts ? shrinkReserve() : 0);
}

/** While set, every allocation leaves the read reserve too: work whose memory outlives the
 *  call that made it (a flush slice's partial run) must not take the room that keeps reads
 *  possible at the cap. */
let keepReadReserve = false;
export function setKeepReadReserve(on: bool): void { keepReadReserve = on; }

/** The largest allocation TLSF makes: its BLOCK_MAXSIZE, (1 << 30) minus a block's 4-byte
 *  header. It aborts (a trap: the instance is lost) on anything larger, so budgetAlloc
 *  refuses that as it refuses what passes the cap. */
export const MAX_ALLOC: usize = (<usize>1 << 30) - 4;

/** Allocates `size` bytes, or returns 0 when the cap would be passed or TLSF could not
 *  make so large a block (MAX_ALLOC). */
export function budgetAlloc(size: usize): usize {
  if (size > MAX_ALLOC || !canAllocate(<u64>size + (keepReadReserve ? READ_RESERVE : 0))) return 0;
  if (reserveBytes != 0 && allocatedBytes + <u64>size > RESERVE_AT) reserveMemory();
  allocatedBytes += <u64>size;
  return heap.alloc(size);
}

// Linear memory grown once, ahead (the host's engine/memory-reserve.ts says why and how
// much): a store whose allocations pass RESERVE_AT has memory grown at once to reserveBytes,
// where TLSF would have doubled it step by step, each grow a full GC of the JS heap in V8.
// Not at instantiation: V8 counts a new memory's whole size as external memory too, so a
// store that reserved as it opened set off a GC at most opens (a test opening hundreds of
// stores: 2 → 22 ms an open beside a 500k-object heap).
// INVARIANT: reserveBytes is 0 once the reservation is made (it is made at most once).

/** Engine allocations past which the reservation is made: early, while the grows before it
 *  (1 to 16 MiB, each counted whole by V8) stay below what sets its GC off; at 48 MiB a 1M
 *  fill still met 6 major GCs (495 ms), at 8 MiB 2 (157 ms). A store that stays smaller (a
 *  test's, a small partition) never makes it. */
const RESERVE_AT: u64 = 8 << 20;
/** Bytes of linear memory to grow to at RESERVE_AT; 0: none (browsers, a background job). */
let reserveBytes: u64 = 0;

export function setMemoryReserve(bytes: u64): void { reserveBytes = bytes; }

/** Grows memory to reserveBytes in one grow: TLSF grows by at least what one block needs,
 *  and that block, freed, is the free space later allocations take. */
function reserveMemory(): void {
  let want = reserveBytes;
  reserveBytes = 0;
  let have = <u64>memory.size() << 16;
  if (want <= have + (<u64>16 << 20)) return;
  let grow = want - have;
  if (grow > <u64>MAX_ALLOC - 65536) grow = <u64>MAX_ALLOC - 65536;
  heap.free(heap.alloc(<usize>grow));
}

/** The capacity a growing buffer of `cap` bytes doubles to (from at least `min`) until it
 *  holds `need` bytes, stopping at MAX_ALLOC; 0 when `need` passes MAX_ALLOC: no such
 *  allocation can succeed (unbounded, the doubling reached 1 GiB, which TLSF traps on,
 *  and past 2 GiB wrapped a wasm32 size to 0 and spun for good). */
export function grownCapacity(cap: usize, need: u64, min: usize): usize {
  if (need > <u64>MAX_ALLOC) return 0;
  let c: u64 = cap < min ? <u64>min : <u64>cap;
  while (c < need) c <<= 1;
  return c > <u64>MAX_ALLOC ? MAX_ALLOC : <usize>c;
}

export function budgetFree(ptr: usize, size: usize): void {
  if (ptr == 0) return;
  allocatedBytes -= <u64>size;
  heap.free(ptr);
}

/** A copy of `len` bytes at `p` in an allocation of its own (at least 1 byte), or 0 when
 *  the cap would be passed. Free it with budgetFree(c, len == 0 ? 1 : len). */
export function copyBound(p: usize, len: u32): usize {
  let c = budgetAlloc(len == 0 ? 1 : len);
  if (c != 0) memory.copy(c, p, len);
  return c;
}
