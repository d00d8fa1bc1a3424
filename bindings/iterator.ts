// KeyValueIterator over an engine iterator handle. Entries come from the engine in
// batches of (keyPtr, keyLen, valPtr, valLen); the pointers stay valid while the handle is
// open (the engine pins the memtable and runs), so keys and values are decoded lazily.
// Batches start small and double, so `limit: 1` or an early `break` costs little.
import type { Engine } from './abi.js';
import type { Codec } from './codecs.js';
import { StrataError } from './errors.js';

export interface KeyValueIterator<K, V> extends IterableIterator<[K, V]> {
  close(): void;
}

export interface IteratorOwner {
  /** Throws CLOSED when the store (or snapshot) is closed. */
  checkOpen(): void;
  untrack(it: EngineIterator<any, any>): void;
}

const leaked = new FinalizationRegistry<{ engine: Engine; handle: number; open: { v: boolean } }>((h) => {
  if (h.open.v) { h.open.v = false; h.engine.x.iter_close(h.handle); }
});

export class EngineIterator<K, V> implements KeyValueIterator<K, V> {
  private batch = new Uint32Array(0);
  private index = 0;
  private count = 0;
  private want = 16;
  private remaining: number;
  private exhausted = false;
  private closedByUser = false;
  private detached = false;
  private readonly open = { v: true };
  /** @internal The stored bytes of the key last returned by next(): merges across
   *  partitions compare these, so a key codec need not round-trip exactly. */
  rawKey: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly engine: Engine,
    private readonly handle: number,
    private readonly keyCodec: Codec<K>,
    private readonly valueCodec: Codec<V>,
    private readonly owner: IteratorOwner,
    limit: number,
  ) {
    this.remaining = limit;
    leaked.register(this, { engine, handle, open: this.open }, this);
  }

  [Symbol.iterator](): this { return this; }

  next(): IteratorResult<[K, V]> {
    if (this.closedByUser) throw new StrataError('ITERATOR_CLOSED', 'the iterator was closed');
    if (this.detached) throw new StrataError('CLOSED', 'the store or snapshot of this iterator is closed');
    if (this.index === this.count) {
      if (this.exhausted) { this.release(); return { done: true, value: undefined }; }
      this.owner.checkOpen();
      this.fill();
      if (this.count === 0) return { done: true, value: undefined };
    }
    const i = this.index++ * 4;
    const b = this.batch;
    const u8 = this.engine.u8;
    const rawKey = u8.slice(b[i], b[i] + b[i + 1]);
    this.rawKey = rawKey;
    const key = this.keyCodec.decode(rawKey);
    const value = this.valueCodec.decode(u8.slice(b[i + 2], b[i + 2] + b[i + 3]));
    return { done: false, value: [key, value] };
  }

  private fill(): void {
    const max = Math.min(this.want, this.remaining, this.engine.batchCapacity);
    const n = max > 0 ? this.engine.x.iter_next(this.handle, max) : 0;
    if (n < 0) throw new StrataError('ITERATOR_CLOSED', `engine iterator ${this.handle} is not open`);
    this.batch = new Uint32Array(this.engine.u8.buffer, this.engine.batchPtr, n * 4).slice();
    this.index = 0;
    this.count = n;
    this.remaining -= n;
    this.want = Math.min(this.want * 2, this.engine.batchCapacity);
    if (n < max || this.remaining <= 0) {
      // Everything left is in `batch`, whose pointers need the pins: release after reading.
      this.exhausted = true;
      if (n === 0) this.release();
    }
  }

  /** Drops the engine's pins; entries already batched must not be read afterwards. */
  private release(): void {
    if (!this.open.v) return;
    this.open.v = false;
    leaked.unregister(this);
    this.engine.x.iter_close(this.handle);
    this.owner.untrack(this);
  }

  return(): IteratorResult<[K, V]> {
    this.close();
    return { done: true, value: undefined };
  }

  close(): void {
    if (this.closedByUser) return;
    this.closedByUser = true;
    this.count = this.index = 0;
    this.exhausted = true;
    this.release();
  }

  /** Called when the owning store closes: the iterator then fails with CLOSED. */
  detach(): void {
    this.detached = true;
    this.count = this.index = 0;
    this.exhausted = true;
    this.release();
  }
}
