// The ABI's reads (docs/ABI.md, "Exports" and "Regions"): point lookups, snapshots, and
// iterators, which fill the iterator batch region (and the key and value packs) with up to
// ITER_BATCH entries a call. A value a read returns stays readable until the next call into
// the engine (a block-cache safe point: run.ts safePoint).
import * as E from "./engine";
import * as S from "./status";
import { safePoint } from "./run";
import { fileBacking, blockBytesThisCall } from "./block-cache";
import { READ_CALL_BYTES } from "./tuning";
import { GROUP, FOUND, ABSENT, answer, valPtr, valLen, batchable, lookupGroup } from "./batch-lookup";
import { setResult } from "./abi-regions";
import { budgetAlloc, budgetFree, grownCapacity } from "./memory-budget";

/** Iterator batches: up to ITER_BATCH × { keyPtr, keyLen, valPtr, valLen } as u32, then the
 *  batch trailer: flags u32 (TRAILER_*), key pack ptr u32, key bytes packed u32, value pack
 *  ptr u32, value bytes packed u32. */
const ITER_BATCH: i32 = 256;
const BATCH: usize = memory.data(ITER_BATCH * 16 + 24, 8);
const TRAILER: usize = BATCH + <usize>ITER_BATCH * 16;
const TRAILER_ENDED: u32 = 1;
const TRAILER_ASCII: u32 = 2;
/** The packs: the keys (ITER_PACK_KEYS) and values (ITER_PACK_VALUES) of a batch, each end to
 *  end in batch order, which the host copies out with one call each before its next call
 *  into the engine. An entry that does not fit ends the batch, unpacked. Shared by every
 *  iterator: only the last batch's packs are there. */
const ITER_PACK_VALUES: u8 = 8;
const ITER_PACK_KEYS: u8 = 16;
const VALUE_PACK_BYTES: u32 = 64 << 10;
const VALUE_PACK: usize = memory.data(<i32>VALUE_PACK_BYTES, 8);
const KEY_PACK_BYTES: u32 = 16 << 10;
const KEY_PACK: usize = memory.data(<i32>KEY_PACK_BYTES, 8);
/** The ITER_PACK_* flags of the iterator with handle i. */
const packs = new Array<u8>();

export function batch_ptr(): usize { return BATCH; }
export function batch_capacity(): i32 { return ITER_BATCH; }

/** OK and RESULT = (value, seq), or NOT_FOUND. snapSeq < 0 means "now". The value stays
 *  readable until the next call (a block-cache safe point). */
export function get(kp: usize, kl: u32, snapSeq: f64): i32 {
  safePoint();
  return setResult(E.lookup(kp, kl, snapSeq < 0 ? E.lastSeq : <u64>snapSeq));
}

/** getAll's value pack: the values get_many found, end to end, which the host copies out
 *  with one slice (one crossing for a batch's values, not one per value). Grown to the
 *  batch's bytes up to GET_PACK_MAX and kept for the next batch: 1 MiB holds a thousand
 *  1 KiB values; past that a copy per value costs little next to its bytes, and the pack
 *  holds no more of the memory budget. A value that does not fit (or a pack refused memory)
 *  stays where it is, its pointer into a memtable, a block or a run, readable until the
 *  next call (a block-cache safe point). The pack outlives the call, so it grows only into
 *  room a write would leave free (the reserves, memory-budget.ts): at the cap it must not
 *  take the room that flush and compaction were promised. */
let getPack: usize = 0;
let getPackCap: usize = 0;
const GET_PACK_MIN: usize = 64 << 10;
const GET_PACK_MAX: usize = 1 << 20;

/** getAll: keys packed as count × { keyLen u32 | key } at p; for each key writes
 *  { valPtr u32, valLen u32 } to out (valLen = 0xffffffff when absent, 0xfffffffe when its
 *  newest version is a merge operand: the host gets that key alone, whose chain it folds),
 *  then, after the last key answered, the value pack { packPtr u32, packBytes u32 }: a
 *  value whose pointer lies in [packPtr, packPtr + packBytes) was copied there. Returns how
 *  many keys it answered, from the first, or -status (the first failed key's). That is fewer
 *  than `count` once the call has read READ_CALL_BYTES of blocks (always at least one key):
 *  blocks read in a call stay in memory until it returns, so a batch of cache misses could
 *  otherwise need more than the read reserve under a memory cap. The host calls again for
 *  the rest. */
export function get_many(p: usize, count: u32, out: usize, snapSeq: f64): i32 {
  safePoint(); // only here: every value found must stay readable until the call returns
  let seq = snapSeq < 0 ? E.lastSeq : <u64>snapSeq;
  let total: u64 = 0;
  let o = out;
  let n: u32 = 0;
  if (batchable()) {
    // Interleaved, GROUP keys at a time (batch-lookup.ts); no block is read through the
    // cache, so the read bound below cannot be reached.
    while (n < count) {
      let g = <i32>min<u32>(<u32>GROUP, count - n);
      lookupGroup(p, g, seq);
      for (let i = 0; i < g; i++, o += 8) {
        let a = unchecked(answer[i]);
        let kl = load<u32>(p);
        if (a == FOUND) { let vl = unchecked(valLen[i]); store<u32>(o, <u32>unchecked(valPtr[i])); store<u32>(o, vl, 4); total += vl; }
        else if (a == ABSENT) { store<u32>(o, 0); store<u32>(o, 0xffffffff, 4); }
        else {
          let st = lookupOne(p + 4, kl, o, seq);
          if (st < 0) return st;
          total += <u64>st;
        }
        p += 4 + <usize>kl;
      }
      n += <u32>g;
    }
  } else {
    while (n < count) {
      let kl = load<u32>(p);
      let st = lookupOne(p + 4, kl, o, seq);
      if (st < 0) return st;
      total += <u64>st;
      o += 8;
      p += 4 + <usize>kl;
      n++;
      if (blockBytesThisCall > READ_CALL_BYTES) break;
    }
  }
  let used = packValues(out, n, total);
  store<u32>(o, <u32>getPack);
  store<u32>(o, used, 4);
  return <i32>n;
}

/** One key of get_many by lookup(): writes its result at o; returns the value's length
 *  (0 when none), or -status. */
function lookupOne(kp: usize, kl: u32, o: usize, seq: u64): i32 {
  let st = E.lookup(kp, kl, seq);
  if (st == S.OK) { store<u32>(o, <u32>E.foundVal); store<u32>(o, E.foundValLen, 4); return <i32>E.foundValLen; }
  if (st == S.NOT_FOUND) { store<u32>(o, 0); store<u32>(o, 0xffffffff, 4); return 0; }
  if (st == S.MERGED) {
    E.counters.gets--; // the host looks the key up again, alone, to fold it: that get counts it
    store<u32>(o, 0); store<u32>(o, 0xfffffffe, 4); return 0;
  }
  return -st;
}

/** Copies the found values of get_many's results at out into the pack, as many as fit (in
 *  batch order), pointing their results there; returns the bytes packed. No block is freed
 *  within the call (budgetAlloc never evicts), so every result's pointer is still good. */
function packValues(out: usize, count: u32, total: u64): u32 {
  let want: usize = total < <u64>GET_PACK_MAX ? <usize>total : GET_PACK_MAX;
  if (want > getPackCap) {
    let cap = grownCapacity(getPackCap, <u64>want, GET_PACK_MIN);
    let np = E.leavesReserves(<u64>cap) ? budgetAlloc(cap) : 0;
    if (np != 0) { budgetFree(getPack, getPackCap); getPack = np; getPackCap = cap; }
  }
  let used: usize = 0;
  for (let i: u32 = 0; i < count; i++, out += 8) {
    let vl = load<u32>(out, 4);
    if (vl >= 0xfffffffe || <usize>vl > getPackCap - used) continue;
    let dst = getPack + used;
    let src = <usize>load<u32>(out);
    if (vl <= SMALL_COPY) packCopy(dst, src, vl);
    else memory.copy(dst, src, vl);
    store<u32>(out, <u32>dst);
    used += <usize>vl;
  }
  return <u32>used;
}

export function last_seq(): f64 { return <f64>E.lastSeq; }
export function snapshot_acquire(): f64 { return <f64>E.acquireSnapshot(); }
export function snapshot_release(seq: f64): void { E.releaseSnapshot(<u64>seq); }

/** Bounds are read from (lp, ll) and (up, ul) and copied; flags: 1 has lower, 2 has upper,
 *  4 reverse, 8 pack values, 16 pack keys (iter_next). Returns a handle >= 0, or -status. */
export function iter_open(lp: usize, ll: u32, up: usize, ul: u32, flags: u32, snapSeq: f64): i32 {
  let seq = snapSeq < 0 ? E.lastSeq : <u64>snapSeq;
  let h = E.openIterator(lp, ll, (flags & 1) != 0, up, ul, (flags & 2) != 0, (flags & 4) != 0, seq);
  if (h >= 0) {
    while (packs.length <= h) packs.push(0);
    unchecked(packs[h] = <u8>flags & (ITER_PACK_VALUES | ITER_PACK_KEYS));
  }
  return h;
}

/** Copies len bytes from src to dst (not overlapping) and returns their high bits, ORed: 0
 *  when they are all ASCII. Words at a time: memory.copy is a call out of the module,
 *  which costs more than the loop for a key or a small value. */
function packCopy(dst: usize, src: usize, len: u32): u64 {
  let acc: u64 = 0;
  let end = src + <usize>len;
  for (; src + 8 <= end; src += 8, dst += 8) {
    let w = load<u64>(src);
    store<u64>(dst, w);
    acc |= w;
  }
  for (; src < end; src++, dst++) {
    let b = load<u8>(src);
    store<u8>(dst, b);
    acc |= <u64>b;
  }
  return acc & 0x8080808080808080;
}

/** Set in an entry's valLen when its value is a merge chain image (merge-chain.ts) for the
 *  host to fold: values are at most MAX_VALUE_BYTES (64 MiB), far below this bit. */
const MERGE_CHAIN: u32 = 0x80000000;

/** Values up to this many bytes are packed by packCopy, longer ones by memory.copy. */
const SMALL_COPY: u32 = 256;

/** Fills BATCH with up to `max` entries; returns how many, or -status (a failed block read:
 *  the iterator then keeps failing). A batch ends short of max, even empty, before the
 *  iterator's end when its copies or the blocks read in this call reach READ_CALL_BYTES
 *  (db-iterator.ts batchFull, mustPause): the trailer's ENDED flag tells the end. The pointers stay valid until the
 *  iterator's next iter_next or its close: in a store with file backing they point into
 *  the iterator's batch copy, otherwise into the memtable and runs it pins. A packed value's
 *  pointer points into VALUE_PACK; key pointers never point into KEY_PACK (rawKey reads them
 *  later). The trailer says whether the iterator ended in this call and what was packed. */
export function iter_next(h: i32, max: i32): i32 {
  let it = E.getIterator(h);
  if (it == null) return -S.BAD_HANDLE;
  if (it.error != S.OK) { it.publishReadError(); return -it.error; }
  safePoint();
  if (max > ITER_BATCH) max = ITER_BATCH;
  let copy = fileBacking;
  if (copy || it.usesArena) it.resetBatch();
  let pack: u8 = h < packs.length ? unchecked(packs[h]) : 0;
  let packValues = (pack & ITER_PACK_VALUES) != 0, packKeys = (pack & ITER_PACK_KEYS) != 0;
  let valueBytes: u32 = 0, keyBytes: u32 = 0;
  let high: u64 = 0;
  let n = 0;
  let p = BATCH;
  let ended = false;
  while (n < max) {
    if (!it.step()) {
      if (it.error != S.OK) return -it.error; // a chain refused memory
      if (it.paused) { it.paused = false; break; } // read enough blocks for one call
      ended = true;
      break;
    }
    let kp = it.keyPtr, kl = it.keyLen, vp = it.valPtr, vl = it.valLen;
    let chain: u32 = it.isChain ? MERGE_CHAIN : 0;
    let full = false, valuePacked = false;
    if (packKeys) {
      if (kl <= KEY_PACK_BYTES - keyBytes) {
        high |= packCopy(KEY_PACK + keyBytes, kp, kl);
        keyBytes += kl;
      } else full = true;
    }
    if (packValues && !full) {
      if (vl <= VALUE_PACK_BYTES - valueBytes) {
        if (vl <= SMALL_COPY) packCopy(VALUE_PACK + valueBytes, vp, vl);
        else memory.copy(VALUE_PACK + valueBytes, vp, vl);
        vp = VALUE_PACK + valueBytes;
        valueBytes += vl;
        valuePacked = true;
      } else full = true;
    }
    if (copy) {
      kp = it.keep(kp, kl);
      if (!valuePacked) vp = it.keep(vp, vl);
      if (kp == 0 || vp == 0) { it.error = S.OUT_OF_MEMORY; return -S.OUT_OF_MEMORY; }
    }
    store<u32>(p, <u32>kp);
    store<u32>(p, kl, 4);
    store<u32>(p, <u32>vp, 8);
    store<u32>(p, vl | chain, 12);
    p += 16;
    n++;
    if (full || (copy && it.batchFull())) break;
  }
  store<u32>(TRAILER, (ended ? TRAILER_ENDED : 0) | (high == 0 ? TRAILER_ASCII : 0));
  store<u32>(TRAILER, <u32>KEY_PACK, 4);
  store<u32>(TRAILER, keyBytes, 8);
  store<u32>(TRAILER, <u32>VALUE_PACK, 12);
  store<u32>(TRAILER, valueBytes, 16);
  // A source that failed a read ended the merge early: an error, never a scan cut short.
  let rs = it.readStatus();
  if (rs != S.OK) { it.error = rs; it.publishReadError(); return -rs; }
  if (copy && !it.keepSkipKey()) { it.error = S.OUT_OF_MEMORY; return -S.OUT_OF_MEMORY; }
  return n;
}

export function iter_close(h: i32): i32 { return E.closeIterator(h); }
