// Iterators of the abstract-level adapter. Every Level iterator reads one Store snapshot:
// the caller's explicit one, or one it takes when it is created (its implicit snapshot) and
// releases when it closes. Reading a snapshot is what makes seek() possible: the Store's
// iterators cannot move, so a seek closes the current one and opens another over the same
// snapshot, from the target on (or, reversed, up to it); a target outside the range ends
// the iterator.
//
// Reads are synchronous (the engine is in this thread), so an AbortSignal cannot interrupt
// one: with a signal, each read first yields a microtask and then checks the signal, and
// all() reads in chunks with a check between them, so an abort made after a call started
// still rejects it (and a long all() stops early).
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import type { KeyValueIterator, Snapshot } from 'strata-kv';
import {
  atLeast, atMost, byteRange, maxLower, minUpper, rangeHas,
  type ByteRange, type LevelRangeOptions,
} from './range.js';
import { fromBytes, keysFromBytes, toBytes, type LevelFormat } from './format.js';
import { LevelAbortError, toLevelError } from './errors.js';

export type ByteSnapshot = Snapshot<Uint8Array, Uint8Array>;
type Entry = [Uint8Array, Uint8Array];
/** Maps a batch of entries read at once (its keys decoded together: format.ts keysFromBytes). */
type BatchMap<T> = (es: Entry[]) => T[];

/** The options abstract-level passes to _iterator/_keys/_values/_clear (range bounds
 *  already encoded into one of our formats). */
export interface LevelReadOptions extends LevelRangeOptions {
  reverse: boolean;
  limit: number;
  keyEncoding: LevelFormat;
  valueEncoding?: LevelFormat;
  signal?: AbortSignal | null;
  snapshot?: unknown;
}

/** How many entries all() and clear() read between two checks (of a signal, or of the
 *  event loop's turn). */
export const CHUNK = 1000;

/**
 * A movable reader over a range of one snapshot.
 * INVARIANT: `inner` is the Store iterator for `current` (opened lazily on the first read
 * after construction or seek).
 */
export class RangeCursor {
  private current: ByteRange;
  private opened = false;
  private inner: KeyValueIterator<Uint8Array, Uint8Array> | undefined;

  constructor(
    private readonly snap: ByteSnapshot,
    private readonly range: ByteRange,
    private readonly reverse: boolean,
    /** Entries the caller may still read (a batch size hint for the Store iterator). */
    private readonly remaining: () => number,
  ) {
    this.current = range;
  }

  /** The next entry, or undefined at the end. */
  next(): Entry | undefined {
    if (!this.opened) this.open();
    if (this.inner === undefined) return undefined;
    const r = this.inner.next();
    if (!r.done) return r.value;
    this.inner = undefined; // exhausted: it has closed itself
    return undefined;
  }

  /** Moves to the first key at or after `target` (reversed: at or before it), within the
   *  iterator's range. REQUIRES: `target` is within the range (else end()). */
  seek(target: Uint8Array): void {
    this.closeInner();
    this.current = this.reverse
      ? { lower: this.range.lower, upper: minUpper(this.range.upper, atMost(target)) }
      : { lower: maxLower(this.range.lower, atLeast(target)), upper: this.range.upper };
  }

  /** Moves past the last entry: next() answers undefined until another seek. */
  end(): void {
    this.closeInner();
    this.current = { lower: undefined, upper: undefined };
  }

  close(): void {
    this.closeInner();
    this.opened = true;
  }

  private open(): void {
    this.opened = true;
    const { lower, upper } = this.current;
    if (lower === undefined) return; // above every key
    const left = this.remaining();
    this.inner = this.snap.range({
      gte: lower, lt: upper?.inclusive === false ? upper.key : undefined, lte: upper?.inclusive ? upper.key : undefined,
      reverse: this.reverse, limit: left === Infinity ? undefined : Math.max(left, 0),
    });
  }

  private closeInner(): void {
    this.inner?.close();
    this.inner = undefined;
    this.opened = false;
  }
}

/** The part shared by the three iterator kinds: the snapshot, the cursor, the reads. */
class Reader {
  readonly cursor: RangeCursor;
  private readonly signal: AbortSignal | null;
  /** Whether a seek target is within the range; one outside ends the iterator. */
  private readonly inRange: (target: Uint8Array) => boolean;

  constructor(
    private readonly snap: ByteSnapshot,
    /** Whether the snapshot is this iterator's own (implicit) one, to release on close. */
    private readonly ownsSnapshot: boolean,
    options: LevelReadOptions,
    it: { readonly count: number; readonly limit: number },
  ) {
    this.cursor = new RangeCursor(snap, byteRange(options, toBytes), options.reverse, () => it.limit - it.count);
    this.signal = options.signal ?? null;
    this.inRange = rangeHas(options, toBytes);
  }

  /** Up to `n` entries, mapped by `map`; fewer only at the end. */
  async read<T>(n: number, map: BatchMap<T>): Promise<T[]> {
    if (this.signal !== null) await this.checkpoint();
    return this.readNow(n, map);
  }

  /** Every remaining entry up to `n`, in chunks when there is a signal to check. */
  async readAll<T>(n: number, map: BatchMap<T>): Promise<T[]> {
    if (this.signal === null) return this.readNow(n, map);
    const out: T[] = [];
    while (out.length < n) {
      await this.checkpoint();
      const chunk = this.readNow(Math.min(CHUNK, n - out.length), map);
      for (const x of chunk) out.push(x);
      if (chunk.length < CHUNK) break;
    }
    return out;
  }

  seek(target: unknown): void {
    const t = toBytes(target);
    if (this.inRange(t)) this.cursor.seek(t); else this.cursor.end();
  }

  close(): void {
    this.cursor.close();
    if (this.ownsSnapshot) this.snap.close();
  }

  private readNow<T>(n: number, map: BatchMap<T>): T[] {
    const read: Entry[] = [];
    try {
      while (read.length < n) {
        const e = this.cursor.next();
        if (e === undefined) break;
        read.push(e);
      }
    } catch (err) {
      throw toLevelError(err);
    }
    return map(read);
  }

  private async checkpoint(): Promise<void> {
    await undefined;
    if (this.signal!.aborted) throw new LevelAbortError();
  }
}

function entryMapper(options: LevelReadOptions): BatchMap<[unknown, unknown]> {
  const kf = options.keyEncoding, vf = options.valueEncoding ?? 'utf8';
  const keys = (options as { keys?: boolean }).keys !== false;
  const values = (options as { values?: boolean }).values !== false;
  return (es) => {
    const ks = keys ? keysFromBytes(es.map((e) => e[0]), kf) : undefined;
    return es.map((e, i) => [ks?.[i], values ? fromBytes(e[1], vf) : undefined]);
  };
}

const limitOf = (it: { limit: number; count: number }) => it.limit - it.count;

// abstract-level's private API is untyped: the database and options are `any` to its classes.
export class StrataIterator extends AbstractIterator<any, unknown, unknown> {
  private readonly reader: Reader;
  private readonly map: BatchMap<[unknown, unknown]>;
  constructor(db: unknown, options: LevelReadOptions, snap: ByteSnapshot, ownsSnapshot: boolean) {
    super(db, options as any);
    this.reader = new Reader(snap, ownsSnapshot, options, this);
    this.map = entryMapper(options);
  }
  async _next(): Promise<[unknown, unknown] | undefined> { return (await this.reader.read(1, this.map))[0]; }
  async _nextv(size: number): Promise<[unknown, unknown][]> { return this.reader.read(size, this.map); }
  async _all(): Promise<[unknown, unknown][]> { return this.reader.readAll(limitOf(this), this.map); }
  _seek(target: unknown): void { this.reader.seek(target); }
  async _close(): Promise<void> { this.reader.close(); }
}

export class StrataKeyIterator extends AbstractKeyIterator<any, unknown> {
  private readonly reader: Reader;
  private readonly map: BatchMap<unknown>;
  constructor(db: unknown, options: LevelReadOptions, snap: ByteSnapshot, ownsSnapshot: boolean) {
    super(db, options as any);
    this.reader = new Reader(snap, ownsSnapshot, options, this);
    const kf = options.keyEncoding;
    this.map = (es) => keysFromBytes(es.map((e) => e[0]), kf);
  }
  async _next(): Promise<unknown> { return (await this.reader.read(1, this.map))[0]; }
  async _nextv(size: number): Promise<unknown[]> { return this.reader.read(size, this.map); }
  async _all(): Promise<unknown[]> { return this.reader.readAll(limitOf(this), this.map); }
  _seek(target: unknown): void { this.reader.seek(target); }
  async _close(): Promise<void> { this.reader.close(); }
}

export class StrataValueIterator extends AbstractValueIterator<any, unknown, unknown> {
  private readonly reader: Reader;
  private readonly map: BatchMap<unknown>;
  constructor(db: unknown, options: LevelReadOptions, snap: ByteSnapshot, ownsSnapshot: boolean) {
    super(db, options as any);
    this.reader = new Reader(snap, ownsSnapshot, options, this);
    const vf = options.valueEncoding ?? 'utf8';
    this.map = (es) => es.map((e) => fromBytes(e[1], vf));
  }
  async _next(): Promise<unknown> { return (await this.reader.read(1, this.map))[0]; }
  async _nextv(size: number): Promise<unknown[]> { return this.reader.read(size, this.map); }
  async _all(): Promise<unknown[]> { return this.reader.readAll(limitOf(this), this.map); }
  _seek(target: unknown): void { this.reader.seek(target); }
  async _close(): Promise<void> { this.reader.close(); }
}

/**
 * The keys of a clear() range, from `snap`, in chunks of at most CHUNK (in the range's
 * order, so a limit takes the first keys of a reversed range from its end).
 */
export function* clearChunks(snap: ByteSnapshot, options: LevelReadOptions): Generator<Uint8Array[]> {
  let left = options.limit < 0 ? Infinity : options.limit;
  const cursor = new RangeCursor(snap, byteRange(options, toBytes), options.reverse, () => left);
  try {
    while (left > 0) {
      const keys: Uint8Array[] = [];
      while (keys.length < CHUNK && left > 0) {
        const e = cursor.next();
        if (e === undefined) break;
        keys.push(e[0]);
        left--;
      }
      if (keys.length > 0) yield keys;
      if (keys.length < CHUNK) return;
    }
  } finally {
    cursor.close();
  }
}
