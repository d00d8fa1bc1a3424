// An internal key is (user key, tag) with tag = sequence << 8 | kind.
// Order: user key ascending (unsigned bytes), then tag descending, so the newest version
// of a key comes first. Sequence numbers stay below 2^53 so that they cross to JS as f64.
import { compareBytes } from "./bytes";

export const KIND_DELETE: u8 = 0;
export const KIND_PUT: u8 = 1;
/** A batch image's range deletion (key = from, value = to): never an entry's kind, since
 *  range tombstones live apart from point entries (range-del.ts). 2 is the restore image's
 *  padding. */
export const KIND_RANGE_DELETE: u8 = 3;
/** A merge operand (docs/LSM.md, "Merge operators"): applies to the key's older versions;
 *  readers and compactions fold it with them (merge-chain.ts). Also the batch image's kind. */
export const KIND_MERGE: u8 = 4;

/** The largest tag a snapshot at `seq` can see: a seek to (key, seekTag(seq)) lands on
 *  the newest version of key with sequence <= seq. */
// @ts-ignore: decorator
@inline export function seekTag(seq: u64): u64 { return (seq << 8) | 0xff; }
// @ts-ignore: decorator
@inline export function makeTag(seq: u64, kind: u8): u64 { return (seq << 8) | <u64>kind; }
// @ts-ignore: decorator
@inline export function tagSeq(tag: u64): u64 { return tag >> 8; }
// @ts-ignore: decorator
@inline export function tagKind(tag: u64): u8 { return <u8>(tag & 0xff); }

export const MAX_SEQ: u64 = (<u64>1 << 53) - 1;

export function compareInternal(a: usize, alen: u32, atag: u64, b: usize, blen: u32, btag: u64): i32 {
  let c = compareBytes(a, alen, b, blen);
  if (c != 0) return c;
  return atag > btag ? -1 : (atag < btag ? 1 : 0);
}
