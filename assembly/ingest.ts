// Bulk ingest: a large restore chunk becomes a level-0 run directly, bypassing the memtable
// (RocksDB's IngestExternalFile, with the sort done here). docs/LSM.md, "Bulk ingest", says
// where the run goes and why that keeps reads exact; this file only builds it.
//
// The records (a validated restore image, docs/ABI.md) are ordered by (user key, sequence
// descending) and only the newest record of each key is kept, tombstones included. Dropping
// the older ones is exact: the chunk is applied in one call, above every snapshot and open
// iterator, so no reader can ever see a version that a newer one of the same chunk hides.
//
// Sort: each record gets a 16-byte entry { prefix u64 | record pointer u32 | spare u32 },
// the prefix being the eight key bytes after the chunk's longest common prefix (keys such
// as "user:000123" share their first bytes), big-endian and zero-padded, so that when two
// prefixes differ their order is the keys' byte order (bytes.ts keyPrefix). An LSD radix
// sort on the prefix — one histogram pass for all eight bytes, and a byte every entry
// shares is skipped — is stable, so entries with equal prefixes stay in image order, which
// is sequence order. Groups of equal prefixes are then put in full-key order by a stable
// insertion sort (small groups) or merge sort, and the last entry of each run of equal keys
// is the newest. Cost: O(n) for distinct prefixes, O(n log n) comparisons at worst.
import { Run } from "./run";
import { RunBuilder } from "./run-builder";
import { compareBytes, equalBytes, keyPrefix } from "./bytes";
import { makeTag, KIND_RANGE_DELETE } from "./internal-key";
import { budgetAlloc, budgetFree } from "./memory-budget";
import { RangeDels, copyClipped } from "./range-del";
import { tombstoneOnlyRun } from "./run-builder";

/** Restore image record header: kind u8 | seq f64 | keyLen u32 | valLen u32. */
export const RESTORE_HEADER: usize = 17;
/** Restore image padding: kind u8 = 2 | n u32 | n bytes, carrying nothing (docs/ABI.md). */
export const KIND_PAD: u8 = 2;
export const PAD_HEADER: usize = 5;
const ENTRY: usize = 16;
/** Groups of equal prefixes up to this size are insertion-sorted. */
const SMALL_GROUP: u32 = 16;
/** Radix histograms: 8 digit positions × 256 counts (u32). */
const HIST: usize = memory.data(8 * 256 * 4, 16);

/** Bytes ingestRun allocates besides the run itself, for n records. */
export function ingestScratchBytes(n: u32): u64 { return <u64>n * <u64>(ENTRY * 2); }

/**
 * Builds one run holding the newest record of each key among the records of the restore
 * image (p, count) whose sequence is above `after` (there are n >= 1 of them), and the
 * chunk's range deletions as the run's range tombstones, each with its own seq (as a flush
 * carries a memtable's: a read compares sequences, so a key's newest record and a tombstone
 * of the same chunk order themselves, and the tombstone hides older runs' keys). REQUIRES:
 * the image is validated (restoreBatch). Returns null when memory ran out; then nothing it
 * allocated remains.
 */
export function ingestRun(p: usize, count: u32, n: u32, after: u64, blockBytes: u32, bitsPerKey: u32): Run | null {
  let bytes = <usize>n * ENTRY;
  let a = budgetAlloc(bytes);
  if (a == 0) return null;
  let b = budgetAlloc(bytes);
  if (b == 0) { budgetFree(a, bytes); return null; }

  // Pass 1: the records to apply, and their keys' longest common prefix; range deletions
  // apart (their keys point into the image, copied into the run's own arena at the end).
  let q = p;
  let i: u32 = 0;
  let first: usize = 0;
  let lcp: u32 = 0;
  let rd: RangeDels | null = null;
  for (let r: u32 = 0; r < count; r++) {
    if (load<u8>(q) == KIND_PAD) { q += PAD_HEADER + <usize>load<u32>(q + 1); continue; }
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    if (load<u8>(q) == KIND_RANGE_DELETE) {
      let seq = <u64>load<f64>(q + 1);
      if (seq > after) {
        if (rd == null) rd = new RangeDels();
        rd!.push(q + RESTORE_HEADER, klen, q + RESTORE_HEADER + klen, vlen, seq);
      }
      q += RESTORE_HEADER + <usize>klen + <usize>vlen;
      continue;
    }
    if (<u64>load<f64>(q + 1) > after) {
      let k = q + RESTORE_HEADER;
      if (i == 0) { first = k; lcp = klen; }
      else if (lcp > 0) lcp = commonPrefix(first, k, lcp < klen ? lcp : klen);
      store<u32>(a + <usize>i * ENTRY, <u32>q, 8);
      i++;
    }
    q += RESTORE_HEADER + <usize>klen + <usize>vlen;
  }
  n = i; // the point records (the range deletions are not sorted)

  // Pass 2: prefixes, and the histogram of each of their bytes.
  memory.fill(HIST, 0, 8 * 256 * 4);
  for (i = 0; i < n; i++) {
    let e = a + <usize>i * ENTRY;
    let rec = <usize>load<u32>(e, 8);
    let pre = keyPrefix(rec + RESTORE_HEADER + lcp, load<u32>(rec + 9) - lcp);
    store<u64>(e, pre);
    for (let d: u32 = 0; d < 8; d++) {
      let h = HIST + ((((<usize>d) << 8) + <usize>((pre >> (<u64>d << 3)) & 0xff)) << 2);
      store<u32>(h, load<u32>(h) + 1);
    }
  }

  // LSD radix sort on the prefix, least significant byte first (stable).
  let src = a, dst = b;
  for (let d: u32 = 0; d < 8; d++) {
    let h = HIST + (<usize>d << 10);
    let shift = <u64>d << 3;
    let some = <usize>((load<u64>(src) >> shift) & 0xff);
    if (load<u32>(h + (some << 2)) == n) continue; // every entry has this byte
    let sum: u32 = 0;
    for (let j: usize = 0; j < 256; j++) {
      let c = load<u32>(h + (j << 2));
      store<u32>(h + (j << 2), sum);
      sum += c;
    }
    for (i = 0; i < n; i++) {
      let e = src + <usize>i * ENTRY;
      let pre = load<u64>(e);
      let slot = h + (<usize>((pre >> shift) & 0xff) << 2);
      let at = load<u32>(slot);
      store<u32>(slot, at + 1);
      let o = dst + <usize>at * ENTRY;
      store<u64>(o, pre);
      store<u64>(o, load<u64>(e, 8), 8);
    }
    let t = src; src = dst; dst = t;
  }

  // Equal prefixes: order by the full key, stably.
  i = 0;
  while (i < n) {
    let pre = load<u64>(src + <usize>i * ENTRY);
    let j = i + 1;
    while (j < n && load<u64>(src + <usize>j * ENTRY) == pre) j++;
    let m = j - i;
    if (m > 1) {
      let g = src + <usize>i * ENTRY;
      if (m <= SMALL_GROUP) insertionSort(g, m, lcp);
      else mergeSort(g, m, dst + <usize>i * ENTRY, lcp);
    }
    i = j;
  }

  // The newest record of each key, in key order.
  let builder = new RunBuilder(blockBytes, bitsPerKey);
  i = 0;
  while (i < n) {
    let e = src + <usize>i * ENTRY;
    let rec = <usize>load<u32>(e, 8);
    let pre = load<u64>(e);
    let klen = load<u32>(rec + 9);
    let k = rec + RESTORE_HEADER;
    while (i + 1 < n) {
      let e2 = e + ENTRY;
      if (load<u64>(e2) != pre) break;
      let rec2 = <usize>load<u32>(e2, 8);
      let klen2 = load<u32>(rec2 + 9);
      if (!equalBytes(rec2 + RESTORE_HEADER, klen2, k, klen)) break;
      e = e2; rec = rec2; i++;
    }
    // rec is now the newest record of the key (the last of its equal keys).
    let vlen = load<u32>(rec + 13);
    let tag = makeTag(<u64>load<f64>(rec + 1), load<u8>(rec));
    builder.addDistinct(k, klen, tag, rec + RESTORE_HEADER + klen, vlen);
    if (builder.failed) break;
    i++;
  }
  budgetFree(a, bytes);
  budgetFree(b, bytes);
  let failed = builder.failed;
  let run = builder.finish();
  builder.release();
  if (rd == null || failed) return run;
  // The tombstones, copied out of the image into an arena the run owns.
  let own = copyClipped(rd!, null, 0, 0, false, 0, 0, false);
  if (own == null) { if (run != null) { run.refs = 1; run.unref(); } return null; }
  if (run == null) {
    let t = tombstoneOnlyRun(own!);
    if (t == null) own!.free(); // not taken
    return t;
  }
  run.setRangeDels(own!);
  return run;
}

function commonPrefix(a: usize, b: usize, n: u32): u32 {
  let i: u32 = 0;
  while (i + 8 <= n && load<u64>(a + i) == load<u64>(b + i)) i += 8;
  while (i < n && load<u8>(a + i) == load<u8>(b + i)) i++;
  return i;
}

/** Full-key order of the entries at e and f (keys compared after the common prefix). */
// @ts-ignore: decorator
@inline function compareEntries(e: usize, f: usize, lcp: u32): i32 {
  let ra = <usize>load<u32>(e, 8), rb = <usize>load<u32>(f, 8);
  return compareBytes(ra + RESTORE_HEADER + lcp, load<u32>(ra + 9) - lcp, rb + RESTORE_HEADER + lcp, load<u32>(rb + 9) - lcp);
}

/** Stable insertion sort of m entries at g. */
function insertionSort(g: usize, m: u32, lcp: u32): void {
  for (let i: u32 = 1; i < m; i++) {
    let e = g + <usize>i * ENTRY;
    let w0 = load<u64>(e), w1 = load<u64>(e, 8);
    let j = i;
    while (j > 0) {
      let f = g + <usize>(j - 1) * ENTRY;
      let ra = <usize>(<u32>w1), rb = <usize>load<u32>(f, 8);
      if (compareBytes(rb + RESTORE_HEADER + lcp, load<u32>(rb + 9) - lcp, ra + RESTORE_HEADER + lcp, load<u32>(ra + 9) - lcp) <= 0) break;
      store<u64>(f + ENTRY, load<u64>(f));
      store<u64>(f + ENTRY, load<u64>(f, 8), 8);
      j--;
    }
    let o = g + <usize>j * ENTRY;
    store<u64>(o, w0);
    store<u64>(o, w1, 8);
  }
}

/** Stable bottom-up merge sort of m entries at g, with tmp (m entries) as scratch. */
function mergeSort(g: usize, m: u32, tmp: usize, lcp: u32): void {
  for (let s: u32 = 0; s < m; s += SMALL_GROUP) insertionSort(g + <usize>s * ENTRY, m - s < SMALL_GROUP ? m - s : SMALL_GROUP, lcp);
  let from = g, to = tmp;
  for (let w = SMALL_GROUP; w < m; w <<= 1) {
    for (let lo: u32 = 0; lo < m; lo += w << 1) {
      let mid = lo + w < m ? lo + w : m;
      let hi = lo + (w << 1) < m ? lo + (w << 1) : m;
      let x = lo, y = mid, o = lo;
      while (x < mid && y < hi) {
        let ex = from + <usize>x * ENTRY, ey = from + <usize>y * ENTRY;
        let take = ex;
        if (compareEntries(ex, ey, lcp) <= 0) x++; else { take = ey; y++; }
        let d = to + <usize>o * ENTRY;
        store<u64>(d, load<u64>(take));
        store<u64>(d, load<u64>(take, 8), 8);
        o++;
      }
      if (x < mid) memory.copy(to + <usize>o * ENTRY, from + <usize>x * ENTRY, <usize>(mid - x) * ENTRY);
      else if (y < hi) memory.copy(to + <usize>o * ENTRY, from + <usize>y * ENTRY, <usize>(hi - y) * ENTRY);
    }
    let t = from; from = to; to = t;
  }
  if (from != g) memory.copy(g, from, <usize>m * ENTRY);
}
