// The expiry sweep of a store with ttlMs (docs/API.md, "TTL"): reads never see an expired
// entry, but the changelog learns of expiries only when they are deleted through the write
// path. The sweep scans from a cursor in slices of a few ms (every `expirySweepMs`), or all
// at once (purgeExpired), and hands the expired keys to the store as deletes.
// INVARIANT: a step is synchronous from scan to delete, so no write can come between finding
// an entry expired and deleting it.
import { statusError, ITER_LOWER, READ_NOW, type Engine } from '../engine/abi.js';
import { KIND_DELETE, EMPTY, sameBytes, type EncodedOp } from './arguments.js';

/** Deletes per batch: a sweep's deletes are many small atomic writes, not one huge one. */
const DELETES_PER_BATCH = 1024;

export class ExpirySweeper {
  /** Where the next step starts (undefined: at the first key). */
  private cursor: Uint8Array | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `remove` applies deletes through the store's write path; `failed` counts a timer step
   *  that threw (like a failing listener: nobody called it). */
  constructor(private readonly engine: Engine, private readonly remove: (ops: EncodedOp[]) => void,
              private readonly failed: () => void) {}

  /** Deletes every expired entry now; how many. */
  purge(): number {
    this.cursor = undefined;
    let n = 0;
    do n += this.step(Infinity); while (this.cursor !== undefined);
    return n;
  }

  /** Starts a step of about 5 ms every `intervalMs`; never keeps a process alive. */
  start(intervalMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      try { this.step(5); } catch { this.failed(); }
    }, intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  get running(): boolean { return this.timer !== undefined; }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Scans from the cursor for about `budgetMs`, deletes the expired entries met, and leaves
   *  the cursor after the last key scanned (undefined at the end). */
  private step(budgetMs: number): number {
    const e = this.engine;
    const cutoff = Date.now();
    const started = performance.now();
    const from = this.cursor;
    const p = e.reserve(from?.length ?? 0);
    if (from) e.u8.set(from, p);
    const h = e.iterOpen(p, from?.length ?? 0, p, 0, from ? ITER_LOWER : 0, READ_NOW);
    if (h < 0) throw statusError(-h, 'expiry sweep', e);
    const expired: EncodedOp[] = [];
    let last: Uint8Array | undefined;
    let done = false;
    let first = true;
    try {
      while (performance.now() - started < budgetMs) {
        const n = e.iterNext(h, e.batchCapacity);
        if (n < 0) throw statusError(-n, 'expiry sweep', e);
        const ended = e.iterEnded();
        const w = e.u32, at = e.batchPtr >>> 2, view = e.view;
        for (let i = 0; i < n; i++) {
          const kp = w[at + 4 * i], kl = w[at + 4 * i + 1], vp = w[at + 4 * i + 2], vl = w[at + 4 * i + 3];
          const seenBefore = first && from !== undefined && sameBytes(e.u8, kp, kl, from); // the last step's last key
          first = false;
          if (!seenBefore && vl >= 8 && view.getFloat64(vp, true) <= cutoff) {
            expired.push({ kind: KIND_DELETE, key: e.u8.slice(kp, kp + kl), value: EMPTY });
          }
          if (i === n - 1) last = e.u8.slice(kp, kp + kl);
        }
        if (ended) { done = true; break; }
      }
    } finally {
      e.iterClose(h);
    }
    this.cursor = done || last === undefined ? undefined : last;
    for (let i = 0; i < expired.length; i += DELETES_PER_BATCH) this.remove(expired.slice(i, i + DELETES_PER_BATCH));
    return expired.length;
  }
}
