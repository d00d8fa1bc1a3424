// A key copied into memory of its own, for a reader that must compare against a key after
// the block it came from may be gone (block-cache.ts: blocks are evicted at safe points;
// sequential run reads overwrite their chunk). The buffer grows to the longest key kept.
import { budgetAlloc, budgetFree } from "./memory-budget";

export class KeyCopy {
  ptr: usize = 0;
  len: u32 = 0;
  private cap: u32 = 0;

  /** Copies (k, kl) in; false when out of memory (the old copy is kept). */
  set(k: usize, kl: u32): bool {
    if (kl > this.cap || this.ptr == 0) {
      let cap: u32 = kl < 64 ? 64 : kl;
      let p = budgetAlloc(cap);
      if (p == 0) return false;
      budgetFree(this.ptr, this.cap);
      this.ptr = p;
      this.cap = cap;
    }
    memory.copy(this.ptr, k, kl);
    this.len = kl;
    return true;
  }

  free(): void {
    budgetFree(this.ptr, this.cap);
    this.ptr = 0;
    this.cap = 0;
    this.len = 0;
  }
}
