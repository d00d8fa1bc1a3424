// Compaction: leveled, as LevelDB and RocksDB's default (docs/LSM.md says why).
//
//  - Level 0 collects memtable flushes. When it holds `level0Trigger` runs, all of them
//    are merged with the overlapping runs of level 1.
//  - Level n >= 1 has a byte target (levelBase × multiplier^(n-1)). When it is over, one
//    run (round robin by key) is merged with the runs of level n+1 that overlap it; when
//    none overlap, the run just moves down (no rewrite).
//  - Output is cut into runs of about `runTargetBytes`, never inside one user key.
//
// Dropping rule while merging, newest version of each key first (S = smallest live
// snapshot, or the last sequence when there is none):
//  - a version is dropped if a newer version of the same key has sequence <= S: every
//    reader that could see this one sees the newer one instead;
//  - a tombstone with sequence <= S is dropped when no deeper level can hold the key
//    (it would have nothing left to hide).
// Sequence numbers are kept as they are: they are the keys' versions.
//
// Expiry (stores with ttlMs, whose values start with an f64 expiresAt): with the clock set
// (expiryClock > 0), a value that has expired is written out as a tombstone of the same
// sequence, and so is then dropped by the tombstone rule. Readers treat an expired value as
// absent already (time only moves forward), so the tombstone changes no read; it hides the
// older versions beneath just as the expired value did.
import { Run, RunBuilder, RunIterator } from "./run";
import { Version, MAX_LEVELS } from "./version";
import { InternalIterator } from "./internal-iterator";
import { MergingIterator } from "./merge-iterator";
import { equalBytes, compareBytes } from "./bytes";
import { tagSeq, tagKind, makeTag, KIND_DELETE, KIND_PUT } from "./internal-key";

/** Now, in ms since the epoch, for expiry; 0 when the store has no ttl. Set by the host
 *  before each call that may compact. */
export let expiryClock: f64 = 0;
export function setExpiryClock(now: f64): void { expiryClock = now; }

/** Whether the entry is a value whose expiresAt prefix is at or before expiryClock. */
@inline function expired(tag: u64, val: usize, vlen: u32): bool {
  return expiryClock > 0 && tagKind(tag) == KIND_PUT && vlen >= 8 && load<f64>(val) <= expiryClock;
}

export class CompactionConfig {
  blockBytes: u32 = 4096;
  bitsPerKey: u32 = 10;
  runTargetBytes: u64 = 8 << 20;
}

/** Outcome of a merge: the runs written and their bytes; null runs means out of memory. */
export class MergeOutput {
  runs: Array<Run> | null = null;
  bytes: u64 = 0;
}

/** True if no level deeper than `outputLevel` can hold `key`. */
function isBaseLevelForKey(v: Version, outputLevel: i32, key: usize, klen: u32): bool {
  for (let l = outputLevel + 1; l < MAX_LEVELS; l++) {
    if (v.findRun(l, key, klen) >= 0) return false;
  }
  return true;
}

/**
 * Merges `source` (an internal iterator, positioned by this function) into new runs.
 * `dropTombstones`: tombstones may go where isBaseLevelForKey holds for `outputLevel`
 * (pass outputLevel = MAX_LEVELS - 1 to mean "always", as after a full compaction).
 */
export function mergeInto(source: InternalIterator, cfg: CompactionConfig, smallestSnapshot: u64,
                          v: Version | null, outputLevel: i32, cutRuns: bool): MergeOutput {
  let out = new MergeOutput();
  let runs = new Array<Run>();
  let builder = new RunBuilder(cfg.blockBytes, cfg.bitsPerKey);
  let hasKey = false;
  let curKey: usize = 0, curLen: u32 = 0;
  let lastSeqForKey: u64 = 0;
  source.seekToFirst();
  while (source.valid) {
    let k = source.keyPtr, kl = source.keyLen, tag = source.tag;
    let seq = tagSeq(tag);
    let val = source.valPtr, vlen = source.valLen;
    if (expired(tag, val, vlen)) { tag = makeTag(seq, KIND_DELETE); vlen = 0; }
    let newKey = !hasKey || !equalBytes(k, kl, curKey, curLen);
    if (newKey) {
      hasKey = true;
      curKey = k; curLen = kl;
      lastSeqForKey = 0xffffffffffffffff;
    }
    let drop = false;
    if (lastSeqForKey <= smallestSnapshot) {
      drop = true;
    } else if (tagKind(tag) == KIND_DELETE && seq <= smallestSnapshot && v != null
               && isBaseLevelForKey(v, outputLevel, k, kl)) {
      drop = true;
    }
    lastSeqForKey = seq;
    if (!drop) {
      if (cutRuns && newKey && builder.currentBytes() >= cfg.runTargetBytes && builder.hasEntries()) {
        let r = builder.finish();
        if (r == null) break;
        runs.push(r);
        out.bytes += r.bytes;
      }
      builder.add(k, kl, tag, val, vlen);
      if (builder.failed) break;
    }
    source.next();
  }
  let failed = builder.failed;
  if (!failed) {
    let r = builder.finish();
    if (builder.failed) failed = true;
    else if (r != null) { runs.push(r); out.bytes += r.bytes; }
  }
  builder.release();
  if (failed) {
    for (let i = 0; i < runs.length; i++) { let r = unchecked(runs[i]); r.refs = 1; r.unref(); }
    return out; // runs == null: out of memory, nothing changed
  }
  out.runs = runs;
  return out;
}

/** An iterator over the given runs, for merging. */
export function runsIterator(inputs: Array<Run>): MergingIterator {
  let children = new Array<InternalIterator>();
  for (let i = 0; i < inputs.length; i++) children.push(new RunIterator(unchecked(inputs[i])));
  return new MergingIterator(children, true);
}

/** Runs of `level` (>= 1) overlapping the user-key range [lo, hi]. */
export function overlapping(v: Version, level: i32, lo: usize, loLen: u32, hi: usize, hiLen: u32): Array<Run> {
  let res = new Array<Run>();
  let runs = unchecked(v.levels[level]);
  for (let i = 0; i < runs.length; i++) {
    let r = unchecked(runs[i]);
    if (compareBytes(r.largest, r.largestLen, lo, loLen) < 0) continue;
    if (compareBytes(r.smallest, r.smallestLen, hi, hiLen) > 0) continue;
    res.push(r);
  }
  return res;
}

/** A new Version equal to `v` without `inputs` and with `outputs` added to `outputLevel`. */
export function replaceRuns(v: Version, inputs: Array<Run>, outputs: Array<Run>, outputLevel: i32): Version {
  let nv = new Version();
  for (let l = 0; l < MAX_LEVELS; l++) {
    let src = unchecked(v.levels[l]);
    let dst = unchecked(nv.levels[l]);
    for (let i = 0; i < src.length; i++) {
      let r = unchecked(src[i]);
      if (inputs.includes(r)) continue;
      r.ref();
      dst.push(r);
    }
  }
  for (let i = 0; i < outputs.length; i++) {
    let r = unchecked(outputs[i]);
    r.ref();
    if (outputLevel == 0) unchecked(nv.levels[0]).unshift(r);
    else nv.insertSorted(outputLevel, r);
  }
  return nv;
}
