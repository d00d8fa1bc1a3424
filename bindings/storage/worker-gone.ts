// How a store blocked on a worker thread learns that the thread ended. The 'exit' event a
// Worker emits reaches only a thread whose event loop turns, and a store waiting in
// Atomics.wait for a job or a file task is not turning it: before this, such a wait ran out
// its whole bound (120 s) and only then reported the worker lost.
// Each worker gets a `gone` flag in shared memory. Its script raises the flag from its own
// 'exit' handler (run on process.exit() and on an uncaught error; not on terminate(), which
// the store's own thread calls, nor when V8 kills the thread for its heap limit: those are
// still seen by the 'exit' event or the bound) and wakes every waiter it knows of. A waiter
// waits in slices of GONE_CHECK_MS and reads the flag between them, so a wait it did not
// know of, or one that began just after the wake-up, learns within a slice.
// INVARIANT: a raised flag is never lowered; a worker whose flag is up takes no new store.

/** The longest a blocked store goes without reading its worker's `gone` flag. */
export const GONE_CHECK_MS = 100;

/** A fresh flag, for a worker about to start (passed in its workerData). */
export const goneFlag = (): Int32Array => new Int32Array(new SharedArrayBuffer(4));

/** Whether the worker that owns `gone` has ended. */
export const isGone = (gone: Int32Array): boolean => Atomics.load(gone, 0) !== 0;

/** In a worker's script: raises `gone` when the thread exits, then raises and wakes each
 *  counter pushed onto the returned list (`raise`: the value to store there first, or
 *  undefined to leave the counter's value as it is). */
export function raiseOnExit(gone: Int32Array, raise?: number): Int32Array[] {
  const counters: Int32Array[] = [];
  process.on('exit', () => {
    Atomics.store(gone, 0, 1);
    Atomics.notify(gone, 0);
    for (const c of counters) {
      try {
        if (raise !== undefined) Atomics.store(c, 0, raise);
        Atomics.notify(c, 0);
      } catch { /* not a shared counter (a malformed channel): nothing waits on it */ }
    }
  });
  return counters;
}

/** Atomics.wait in slices: returns once `a[i]` is not `value`, `until` (performance.now())
 *  has passed, or `gone` is raised. */
export function waitUnlessGone(a: Int32Array, i: number, value: number, until: number, gone: Int32Array): void {
  for (;;) {
    const left = until - performance.now();
    if (left <= 0 || isGone(gone)) return;
    if (Atomics.wait(a, i, value, Math.min(left, GONE_CHECK_MS)) !== 'timed-out') return;
  }
}
