// Point lookups of a batch of keys, interleaved: getAll's engine half (issue #18).
//
// A lookup in data larger than the CPU's caches is a chain of dependent cache misses, about
// 100 ns each on this machine: a bloom line per level, the steps of the block index's
// binary search, the entries the block's binary search decodes. A single get pays them one
// after another. A batch takes its keys GROUP at a time and moves the group through each
// step together: a first pass issues the loads every key of the group needs next, which are
// independent, so the CPU has them all in flight at once (8 chains of random loads cost
// ~15 ns a load against ~105 serially, measured in bench-free JS on this machine); a second
// pass then does the step's work on lines already cached.
//
// INVARIANT: every answer is the one lookup() (engine.ts) gives. The steps are lookup()'s
// own, reordered across keys only: each key still meets its sources in lookup()'s order
// (memtable, sealed memtable, level-0 runs newest first, then one run per level 1..6) and
// stops at the first that holds it. Cases off the plain path answer SLOW and the caller runs
// lookup() for that key: a merge operand (its chain is folded there), a key too long.
// Stores where a lookup may read through the block cache (file-backed runs: a read can
// fail, and blocks read count against the call's read bound) or must weigh range
// tombstones are not batched at all (batchable()).
import { mem, imm, version, counters, ready } from "./state";
import { Run } from "./run";
import { MAX_LEVELS } from "./version";
import { hash32, keyPrefix, equalBytes, readVarint32, varintValue } from "./bytes";
import { compareInternal, seekTag, tagKind, KIND_DELETE, KIND_MERGE } from "./internal-key";
import { entryTag, entryVal, entryValLen } from "./memtable";
import { bloomLine } from "./bloom";
import { BLOCK_TRAILER, HASH_INDEX_FLAG, BUCKET_EMPTY, BUCKET_COLLISION, bucketAt } from "./block";
import { liveRangeDels } from "./range-del";
import { MAX_KEY_BYTES } from "./status";

/** Keys moved through the steps together: enough loads in flight to cover a miss's
 *  latency, few enough that a group's lines stay cached between its two passes. */
export const GROUP: i32 = 16;

/** What lookupGroup left for each key: answer[g]. */
export const FOUND: u8 = 1;
export const ABSENT: u8 = 2;
export const SLOW: u8 = 3;
const PENDING: u8 = 0;

export const answer = new StaticArray<u8>(GROUP);
export const valPtr = new StaticArray<usize>(GROUP);
export const valLen = new StaticArray<u32>(GROUP);

const keyPtr = new StaticArray<usize>(GROUP);
const keyLen = new StaticArray<u32>(GROUP);
const keyHash = new StaticArray<u32>(GROUP);
const keyPre = new StaticArray<u64>(GROUP);
/** Per key, the run it probes in the current step (null: none at this level). */
const probe = new StaticArray<Run | null>(GROUP);
const lo = new StaticArray<u32>(GROUP);
const hi = new StaticArray<u32>(GROUP);
const block = new StaticArray<usize>(GROUP);
const offsets = new StaticArray<usize>(GROUP);
const entries = new StaticArray<u32>(GROUP);
/** The keys still probing in the current step. */
const active = new StaticArray<i32>(GROUP);
let nActive: i32 = 0;
/** Where the touching passes' loads go: a store to linear memory, which the optimizer must
 *  keep, and with it the loads (a global written and never read it may drop). */
const sink = new StaticArray<u64>(1);

/** Whether get_many may use lookupGroup: the engine initialized, no range tombstone
 *  anywhere (lookup would weigh them) and every run's blocks resident (no read through the
 *  block cache). O(runs). */
export function batchable(): bool {
  if (!ready || liveRangeDels > 0) return false; // lookup() answers INVALID_ARGUMENT before init
  let v = version;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) if (unchecked(runs[i]).fileBacked) return false;
  }
  return true;
}

/** Looks up the n (<= GROUP) keys packed at p as { keyLen u32 | key } at snapSeq, setting
 *  answer/valPtr/valLen for each. REQUIRES: batchable(). A value's pointer stays good until
 *  the next safe point, as lookup's. */
export function lookupGroup(p: usize, n: i32, snapSeq: u64): void {
  let tag = seekTag(snapSeq);
  for (let g = 0; g < n; g++) {
    let kl = load<u32>(p);
    unchecked(keyPtr[g] = p + 4);
    unchecked(keyLen[g] = kl);
    p += 4 + <usize>kl;
    if (kl > MAX_KEY_BYTES) { unchecked(answer[g] = SLOW); continue; }
    unchecked(answer[g] = PENDING);
    unchecked(keyHash[g] = hash32(p - kl, kl));
    unchecked(keyPre[g] = keyPrefix(p - kl, kl));
    let m = mem.find(p - kl, kl, tag);
    let sealed = imm;
    if (m == 0 && sealed != null) m = sealed.find(p - kl, kl, tag);
    if (m != 0) settle(g, entryTag(m), entryVal(m), entryValLen(m));
  }
  let v = version;
  let l0 = unchecked(v.levels[0]);
  for (let i = 0; i < l0.length; i++) {
    let run = unchecked(l0[i]);
    nActive = 0;
    for (let g = 0; g < n; g++) if (unchecked(answer[g]) == PENDING) { unchecked(probe[g] = run); unchecked(active[nActive++] = g); }
    if (nActive == 0) break;
    probeRuns(tag);
  }
  for (let l = 1; l < MAX_LEVELS; l++) {
    nActive = 0;
    for (let g = 0; g < n; g++) {
      if (unchecked(answer[g]) != PENDING) continue;
      let idx = v.findRun(l, unchecked(keyPtr[g]), unchecked(keyLen[g]));
      if (idx < 0) continue;
      unchecked(probe[g] = unchecked(unchecked(v.levels[l])[idx]));
      unchecked(active[nActive++] = g);
    }
    if (nActive > 0) probeRuns(tag);
  }
  for (let g = 0; g < n; g++) {
    let a = unchecked(answer[g]);
    if (a == PENDING) unchecked(answer[g] = a = ABSENT);
    if (a != SLOW) counters.gets++; // lookup() counts the others
  }
}

/** The newest visible version of key g is (tag, value): its answer, as lookup's fromFound. */
function settle(g: i32, tag: u64, vp: usize, vl: u32): void {
  let kind = tagKind(tag);
  if (kind == KIND_DELETE) unchecked(answer[g] = ABSENT);
  else if (kind == KIND_MERGE) unchecked(answer[g] = SLOW);
  else { unchecked(answer[g] = FOUND); unchecked(valPtr[g] = vp); unchecked(valLen[g] = vl); }
}

/** runGet for every active key g in its run probe[g], a step at a time across the keys. */
function probeRuns(tag: u64): void {
  let s: u64 = 0;
  // The bloom filter: one line a key.
  for (let i = 0; i < nActive; i++) {
    let g = unchecked(active[i]);
    let r = unchecked(probe[g])!;
    s += load<u8>(bloomLine(r.bloom, r.bloomSize, unchecked(keyHash[g])));
  }
  let m = 0;
  for (let i = 0; i < nActive; i++) {
    let g = unchecked(active[i]);
    if (!unchecked(probe[g])!.mayContain(unchecked(keyHash[g]))) continue;
    unchecked(active[m++] = g);
    unchecked(lo[g] = 0);
    unchecked(hi[g] = <u32>unchecked(probe[g])!.blockCount());
  }
  nActive = m;
  // The block: Run.findBlock's binary search over the blocks' last keys.
  let moving = true;
  while (moving) {
    moving = false;
    for (let i = 0; i < nActive; i++) {
      let g = unchecked(active[i]);
      let a = unchecked(lo[g]), b = unchecked(hi[g]);
      if (a < b) s += unchecked(unchecked(probe[g])!.lastKeyPrefix[(a + b) >>> 1]);
    }
    for (let i = 0; i < nActive; i++) {
      let g = unchecked(active[i]);
      let a = unchecked(lo[g]), b = unchecked(hi[g]);
      if (a >= b) continue;
      moving = true;
      let r = unchecked(probe[g])!;
      let mid = (a + b) >>> 1;
      let pm = unchecked(r.lastKeyPrefix[mid]);
      let kp = unchecked(keyPre[g]);
      let less = pm != kp ? pm < kp
        : compareInternal(unchecked(r.lastKeyPtr[mid]), unchecked(r.lastKeyLen[mid]), unchecked(r.lastTag[mid]),
                          unchecked(keyPtr[g]), unchecked(keyLen[g]), tag) < 0;
      if (less) unchecked(lo[g] = mid + 1); else unchecked(hi[g] = mid);
    }
  }
  // Open each key's block (its trailer holds the entry count).
  m = 0;
  for (let i = 0; i < nActive; i++) {
    let g = unchecked(active[i]);
    let r = unchecked(probe[g])!;
    let b = <i32>unchecked(lo[g]);
    if (b >= r.blockCount()) continue; // past the run's last key
    let bp = unchecked(r.blockPtr[b]);
    let end = bp + <usize>unchecked(r.blockLen[b]) - BLOCK_TRAILER;
    s += load<u32>(end);
    unchecked(block[g] = bp);
    unchecked(offsets[g] = end);
    unchecked(active[m++] = g);
  }
  nActive = m;
  // The block's hash index (BlockCursor.seek): the bucket names the key's first entry, says
  // the key is not in the block, or (a collision, a block without one) leaves it to the
  // binary search below. lo == hi: the entry at lo, where the scan of the last step starts.
  m = 0;
  for (let i = 0; i < nActive; i++) {
    let g = unchecked(active[i]);
    let end = unchecked(offsets[g]);
    let raw = load<u32>(end);
    let count = raw & ~HASH_INDEX_FLAG;
    let offs = end - (<usize>count << 2);
    unchecked(offsets[g] = offs);
    unchecked(entries[g] = count);
    unchecked(lo[g] = 0);
    unchecked(hi[g] = count);
    if ((raw & HASH_INDEX_FLAG) != 0) {
      let b = bucketAt(offs, unchecked(keyHash[g]));
      if (b == BUCKET_EMPTY) continue; // not in this block, so not in this run
      if (b != BUCKET_COLLISION) { unchecked(lo[g] = b); unchecked(hi[g] = b); }
    }
    unchecked(active[m++] = g);
  }
  nActive = m;
  // The entry: BlockCursor.lowerBound's binary search where the hash index did not answer.
  moving = true;
  while (moving) {
    moving = false;
    for (let i = 0; i < nActive; i++) {
      let g = unchecked(active[i]);
      let a = unchecked(lo[g]), b = unchecked(hi[g]);
      if (a < b) s += load<u64>(unchecked(block[g]) + <usize>load<u32>(unchecked(offsets[g]) + (<usize>((a + b) >>> 1) << 2)));
    }
    for (let i = 0; i < nActive; i++) {
      let g = unchecked(active[i]);
      let a = unchecked(lo[g]), b = unchecked(hi[g]);
      if (a >= b) continue;
      moving = true;
      let mid = (a + b) >>> 1;
      let e = unchecked(block[g]) + <usize>load<u32>(unchecked(offsets[g]) + (<usize>mid << 2));
      let q = readVarint32(e + 8);
      let kl = varintValue;
      q = readVarint32(q);
      if (compareInternal(q, kl, load<u64>(e), unchecked(keyPtr[g]), unchecked(keyLen[g]), tag) < 0) unchecked(lo[g] = mid + 1);
      else unchecked(hi[g] = mid);
    }
  }
  // From the entry found, the key's versions to the first old enough: after the binary
  // search that is the entry itself; after the hash index, its newest version.
  for (let i = 0; i < nActive; i++) {
    let g = unchecked(active[i]);
    for (let at = unchecked(lo[g]); at < unchecked(entries[g]); at++) {
      let e = unchecked(block[g]) + <usize>load<u32>(unchecked(offsets[g]) + (<usize>at << 2));
      let q = readVarint32(e + 8);
      let kl = varintValue;
      q = readVarint32(q);
      let vl = varintValue;
      if (!equalBytes(q, kl, unchecked(keyPtr[g]), unchecked(keyLen[g]))) break;
      let t = load<u64>(e);
      if (t <= tag) { settle(g, t, q + kl, vl); break; }
    }
  }
  unchecked(sink[0] = s);
}
