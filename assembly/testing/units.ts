// The unit-test entry: a second Wasm module (build/units.wasm, `npm run asbuild:units`),
// loaded only by test/support/units-wasm.ts for test/engine-units.test.ts, which runs the
// datadriven cases of assembly/testdata/. It exports small drivers over the engine's real
// units (block, bloom, memtable, merging and db iterators, compaction picking) and holds
// no logic of its own beyond building their inputs and reporting their state: a case fails
// when a unit does, not when a copy of it does. Not part of the ABI (docs/ABI.md) and never
// shipped; its exports may change with the tests.
//
// Conventions: keys and values are (ptr, len) in a scratch region the host fills (arg);
// sequence numbers cross as f64 (as in the ABI); a negative seek sequence means "before
// every version of the key" (the tag DbIterator seeks with). An entry-shaped result goes
// to OUT: +0 valid u32, +4 key ptr, +8 key len, +12 value ptr, +16 value len, +20 block
// index u32, +24 sequence f64, +32 kind u32.
import "../abort";
import { BaseLevels, VersionBase } from "../base-levels";
import { budgetAlloc, budgetFree, copyBound, grownCapacity, memoryAllocated, memoryCap, setMemoryCap } from "../memory-budget";
import { hash32, crc32c } from "../bytes";
import { xxh64 } from "../xxhash64";
import { makeTag, seekTag, tagSeq, tagKind } from "../internal-key";
import { BlockBuilder, BlockCursor } from "../block";
import { bloomImageSize, buildBloom, bloomMayContain } from "../bloom";
import { Memtable, MemtableIterator, entryKey, entryKeyLen, entryVal, entryValLen, entryTag } from "../memtable";
import { InternalIterator } from "../internal-iterator";
import { MergingIterator, TreeMergingIterator } from "../merge-iterator";
import { DbIterator } from "../db-iterator";
import { startCall } from "../block-cache";
import { Run, RunIterator } from "../run";
import { RunBuilder, tombstoneOnlyRun } from "../run-builder";
import { RangeDels, copyClipped } from "../range-del";
import { Merger, CompactionConfig } from "../compaction";
import { Version, MAX_LEVELS } from "../version";
import { config, install, version } from "../state";
import { levelScore, pickLevel, pickInputs } from "../leveled";

const OUT: usize = memory.data(40, 8);

function setOut(valid: bool, kp: usize, kl: u32, vp: usize, vl: u32, tag: u64): void {
  store<u32>(OUT, valid ? 1 : 0);
  store<u32>(OUT, <u32>kp, 4);
  store<u32>(OUT, kl, 8);
  store<u32>(OUT, <u32>vp, 12);
  store<u32>(OUT, vl, 16);
  store<f64>(OUT, <f64>tagSeq(tag), 24);
  store<u32>(OUT, <u32>tagKind(tag), 32);
}

export function out_ptr(): usize { return OUT; }

let argBuf: usize = 0;
let argCap: usize = 0;
/** A scratch region of at least `len` bytes for the host to write keys and values into;
 *  valid until the next call of arg. */
export function arg(len: u32): usize {
  if (<usize>len > argCap) {
    budgetFree(argBuf, argCap);
    argCap = <usize>len < 4096 ? 4096 : <usize>len;
    argBuf = budgetAlloc(argCap);
  }
  return argBuf;
}

/** The tag a seek at `seq` uses: seekTag(seq), or before every version when seq < 0. */
function seekTagOf(seq: f64): u64 { return seq < 0 ? 0xffffffffffffffff : seekTag(<u64>seq); }

// ---- checksums (xxhash64.ts, bytes.ts) ------------------------------------------------------

/** XXH64 of (p, len) with `seed` (a BigInt on the host). */
export function xxhash64(p: usize, len: u32, seed: u64): u64 { return xxh64(p, len, seed); }
/** grownCapacity (memory-budget.ts): the doubled size of a growing buffer, capped at MAX_ALLOC, 0 past it. */
export function grown_capacity(cap: f64, need: f64, min: f64): f64 { return <f64>grownCapacity(<usize>cap, <u64>need, <usize>min); }
/** CRC-32C of (p, len). */
export function checksum_crc32c(p: usize, len: u32): u32 { return crc32c(p, len); }

// ---- block (block.ts) ----------------------------------------------------------------------

const builder = new BlockBuilder();
const cursor = new BlockCursor();
let blockPtr: usize = 0;
let blockLen: u32 = 0;

/** Appends an entry to the block being built; false when out of memory. */
export function block_add(kp: usize, kl: u32, seq: f64, kind: u8, vp: usize, vl: u32): bool {
  return builder.add(kp, kl, makeTag(<u64>seq, kind), vp, vl) >= 0;
}

/** Finishes the block (the previous one is freed) and stands the cursor on it; its size. */
export function block_finish(): u32 {
  budgetFree(blockPtr, blockLen);
  blockLen = <u32>builder.estimate();
  blockPtr = builder.finish();
  cursor.reset(blockPtr, blockLen);
  return blockLen;
}

export function block_count(): u32 { return cursor.count; }
/** Offset of entry i from the block start, as the block's offset array (restart points) says. */
export function block_restart(i: u32): u32 { return load<u32>(cursor.offsets + (<usize>i << 2)); }
/** Index of the first entry >= (key, seekTag(seq)). */
export function block_seek_ge(kp: usize, kl: u32, seq: f64): u32 { return cursor.lowerBound(kp, kl, seekTagOf(seq)); }
/** BlockCursor.seek, a point lookup (through the hash index where the block has one): the
 *  index of the newest entry of the key visible at seq, or -1 when the block holds none. */
export function block_get(kp: usize, kl: u32, seq: f64): i32 {
  return cursor.seek(kp, kl, hash32(kp, kl), seekTagOf(seq)) ? <i32>cursor.index : -1;
}
/** The hash index's buckets in the block built last (0: it has none). */
export function block_buckets(): u32 { return cursor.hashed ? <u32>load<u16>(cursor.offsets - 2) : 0; }
/** Decodes entry i into OUT (invalid when i is past the end). */
export function block_at(i: u32): void {
  if (i >= cursor.count) { setOut(false, 0, 0, 0, 0, 0); return; }
  cursor.decode(i);
  setOut(true, cursor.keyPtr, cursor.keyLen, cursor.valPtr, cursor.valLen, cursor.tag);
  store<u32>(OUT, cursor.index, 20);
}

// ---- bloom (bloom.ts) ----------------------------------------------------------------------

let hashes: usize = 0;
let hashCap: u32 = 0;
let hashCount: u32 = 0;
let bloom: usize = 0;
let bloomSize: usize = 0;

/** Starts a filter's key set. */
export function bloom_reset(): void { hashCount = 0; }
/** Adds a key, hashed as RunBuilder hashes user keys. */
export function bloom_add(kp: usize, kl: u32): void {
  if (hashCount >= hashCap) {
    let ncap: u32 = hashCap < 1024 ? 1024 : hashCap << 1;
    let nb = budgetAlloc(<usize>ncap << 2);
    memory.copy(nb, hashes, <usize>hashCount << 2);
    budgetFree(hashes, <usize>hashCap << 2);
    hashes = nb;
    hashCap = ncap;
  }
  store<u32>(hashes + (<usize>hashCount << 2), hash32(kp, kl));
  hashCount++;
}
/** Builds the filter over the keys added; its image size. */
export function bloom_build(bitsPerKey: u32): u32 {
  budgetFree(bloom, bloomSize);
  bloomSize = bloomImageSize(hashCount, bitsPerKey);
  bloom = buildBloom(hashes, hashCount, bitsPerKey);
  return <u32>bloomSize;
}
/** The probe count the image records (its last byte). */
export function bloom_k(): u32 { return <u32>load<u8>(bloom + bloomSize - 1); }
export function bloom_probe(kp: usize, kl: u32): bool { return bloomMayContain(bloom, bloomSize, hash32(kp, kl)); }

// ---- the current internal iterator (memtable, merging) ----------------------------------------

let cur: InternalIterator | null = null;

function setIter(it: InternalIterator): void {
  let old = cur;
  if (old != null) old.close();
  cur = it;
}

function report(): void {
  let it = cur!;
  if (!it.valid) { setOut(false, 0, 0, 0, 0, 0); return; }
  setOut(true, it.keyPtr, it.keyLen, it.valPtr, it.valLen, it.tag);
}

export function it_first(): void { cur!.seekToFirst(); report(); }
export function it_last(): void { cur!.seekToLast(); report(); }
export function it_seek_ge(kp: usize, kl: u32, seq: f64): void { cur!.seekGE(kp, kl, seekTagOf(seq)); report(); }
export function it_seek_lt(kp: usize, kl: u32, seq: f64): void { cur!.seekLT(kp, kl, seekTagOf(seq)); report(); }
/** REQUIRES (the host checks): the iterator is valid. */
export function it_next(): void { cur!.next(); report(); }
export function it_prev(): void { cur!.prev(); report(); }

// ---- memtable (memtable.ts) --------------------------------------------------------------

let table: Memtable | null = null;

/** A fresh memtable; without its hash index (lookups walk the skiplist), as after the index
 *  was refused memory: init() is run under a cap that leaves room for the head node only. */
export function mem_new(hashIndex: bool): bool {
  let old = table;
  if (old != null) old.unref();
  let m = new Memtable(1 << 20);
  let cap = memoryCap();
  if (!hashIndex) setMemoryCap(memoryAllocated() + 65536 + 1024);
  let ok = m.init();
  setMemoryCap(cap);
  table = m;
  return ok;
}
export function mem_add(kp: usize, kl: u32, seq: f64, kind: u8, vp: usize, vl: u32): bool {
  return table!.add(kp, kl, makeTag(<u64>seq, kind), vp, vl);
}
/** The newest version of the key with sequence <= seq into OUT (a tombstone included). */
export function mem_get(kp: usize, kl: u32, seq: f64): void {
  let n = table!.find(kp, kl, seekTag(<u64>seq));
  if (n == 0) { setOut(false, 0, 0, 0, 0, 0); return; }
  setOut(true, entryKey(n), entryKeyLen(n), entryVal(n), entryValLen(n), entryTag(n));
}
export function mem_iter(): void { setIter(new MemtableIterator(table!)); }

// ---- sources for the merging iterators: memtables and runs ---------------------------------

const srcMems = new Array<Memtable | null>();
const srcRuns = new Array<Run | null>();
let runBuilder: RunBuilder | null = null;

/** Drops every source. */
export function src_reset(): void {
  let it = cur;
  if (it != null) { it.close(); cur = null; }
  for (let i = 0; i < srcMems.length; i++) {
    let m = unchecked(srcMems[i]);
    if (m != null) m.unref();
    let r = unchecked(srcRuns[i]);
    if (r != null) r.unref();
  }
  srcMems.length = 0;
  srcRuns.length = 0;
  for (let i = 0; i < rdKeys.length; i++) budgetFree(unchecked(rdKeys[i]), unchecked(rdKeyLens[i]));
  rdKeys.length = 0;
  rdKeyLens.length = 0;
  srcRd = new RangeDels();
}

/** Every source's range tombstones with seq <= maxSeq (pointers: the sources hold them). */
function sourceRangeDels(maxSeq: u64): RangeDels | null {
  let out = new RangeDels();
  for (let i = 0; i < srcMems.length; i++) {
    let m = unchecked(srcMems[i]);
    let r = unchecked(srcRuns[i]);
    if (m != null) out.pushAll(m.rangeDels, maxSeq);
    else if (r != null && r.rangeDels != null) out.pushAll(r.rangeDels!, maxSeq);
  }
  return out.count > 0 ? out : null;
}
/** Starts a memtable source. */
export function src_mem(): void {
  let m = new Memtable(1 << 20);
  m.init();
  srcMems.push(m);
  srcRuns.push(null);
}
/** Starts a run source, cut into blocks of about `blockBytes`. Entries must come in
 *  internal-key order (the host checks). */
export function src_run(blockBytes: u32): void {
  runBuilder = new RunBuilder(blockBytes, 10);
  srcMems.push(null);
  srcRuns.push(null);
}
export function src_add(kp: usize, kl: u32, seq: f64, kind: u8, vp: usize, vl: u32): bool {
  let i = srcMems.length - 1;
  let m = unchecked(srcMems[i]);
  if (m != null) return m.add(kp, kl, makeTag(<u64>seq, kind), vp, vl);
  runBuilder!.add(kp, kl, makeTag(<u64>seq, kind), vp, vl);
  return !runBuilder!.failed;
}
/** Range tombstones of the run source begun last (its memtable takes them at once). Their
 *  keys are copies in `rdKeys`, kept until src_reset. */
let srcRd = new RangeDels();
const rdKeys = new Array<usize>();
const rdKeyLens = new Array<u32>();
/** A range tombstone [from, to) at seq in the source begun last. */
export function src_rangedel(fp: usize, fl: u32, tp: usize, tl: u32, seq: f64): bool {
  let m = unchecked(srcMems[srcMems.length - 1]);
  if (m != null) return m.addRangeDel(fp, fl, tp, tl, <u64>seq);
  let f = copyBound(fp, fl), t = copyBound(tp, tl);
  rdKeys.push(f); rdKeys.push(t);
  rdKeyLens.push(fl == 0 ? 1 : fl); rdKeyLens.push(tl == 0 ? 1 : tl);
  srcRd.push(f, fl, t, tl, <u64>seq);
  return true;
}
/** Ends the source begun last; for a run, its block count (-1: empty or out of memory). A
 *  run takes the source's tombstones (a run of tombstones alone has 0 blocks). */
export function src_end(): i32 {
  let i = srcMems.length - 1;
  if (unchecked(srcMems[i]) != null) return 0;
  let r = runBuilder!.finish();
  runBuilder!.release();
  runBuilder = null;
  let rd = srcRd.count > 0 ? copyClipped(srcRd, null, 0, 0, false, 0, 0, false) : null;
  srcRd = new RangeDels();
  if (rd != null) {
    if (r == null) r = tombstoneOnlyRun(rd);
    else r.setRangeDels(rd);
  }
  if (r == null) return -1;
  r.ref();
  unchecked(srcRuns[i] = r);
  return r.blockCount();
}

function children(): Array<InternalIterator> {
  let cs = new Array<InternalIterator>();
  for (let i = 0; i < srcMems.length; i++) {
    let m = unchecked(srcMems[i]);
    let r = unchecked(srcRuns[i]);
    if (m != null) cs.push(new MemtableIterator(m));
    else if (r != null) cs.push(new RunIterator(r)); // an empty run is never built: no source
  }
  return cs;
}

/** The current iterator becomes a merge of every source: a MergingIterator in one
 *  direction, or (forward only) the TreeMergingIterator of deep level-0 compactions. */
export function merge_iter(forward: bool, tree: bool): void {
  if (tree) setIter(new TreeMergingIterator(children()));
  else setIter(new MergingIterator(children(), forward));
}

// ---- db iterator (db-iterator.ts): what a reader at a snapshot sees ---------------------------

let db: DbIterator | null = null;

/** Opens a DbIterator over a merge of every source at snapshot `seq`, within [lower, upper)
 *  where given (lower and upper are copied, as engine.ts does: close frees them). */
export function db_open(seq: f64, forward: bool, lp: usize, ll: u32, hasLower: bool, up: usize, ul: u32, hasUpper: bool): void {
  let old = db;
  if (old != null) old.close();
  let pin = new Memtable(4096); // DbIterator unpins a memtable and a version at close
  pin.init();
  let lo: usize = hasLower ? copyBound(lp, ll) : 0;
  let hi: usize = hasUpper ? copyBound(up, ul) : 0;
  db = new DbIterator(new MergingIterator(children(), forward), pin, null, new Version(), <u64>seq, forward,
    lo, ll, hasLower, hi, ul, hasUpper, sourceRangeDels(<u64>seq));
}
/** The next visible entry into OUT (its key and value; no tag). */
export function db_step(): void {
  let it = db!;
  startCall(); // a step of its own call: never paused for the blocks earlier steps read
  if (it.step()) setOut(true, it.keyPtr, it.keyLen, it.valPtr, it.valLen, 0);
  else setOut(false, 0, 0, 0, 0, 0);
}

// ---- merging (compaction.ts Merger): what a flush or compaction writes -----------------------

let merged = new Array<Run>();
/** Merges every source into runs cut at about `cutBytes` (0: one run) with the dropping
 *  rules at smallest snapshot `snap`. `level` < 0: a flush (no version: no tombstone is
 *  dropped); else a compaction into `level` of a version whose level `level` + 1 holds one
 *  run over [dlo, dhi] when hasDeeper. Returns the output runs' count, -1 on failure. */
export function merge_runs(snap: f64, level: i32, hasDeeper: bool, dlp: usize, dll: u32, dhp: usize, dhl: u32, cutBytes: f64): i32 {
  for (let i = 0; i < merged.length; i++) unchecked(merged[i]).unref();
  merged.length = 0;
  let v: Version | null = null;
  if (level >= 0) {
    v = new Version();
    if (hasDeeper) {
      let r = new Run();
      r.smallest = copyBound(dlp, dll); r.smallestLen = dll;
      r.largest = copyBound(dhp, dhl); r.largestLen = dhl;
      r.blockPtr.push(0); r.blockLen.push(0); // counts as holding entries (never read)
      r.ref();
      unchecked(v.levels[level + 1]).push(r);
    }
  }
  let cfg = new CompactionConfig();
  cfg.blockBytes = 32;
  cfg.runTargetBytes = cutBytes > 0 ? <u64>cutBytes : 0xffffffffffffffff;
  let base: BaseLevels | null = v != null ? new VersionBase(v!, level < 0 ? 0 : level) : null;
  let m = new Merger(new MergingIterator(children(), true), cfg, <u64>snap, base, cutBytes > 0,
                     sourceRangeDels(0xffffffffffffffff));
  m.step(0xffffffffffffffff);
  if (v != null) v.unref();
  if (m.failed) return -1;
  let out = m.output();
  for (let i = 0; i < out.length; i++) { let r = unchecked(out[i]); r.ref(); merged.push(r); }
  return merged.length;
}
/** The current iterator becomes output run i's. */
export function merged_iter(i: i32): void { setIter(new RunIterator(unchecked(merged[i]))); }
/** Output run i's range tombstones: how many. */
export function merged_rd_count(i: i32): i32 { let rd = unchecked(merged[i]).rangeDels; return rd == null ? 0 : rd.count; }
/** Tombstone j of output run i into OUT: key = from, value = to, its sequence. */
export function merged_rd(i: i32, j: i32): void {
  let rd = unchecked(merged[i]).rangeDels!;
  setOut(true, unchecked(rd.fromPtr[j]), unchecked(rd.fromLen[j]), unchecked(rd.toPtr[j]), unchecked(rd.toLen[j]), makeTag(unchecked(rd.seq[j]), 0));
}

// ---- compaction picking (leveled.ts) ------------------------------------------------------

/** Runs in the order the host defined them, so that picks name them by index. */
const shapeRuns = new Array<Run>();
let shape: Version | null = null;

/** A new level shape, under this configuration. */
export function shape_reset(level0Trigger: i32, levelBaseBytes: f64, levelMultiplier: u32): void {
  config.level0Trigger = level0Trigger;
  config.levelBaseBytes = <u64>levelBaseBytes;
  config.levelMultiplier = levelMultiplier;
  shapeRuns.length = 0;
  shape = new Version();
}
/** Adds a run of `bytes` bytes over user keys [smallest, largest] to `level` (level 0:
 *  newest first, in the order added; deeper levels sorted, as Version keeps them). A run
 *  with no blocks: picking reads only sizes and key ranges. */
export function shape_add(level: i32, sp: usize, sl: u32, lp: usize, ll: u32, bytes: f64): i32 {
  let r = new Run();
  r.smallest = copyBound(sp, sl);
  r.smallestLen = sl;
  r.largest = copyBound(lp, ll);
  r.largestLen = ll;
  r.bytes = <u64>bytes;
  r.ref();
  let v = shape!;
  if (level == 0) unchecked(v.levels[0]).push(r);
  else v.insertSorted(level, r);
  shapeRuns.push(r);
  return shapeRuns.length - 1;
}
/** Makes the shape the engine's current version (what pickLevel reads). */
export function shape_install(): void { install(shape!); shape = null; }

export function max_levels(): i32 { return MAX_LEVELS; }
export function level_score(level: i32): f64 { return levelScore(version, level); }
export function pick_level(): i32 { return pickLevel(); }

const picked = new Array<i32>();
/** Picks the inputs of a compaction of `level` (advancing its round-robin pointer): returns
 *  how many come from `level`; pick_input(i) names each input, upper ones first. */
export function pick_inputs(level: i32): i32 {
  let p = pickInputs(version, level);
  picked.length = 0;
  for (let i = 0; i < p.upper.length; i++) picked.push(shapeRuns.indexOf(unchecked(p.upper[i])));
  for (let i = 0; i < p.lower.length; i++) picked.push(shapeRuns.indexOf(unchecked(p.lower[i])));
  return p.upper.length;
}
export function pick_count(): i32 { return picked.length; }
export function pick_input(i: i32): i32 { return picked[i]; }
