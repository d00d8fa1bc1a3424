// Batch images (docs/ABI.md): a write batch (writeBatch, or prepareBatch then
// applyPrepared) and a restore chunk of changelog records (restoreBatch), each validated whole before anything
// is applied, then applied with consecutive (or their own) sequence numbers. A large
// restore chunk skips the memtable and becomes a level-0 run (ingestBatch; docs/LSM.md,
// "Bulk ingest").
// INVARIANT: an image refused (bad bytes, a bound, memory) applies nothing.
import { worstCaseInsertBytes } from "./memtable";
import { Run } from "./run";
import { replaceRuns } from "./compaction";
import { KIND_PUT, KIND_DELETE, KIND_RANGE_DELETE, KIND_MERGE, MAX_SEQ } from "./internal-key";
import { compareBytes } from "./bytes";
import { canAllocate, memoryCap, writeLeaves } from "./memory-budget";
import { ingestRun, ingestScratchBytes, RESTORE_HEADER, KIND_PAD, PAD_HEADER } from "./ingest";
import { config, counters, ready, mem, imm, version, lastSeq, setLastSeq, setFlushedSeq, install, applyOne, applyAt,
  bgStatus, refusal } from "./state";
import { flushMemtable } from "./flush";
import { afterWrite, compactAsNeeded } from "./leveled";
import { admit, replaying, maintenanceRoom } from "./admission";
import {
  ENTRY_OVERHEAD, INGEST_MIN_RECORDS, INGEST_MIN_FILL_SHIFT, BULK_L0_RUNS, BULK_L0_BYTES, BULK_L0_CAP_SHIFT,
  RESTORE_CHUNK_CAP_SHIFT, RESTORE_CHUNK_MIN, RESTORE_CHUNK_MAX,
} from "./tuning";
import * as S from "./status";

/**
 * A batch image (docs/ABI.md): count × { kind u8 | keyLen u32 | valLen u32 | key | value }.
 * Validated whole before anything is applied, then applied with consecutive sequences. For
 * a caller with nothing to do between the two (no log, no sink; a log's replay).
 */
export function writeBatch(p: usize, len: u32, count: u32): i32 {
  let st = checkBatch(p, len, count);
  if (st != S.OK) return st;
  applyImage(p, count, imageBytes);
  return S.OK;
}

/** What checkBatch measured: the image's worst-case memtable bytes, and the bytes afterWrite
 *  paces maintenance by. */
let imageNeed: u64 = 0;
let imageBytes: u64 = 0;

/**
 * Validates a batch image and reserves the memtable bytes it needs, applying nothing;
 * leaves imageNeed and imageBytes. After OK, applying it cannot fail.
 */
function checkBatch(p: usize, len: u32, count: u32): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  let end = p + <usize>len;
  let q = p;
  let need: u64 = 0;
  let bytes: u64 = 0;
  let puts = false;
  for (let i: u32 = 0; i < count; i++) {
    if (q + 9 > end) return S.INVALID_ARGUMENT;
    let kind = load<u8>(q);
    let klen = load<u32>(q + 1);
    let vlen = load<u32>(q + 5);
    if (kind != KIND_PUT && kind != KIND_DELETE && kind != KIND_RANGE_DELETE && kind != KIND_MERGE) return S.INVALID_ARGUMENT;
    if (klen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
    // A range deletion's value is its end key: a key's bound.
    if (kind == KIND_RANGE_DELETE && vlen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
    if (vlen > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
    if (<u64>(end - q - 9) < <u64>klen + <u64>vlen) return S.INVALID_ARGUMENT;
    // An empty range [from, to) with to <= from is refused: range-del.ts keeps from < to.
    if (kind == KIND_RANGE_DELETE && compareBytes(q + 9, klen, q + 9 + klen, vlen) >= 0) return S.INVALID_ARGUMENT;
    q += 9 + <usize>klen + <usize>vlen;
    need += worstCaseInsertBytes(klen, vlen);
    bytes += <u64>klen + <u64>vlen + ENTRY_OVERHEAD;
    if (kind == KIND_PUT || kind == KIND_MERGE) puts = true;
  }
  if (lastSeq + <u64>count > MAX_SEQ) return S.INVALID_ARGUMENT;
  if (!admit(need, puts)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  imageNeed = need;
  imageBytes = bytes;
  return S.OK;
}

/** Inserts a checked image's writes with the next sequences. REQUIRES: checkBatch of it
 *  returned OK and its reservation is intact. */
function applyImage(p: usize, count: u32, bytes: u64): void {
  let q = p;
  for (let i: u32 = 0; i < count; i++) {
    let kind = load<u8>(q);
    let klen = load<u32>(q + 1);
    let vlen = load<u32>(q + 5);
    let kp = q + 9;
    applyOne(kp, klen, kind, kp + klen, vlen);
    q = kp + <usize>klen + <usize>vlen;
  }
  afterWrite(bytes);
}

// ---- the batch prepared last: prepare_batch, then apply_prepared -------------------------
// A store with a log or sinks validates a batch (prepareBatch), logs it and hands it to the
// sinks, then applies it (applyPrepared) without parsing it again.
// INVARIANT: applyPrepared applies the image exactly as prepareBatch checked and admitted
// it, or refuses with INVALID_ARGUMENT and applies nothing. It relies on, and checks:
//   1. its token is the last prepareBatch's and was not applied yet: one preparation at a
//      time, so a preparation nested between the two (a re-entrant caller) ends the outer;
//   2. the image is as checked: the host writes into the argument region only after
//      io_reserve, io_grow or io_release, and each of them ends the preparation
//      (dropPrepared);
//   3. the sequences the host logged are the ones applied: no write since (lastSeq);
//   4. the memory admitted is there: the memtable taking writes still has the batch's
//      worst case free in its current chunk (a write or a flush since may have used it, or
//      sealed that memtable);
//   5. no background error was latched since (then its status, as every write gets).
// A preparation never applied (the log or a sink refused the write) needs no undo: nothing
// changed but room reserved in the memtable's current chunk, which later writes use.

/** The token of the batch prepared last, 0 when there is none to apply. */
let preparedToken: u32 = 0;
let lastToken: u32 = 0;
let preparedImage: usize = 0;
let preparedCount: u32 = 0;
let preparedNeed: u64 = 0;
let preparedBytes: u64 = 0;
let preparedSeq: u64 = 0;

/**
 * Validates a batch image and reserves the memtable bytes it needs, applying nothing; on OK
 * the batch becomes the prepared one, and preparedToken() names it. After OK,
 * applyPrepared(token) applies it and cannot fail unless the preparation was ended (above).
 * Any earlier preparation ends here, whatever the outcome.
 */
export function prepareBatch(p: usize, len: u32, count: u32): i32 {
  preparedToken = 0;
  let st = checkBatch(p, len, count);
  if (st != S.OK) return st;
  lastToken = lastToken == 0xffffffff ? 1 : lastToken + 1;
  preparedToken = lastToken;
  preparedImage = p;
  preparedCount = count;
  preparedNeed = imageNeed;
  preparedBytes = imageBytes;
  preparedSeq = lastSeq;
  return S.OK;
}

/** The token of the batch prepareBatch prepared (0: none, or ended since). */
export function currentPreparedToken(): u32 { return preparedToken; }

/** Ends the preparation: the argument region may be rewritten, moved or freed. */
export function dropPrepared(): void { preparedToken = 0; }

/** Applies the batch prepareBatch prepared, named by its token, without validating it
 *  again; INVALID_ARGUMENT (nothing applied) when the preparation has ended (above). */
export function applyPrepared(token: u32): i32 {
  let current = preparedToken;
  preparedToken = 0; // once: applied or refused, the preparation ends
  if (token == 0 || token != current) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  if (lastSeq != preparedSeq || mem.room() < preparedNeed) return S.INVALID_ARGUMENT;
  applyImage(preparedImage, preparedCount, preparedBytes);
  return S.OK;
}

/** Records applied by the last restoreBatch (the others were already in the store). */
export let restoredCount: u32 = 0;

/**
 * Applies changelog records with the sequence numbers they carry, so restored keys keep
 * their versions. Image (docs/ABI.md): count × { kind u8 | seq f64 | keyLen u32 |
 * valLen u32 | key | value }; kind 3 is a range deletion [key, value) at its seq. A record whose seq <= lastSeq is taken as already applied
 * and skipped, which makes replaying an overlapping tail idempotent; the rest must have
 * strictly increasing integer sequences. Padding records (kind 2) carry nothing. Validated
 * whole before anything is applied; a large chunk is ingested as a run (ingestBatch).
 */
export function restoreBatch(p: usize, len: u32, count: u32): i32 {
  if (!ready) return S.INVALID_ARGUMENT;
  if (bgStatus != S.OK) return refusal();
  restoredCount = 0;
  let end = p + <usize>len;
  let q = p;
  let need: u64 = 0;
  let n: u32 = 0;
  let userBytes: u64 = 0;
  let prev = lastSeq;
  for (let i: u32 = 0; i < count; i++) {
    if (q + PAD_HEADER <= end && load<u8>(q) == KIND_PAD) {
      let skip = load<u32>(q + 1);
      if (<u64>(end - q - PAD_HEADER) < <u64>skip) return S.INVALID_ARGUMENT;
      q += PAD_HEADER + <usize>skip;
      continue;
    }
    if (q + RESTORE_HEADER > end) return S.INVALID_ARGUMENT;
    let kind = load<u8>(q);
    let seqF = load<f64>(q + 1);
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    if (kind != KIND_PUT && kind != KIND_DELETE && kind != KIND_RANGE_DELETE) return S.INVALID_ARGUMENT;
    if (!(seqF >= 1) || seqF > <f64>MAX_SEQ || seqF != Math.floor(seqF)) return S.INVALID_ARGUMENT;
    if (klen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
    // A range deletion's value is its end key: a key's bound.
    if (kind == KIND_RANGE_DELETE && vlen > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
    if (vlen > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
    if (<u64>(end - q - RESTORE_HEADER) < <u64>klen + <u64>vlen) return S.INVALID_ARGUMENT;
    // As checkBatch: an empty range [from, to) with to <= from is refused (range-del.ts keeps from < to).
    if (kind == KIND_RANGE_DELETE && compareBytes(q + RESTORE_HEADER, klen, q + RESTORE_HEADER + klen, vlen) >= 0) return S.INVALID_ARGUMENT;
    let seq = <u64>seqF;
    if (seq > lastSeq) {
      if (seq <= prev) return S.INVALID_ARGUMENT; // out of order after the applied prefix
      prev = seq;
      need += worstCaseInsertBytes(klen, vlen);
      n++;
      userBytes += <u64>klen + <u64>vlen;
    }
    q += RESTORE_HEADER + <usize>klen + <usize>vlen;
  }
  if (n == 0) return S.OK;
  if (n >= INGEST_MIN_RECORDS && need >= <u64>(config.memtableBytes >> INGEST_MIN_FILL_SHIFT)) return ingestBatch(p, count, n, prev, userBytes);
  if (!admit(need, true)) return bgStatus != S.OK ? refusal() : S.OUT_OF_MEMORY;
  q = p;
  for (let i: u32 = 0; i < count; i++) {
    let kind = load<u8>(q);
    if (kind == KIND_PAD) { q += PAD_HEADER + <usize>load<u32>(q + 1); continue; }
    let seq = <u64>load<f64>(q + 1);
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    let kp = q + RESTORE_HEADER;
    if (seq > lastSeq) { applyAt(seq, kp, klen, kind, kp + klen, vlen); restoredCount++; }
    q = kp + <usize>klen + <usize>vlen;
  }
  afterWrite(userBytes + <u64>n * ENTRY_OVERHEAD);
  return S.OK;
}

/**
 * The bulk-ingest path of restoreBatch (docs/LSM.md, "Bulk ingest"): the n records to apply
 * become one level-0 run, newest of all, holding the newest record of each key. REQUIRES:
 * the image is validated; `last` is the sequence of its last record. The memtable is
 * flushed first, since it must never hold entries newer than a level-0 run: afterwards
 * every write is in a run (flushedSeq = lastSeq). Out of memory leaves the data unchanged
 * (a flush may have happened, which no read can tell).
 */
function ingestBatch(p: usize, count: u32, n: u32, last: u64, userBytes: u64): i32 {
  let cfg = config.compaction;
  // Worst case: block bytes (entry header ≤ 18, offset 4), the bloom, hashes and the sort.
  let est = userBytes + <u64>n * 26 + ((<u64>n * <u64>cfg.bitsPerKey) >> 3) + ingestScratchBytes(n) + (64 << 10);
  // The run joins level 0, so the compaction of level 0 will rewrite it too (admit()).
  let leave = replaying ? writeLeaves(0, false) : writeLeaves(maintenanceRoom() + est, true);
  if (!canAllocate(est + leave)) return S.OUT_OF_MEMORY;
  if (mem.entries > 0 || imm != null) {
    let st = flushMemtable();
    if (st != S.OK) return st;
  }
  let run = ingestRun(p, count, n, lastSeq, cfg.blockBytes, cfg.bitsPerKey);
  if (run == null) return S.OUT_OF_MEMORY;
  let outputs = new Array<Run>();
  outputs.push(run);
  install(replaceRuns(version, new Array<Run>(), outputs, 0));
  // Counted as the memtable path counts them: every record applied.
  countRestored(p, count, lastSeq);
  setLastSeq(last);
  setFlushedSeq(last);
  restoredCount = n;
  counters.bytesFlushed += run.bytes;
  if (config.autoCompaction && bulkLevel0Full()) compactAsNeeded();
  return S.OK;
}

/** Counts the records of a restore image above `after` as puts and deletes. */
function countRestored(p: usize, count: u32, after: u64): void {
  let q = p;
  for (let i: u32 = 0; i < count; i++) {
    let kind = load<u8>(q);
    if (kind == KIND_PAD) { q += PAD_HEADER + <usize>load<u32>(q + 1); continue; }
    let klen = load<u32>(q + 9);
    let vlen = load<u32>(q + 13);
    if (<u64>load<f64>(q + 1) > after) {
      if (kind == KIND_PUT) counters.puts++; else counters.deletes++;
      counters.userBytes += <u64>klen + <u64>vlen;
    }
    q += RESTORE_HEADER + <usize>klen + <usize>vlen;
  }
}

/** Whether ingested runs have filled level 0 as far as a restore lets them. Below that
 *  their compaction is left to the next flush (or compaction), so a restore merges the runs
 *  it ingests about once instead of at every level0Trigger runs (docs/LSM.md). */
function bulkLevel0Full(): bool {
  let v = version;
  if (unchecked(v.levels[0]).length >= BULK_L0_RUNS) return true;
  let limit = memoryCap() >> BULK_L0_CAP_SHIFT;
  if (limit > BULK_L0_BYTES) limit = BULK_L0_BYTES;
  return v.levelBytes(0) >= limit;
}

/** restore_chunk_bytes: a 32nd of the memory cap, between 256 KiB and 16 MiB. */
export function restoreChunkBytes(): u32 {
  let c = memoryCap() >> RESTORE_CHUNK_CAP_SHIFT;
  if (c < RESTORE_CHUNK_MIN) c = RESTORE_CHUNK_MIN;
  if (c > RESTORE_CHUNK_MAX) c = RESTORE_CHUNK_MAX;
  return <u32>c;
}
