// Folding a merge chain (merge-chain.ts) through the host, for compactions and flushes
// (docs/LSM.md, "Merge operators"): the operators are the store's JavaScript functions. A
// file of its own because the imports' @external decorators are outside what the linter
// parses (CONTRIBUTING.md, "Lint").
import { MergeChain } from "./merge-chain";
import { budgetAlloc, budgetFree } from "./memory-budget";

/** Folds a chain image (len bytes at image) with the store's operators; returns the folded
 *  value's length, to be fetched with merge_take, or -1 when it cannot be folded now (no
 *  operators registered, one missing, or one failed): the caller keeps the operands. The
 *  host must not call into the engine. */
@external("env", "merge_fold")
declare function hostMergeFold(image: usize, len: u32): i32;
/** Copies the value the last merge_fold produced to dst. */
@external("env", "merge_take")
declare function hostMergeTake(dst: usize): void;

/** The last fold's value (budget memory, reused by the next fold). */
export let foldedPtr: usize = 0;
export let foldedLen: u32 = 0;
let foldedCap: usize = 0;
let imageBuf: usize = 0;
let imageCap: usize = 0;

/** Folds `c` through the host into foldedPtr / foldedLen. Returns 1 when folded, 0 when the
 *  host cannot fold it now, -1 when out of memory. */
export function foldChain(c: MergeChain): i32 {
  let size = c.imageBytes();
  if (size > imageCap) {
    let p = budgetAlloc(size);
    if (p == 0) return -1;
    budgetFree(imageBuf, imageCap);
    imageBuf = p;
    imageCap = size;
  }
  c.image(imageBuf);
  let n = hostMergeFold(imageBuf, <u32>size);
  if (n < 0) return 0;
  if (<usize>n > foldedCap || foldedPtr == 0) {
    let cap: usize = n < 64 ? 64 : <usize>n;
    let p = budgetAlloc(cap);
    if (p == 0) return -1;
    budgetFree(foldedPtr, foldedCap);
    foldedPtr = p;
    foldedCap = cap;
  }
  hostMergeTake(foldedPtr);
  foldedLen = <u32>n;
  return 1;
}
