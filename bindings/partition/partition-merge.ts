// Merges the iterators of several partitions (or several partitions' snapshots) into one
// iterator in the unsigned byte order of the stored keys, forward or reverse, with a limit.
// Used by PartitionedStore, whose partitions each hold a disjoint part of the key space.
import type { RangeOptions } from '../store/store.js';
import type { KeyValueIterator, EngineIterator } from '../store/iterator.js';
import { StrataError } from '../errors.js';

/**
 * Opens one iterator per source (each with the caller's reverse and limit: the first
 * `limit` of the union are among the first `limit` of each) and merges them. The first
 * source validates the arguments, so bad input fails before anything is opened.
 */
export function mergePartitions<S, K, V>(sources: S[], open: (s: S) => KeyValueIterator<K, V>,
                                         options: RangeOptions | undefined): KeyValueIterator<K, V> {
  const children: KeyValueIterator<K, V>[] = [];
  try {
    for (const s of sources) children.push(open(s));
  } catch (err) {
    for (const c of children) c.close();
    throw err;
  }
  if (children.length === 1) return children[0];
  // The children accepted the options, so they are valid here.
  return new MergingIterator(children, options?.reverse ?? false, options?.limit ?? Infinity);
}

/** A child's current entry and its stored key bytes. */
interface Head<K, V> { child: number; entry: [K, V]; key: Uint8Array }

const DONE: IteratorResult<never> = { done: true, value: undefined };

/**
 * K-way merge over partition iterators, comparing the stored key bytes the children keep
 * (EngineIterator.rawKey), never re-encoded keys.
 * INVARIANT: `heap` is a binary heap of the children's current entries in iteration order;
 * `advance` is the child whose entry was yielded last and must move on before the next
 * comparison (moving lazily means `limit` and early exits read nothing extra).
 */
class MergingIterator<K, V> implements KeyValueIterator<K, V> {
  private heap: Head<K, V>[] | undefined;
  private advance: Head<K, V> | undefined;
  private remaining: number;
  private state: 'open' | 'done' | 'closed' = 'open';
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly children: KeyValueIterator<K, V>[],
    private readonly reverse: boolean,
    limit: number,
  ) {
    this.remaining = limit;
  }

  [Symbol.iterator](): this { return this; }

  next(): IteratorResult<[K, V]> {
    if (this.state === 'closed') throw new StrataError('ITERATOR_CLOSED', 'the iterator was closed');
    if (this.failure !== undefined) throw this.failure.err;
    if (this.state === 'done') return DONE;
    try {
      const heap = this.heap ??= this.prime();
      if (this.advance !== undefined) {
        const head = this.advance;
        this.advance = undefined;
        const r = this.children[head.child].next();
        if (r.done) {
          const last = heap.pop()!;
          if (heap.length > 0) { heap[0] = last; this.siftDown(0); }
        } else {
          head.entry = r.value;
          head.key = rawKeyOf(this.children[head.child]);
          this.siftDown(0);
        }
      }
      if (heap.length === 0 || this.remaining <= 0) { this.finish(); return DONE; }
      const top = heap[0];
      this.advance = top;
      if (--this.remaining === 0) this.finish(); // entries are copied out: release pins now
      return { done: false, value: top.entry };
    } catch (err) {
      this.failure = { err };
      for (const c of this.children) c.close();
      throw err;
    }
  }

  return(): IteratorResult<[K, V]> {
    this.close();
    return DONE;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const c of this.children) c.close();
  }

  private prime(): Head<K, V>[] {
    const heap: Head<K, V>[] = [];
    this.children.forEach((c, child) => {
      const r = c.next();
      if (!r.done) heap.push({ child, entry: r.value, key: rawKeyOf(c) });
    });
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.siftDownIn(heap, i);
    return heap;
  }

  private finish(): void {
    this.state = 'done';
    for (const c of this.children) c.close();
  }

  private siftDown(i: number): void { this.siftDownIn(this.heap!, i); }

  private siftDownIn(heap: Head<K, V>[], i: number): void {
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && this.before(heap[l], heap[m])) m = l;
      if (r < n && this.before(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }

  /** Iteration order; equal keys (only if a key was written to a foreign partition
   *  through partition(i)) come in partition order. */
  private before(a: Head<K, V>, b: Head<K, V>): boolean {
    const c = compareBytes(a.key, b.key);
    if (c !== 0) return this.reverse ? c > 0 : c < 0;
    return a.child < b.child;
  }
}

/** The stored key bytes of a child's current entry (children are the partitions' engine
 *  iterators, which keep them), so order never depends on re-encoding a decoded key. */
function rawKeyOf<K, V>(child: KeyValueIterator<K, V>): Uint8Array {
  return (child as unknown as EngineIterator<K, V>).rawKey;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}


/** What a partition offers to a merged range: a Store or a Snapshot. */
interface RangeSource<K, V> {
  range(from: K, to: K, options?: RangeOptions): KeyValueIterator<K, V>;
}

/**
 * Store.range's two forms over every source, merged: forwarded as given (Store.range tells
 * the forms apart by `to`); the bounds object carries the bounds form's reverse and limit.
 */
export function mergedRange<K, V>(sources: RangeSource<K, V>[], from: unknown, to: K | undefined,
                                  options: RangeOptions | undefined): KeyValueIterator<K, V> {
  return mergePartitions(sources, (s) => s.range(from as K, to as K, options), to === undefined ? from as RangeOptions : options);
}
