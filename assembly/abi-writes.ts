// The ABI's writes (docs/ABI.md, "Exports"): single writes, conditional writes, batches
// (write_batch; prepare_batch then apply_prepared, for a store that logs a batch in between)
// and restore chunks. Each returns a status and leaves the last sequence in RESULT +8; the
// logic is in engine.ts and batch-image.ts.
import * as E from "./engine";
import * as S from "./status";
import { KIND_PUT, KIND_DELETE, KIND_MERGE } from "./internal-key";
import { safePoint } from "./run";
import { RESULT, lastSeqResult } from "./abi-regions";

export function put(kp: usize, kl: u32, vp: usize, vl: u32): i32 { return lastSeqResult(E.write(kp, kl, KIND_PUT, vp, vl)); }
export function del(kp: usize, kl: u32): i32 { return lastSeqResult(E.write(kp, kl, KIND_DELETE, 0, 0)); }
/** Writes a merge operand (docs/LSM.md, "Merge operators"): a blind write, folded by readers
 *  and compactions. */
export function merge(kp: usize, kl: u32, vp: usize, vl: u32): i32 { return lastSeqResult(E.write(kp, kl, KIND_MERGE, vp, vl)); }
/** Deletes the keys in [from, to) with one range tombstone (docs/LSM.md, "Range deletions");
 *  INVALID_ARGUMENT unless from < to. */
export function del_range(fp: usize, fl: u32, tp: usize, tl: u32): i32 { return lastSeqResult(E.writeRange(fp, fl, tp, tl)); }
export function write_batch(p: usize, len: u32, count: u32): i32 { return lastSeqResult(E.writeBatch(p, len, count)); }

/** Validates a batch image and reserves its memory without applying it; OK leaves RESULT
 *  +0 = the batch's token (u32) for apply_prepared (batch-image.ts, "the batch prepared
 *  last"). */
export function prepare_batch(p: usize, len: u32, count: u32): i32 {
  let st = E.prepareBatch(p, len, count);
  if (st == S.OK) store<u32>(RESULT, E.currentPreparedToken());
  return st;
}

/** Applies the batch prepare_batch prepared, named by its token, without parsing it again;
 *  INVALID_ARGUMENT (nothing applied) when that preparation has ended. RESULT +8 = last
 *  sequence. */
export function apply_prepared(token: u32): i32 { return lastSeqResult(E.applyPrepared(token)); }

function conditional(kp: usize, kl: u32, kind: u8, vp: usize, vl: u32, expected: f64): i32 {
  if (kl > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
  if (vl > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
  if (!(expected >= 0) || expected != Math.floor(expected)) return S.INVALID_ARGUMENT;
  if (E.bgStatus != S.OK) return lastSeqResult(E.refusal()); // refused before it reads or decides
  safePoint();
  let st = E.lookup(kp, kl, E.lastSeq);
  if (st != S.OK && st != S.NOT_FOUND && st != S.MERGED) return st; // a failed read decides nothing
  // A key whose newest version is a merge operand is present, at that operand's version.
  let current: u64 = st != S.NOT_FOUND ? E.foundSeq : 0;
  if (<f64>current != expected) return lastSeqResult(S.CONDITION_FAILED);
  return lastSeqResult(E.write(kp, kl, kind, vp, vl));
}

export function put_if_version(kp: usize, kl: u32, vp: usize, vl: u32, expected: f64): i32 {
  return conditional(kp, kl, KIND_PUT, vp, vl, expected);
}
export function del_if_version(kp: usize, kl: u32, expected: f64): i32 {
  return conditional(kp, kl, KIND_DELETE, 0, 0, expected);
}

/** Applies changelog records with their own sequences; RESULT +0 = records applied (u32),
 *  +8 = last sequence. Records at or below the last sequence are skipped. */
export function restore_batch(p: usize, len: u32, count: u32): i32 {
  let st = E.restoreBatch(p, len, count);
  store<u32>(RESULT, st == S.OK ? E.restoredCount : 0);
  return lastSeqResult(st);
}

/** Bytes a restore chunk should stay under: large chunks make few large level-0 runs, but a
 *  chunk is held three times over while applied (host, image, run), so a small memory cap
 *  gets small ones. */
export function restore_chunk_bytes(): u32 { return E.restoreChunkBytes(); }

/** While on, writes are the host's replay of its write-ahead log at open: admitted with the
 *  read reserve only (admission.ts). */
export function set_replaying(on: i32): void { E.setReplaying(on != 0); }
