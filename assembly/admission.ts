// Memory cap: admission of writes. A write is admitted only if the store stays one it can
// always flush, compact and reopen (docs/LSM.md, "Memory cap"), as a write stop in LevelDB
// and RocksDB holds writes back until compaction catches up; here refusing is OUT_OF_MEMORY,
// and the catching up happens inline first. Memory that only maintenance and deletes may
// take: memory-budget.ts, "Reserves".
// INVARIANT: a refused write applies nothing (the catching up it did first stays done).
import { MAX_LEVELS } from "./version";
import { writeLeaves, canAllocate } from "./memory-budget";
import { fileBacking, trimCacheTo } from "./block-cache";
import { config, mem, imm, version, versionStamp, bgStatus } from "./state";
import { finishFlush, flushMemtable } from "./flush";
import { pending, remote, endRemote, startCompaction, finishCompaction, mergeScratch } from "./leveled";
import * as S from "./status";

/** Set while the host replays its write-ahead log at open: those writes were admitted
 *  once, so only the read reserve applies to them (the state the manifest recovers may ask
 *  more room than the one they were admitted in, and a reopen must not fail on it). */
export let replaying = false;
export function setReplaying(on: bool): void { replaying = on; }

/** The run bytes maintenanceRoom() counts in the version of stamp levelsStamp (cached: every
 *  write asks): L0 + L1, or in memory every level. */
let roomRunBytes: u64 = 0;
let levelsStamp: u32 = 0xffffffff;

/**
 * Room the maintenance that bounds level 0 will need, beyond what is allocated now: the
 * flush of both memtables (a level-0 run no larger than their arena bytes, which it then
 * frees), then the compaction of level 0 with that run, which rewrites level 0 and, with
 * random keys, all of level 1 into new runs held in memory until it ends (with a directory
 * too: the host writes them out after), plus its scratch. A compaction of deeper levels in
 * progress needs its inputs' bytes instead, when that is more.
 * In memory, where every run is resident anyway, the room kept is that of compact(): every
 * run rewritten at once. Then a store refusing puts can always delete, compact the deleted
 * data away and shrink, at the price of holding at most about half its cap (an LSM's usual
 * space amplification); one with a directory holds far more than its cap, so only keeps the
 * room for level 0's compaction, and compact() there may be refused (compactAll).
 */
export function maintenanceRoom(): u64 {
  let memBytes = mem.bytes + (imm != null ? imm!.bytes : 0);
  let v = version;
  if (levelsStamp != versionStamp) {
    roomRunBytes = v.levelBytes(0) + v.levelBytes(1);
    if (!fileBacking) for (let l = 2; l < MAX_LEVELS; l++) roomRunBytes += v.levelBytes(l);
    levelsStamp = versionStamp;
  }
  let l0 = roomRunBytes + memBytes + mergeScratch(unchecked(v.levels[0]).length + 2);
  // The worker's output comes back into this memory in a store without files; as files
  // (their index and bloom only) in one with.
  let c: u64 = pending != null ? pending!.inputBytes + mergeScratch(pending!.inputs.length)
    : remote != null && !fileBacking ? remote!.inputBytes : 0;
  return l0 > c ? l0 : c;
}

/** Whether `bytes` more leave the reserves a write of deletes must leave. Memory a call keeps
 *  past its end (getAll's pack, the argument region, a lookup's chain image) may take only
 *  such room, or it takes what flushes, compactions and deletes were promised. */
export function leavesReserves(bytes: u64): bool {
  return canAllocate(bytes + writeLeaves(maintenanceRoom(), false));
}

/** Writes are close to being refused for room: another memtable of puts would not leave the
 *  reserves. With a background job out, the host then waits for it (bg_state's
 *  back-pressure): its install frees its inputs, where a refused write would instead drop
 *  it and merge here (catchUp). */
export function roomShort(): bool {
  return !canAllocate(writeLeaves(maintenanceRoom() + <u64>config.memtableBytes, true));
}

/** Reserves `need` memtable bytes for a write (`puts`: it holds a put), leaving the reserves:
 *  the maintenance room grown by the write (its entries join the flush and the level-0
 *  compaction), and for puts the shrink reserve. Short of room it first catches up. */
export function admit(need: u64, puts: bool): bool {
  if (replaying) return mem.reserve(need, writeLeaves(0, false));
  if (mem.reserve(need, writeLeaves(maintenanceRoom() + need, puts))) return true;
  catchUp();
  if (bgStatus != S.OK) return false; // the catching up met damage: refused before any change
  if (mem.reserve(need, writeLeaves(maintenanceRoom() + need, puts))) return true;
  // Memory pressure: a memtable holds its entries in more bytes than their run will (node
  // headers, arena slack), so it is flushed before its size says, as RocksDB's write buffer
  // manager does. Once per refusal at most: an empty memtable has nothing to give.
  if (mem.entries == 0 || flushMemtable() != S.OK) return false;
  catchUp();
  if (bgStatus != S.OK) return false;
  return mem.reserve(need, writeLeaves(maintenanceRoom() + need, puts));
}

/** A write stop's wait, done inline: finishes the sealed memtable's flush and the compaction
 *  in progress, or runs the one a level over its target needs (the room for both is what
 *  writes leave), and evicts the block cache's unpinned blocks (copies of file blocks). The
 *  background worker's compaction is dropped and done here: this call cannot wait for it. */
function catchUp(): void {
  trimCacheTo(0);
  if (imm != null) finishFlush();
  endRemote();
  if (pending == null && config.autoCompaction) startCompaction(true);
  if (pending != null) finishCompaction();
}
