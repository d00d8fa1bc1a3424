// WindowIterator: the windows a fetch finds, read from one Store scan or from several run
// one after another (a key's windows in several segments). Like a Store iterator it sees the
// store as of its creation: a single scan opens at once; several are opened one at a time on
// a snapshot taken at creation, which the iterator closes with itself.
// INVARIANT: at most one Store iterator is open at a time; closing, exhausting or failing
// closes it and the snapshot.
import { StrataError } from '../errors.js';
import type { KeyValueIterator } from '../store/iterator.js';

/** An iterator of windows; `for…of` to the end (or a `break`) closes it. */
export interface WindowIterator<T> extends IterableIterator<T> {
  /** Releases the scan now; next() afterwards throws ITERATOR_CLOSED. Idempotent. */
  close(): void;
}

type Scan = KeyValueIterator<Uint8Array, Uint8Array>;

/** What a chain reads: `count` scans opened in order, one at a time, each entry mapped
 *  (undefined: skipped). */
export class ScanChain<T> implements WindowIterator<T> {
  private current: Scan | undefined;
  private opened = 0;
  private finished = false;
  private closedByUser = false;

  /**
   * @param open opens scan i (0 to count - 1); scan 0 is opened here.
   * @param map an entry as the caller sees it, or undefined to skip it.
   * @param release runs once when the chain ends (closes the snapshot the scans read).
   */
  constructor(private readonly count: number, private readonly open: (i: number) => Scan,
              private readonly map: (key: Uint8Array, value: Uint8Array) => T | undefined, private readonly release?: () => void) {
    try {
      if (count > 0) this.current = open(this.opened++);
      else this.finish();
    } catch (err) {
      this.finish();
      throw err;
    }
  }

  [Symbol.iterator](): this { return this; }

  next(): IteratorResult<T> {
    if (this.closedByUser) throw new StrataError('ITERATOR_CLOSED', 'the window iterator was closed');
    try {
      while (!this.finished) {
        if (this.current === undefined) {
          if (this.opened === this.count) { this.finish(); break; }
          this.current = this.open(this.opened++);
        }
        const r = this.current.next();
        if (r.done) { this.current = undefined; continue; }
        const out = this.map(r.value[0], r.value[1]);
        if (out !== undefined) return { done: false, value: out };
      }
    } catch (err) {
      this.finish();
      throw err;
    }
    return { done: true, value: undefined };
  }

  return(): IteratorResult<T> {
    this.close();
    return { done: true, value: undefined };
  }

  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const cur = this.current;
    this.current = undefined;
    try { cur?.close(); } finally { this.release?.(); }
  }
}
