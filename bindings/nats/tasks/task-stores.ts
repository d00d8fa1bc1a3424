// A stream task's state: every named store of one input partition lives in ONE Store, whose
// changelog partition is the input partition. A commit — the state changes caused by a run of
// input messages and the input position after them — is then one atomic write and one
// changelog append (docs/STREAMS.md, "Exactly once").
//
// Key layout in that Store:
//   store `name`:        utf8(name) 0x00 | key (encoded by the store's keyCodec)
//   the input position:  0x00 "input-position"  →  stream sequence, f64 little-endian
// INVARIANT: a store name is non-empty and has no 0x00 byte, so no store key starts with 0x00:
// the position cannot collide with, or be scanned by, any store.
import { codecs, builtinMergeOperators, StrataError } from 'strata-kv';
import type { Codec, MergeOperator, Store } from 'strata-kv';

/** How a named store encodes its keys and values (defaults: bytes), and its own merge
 *  operators besides the built-in ones. */
export interface TaskStoreSpec<K = Uint8Array, V = Uint8Array> {
  keyCodec?: Codec<K>;
  valueCodec?: Codec<V>;
  mergeOperators?: Record<string, MergeOperator<V>>;
}

export const POSITION_KEY = new Uint8Array([0, ...new TextEncoder().encode('input-position')]);

export function encodePosition(position: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, position, true);
  return out;
}

export function decodePosition(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0;
  if (bytes.length !== 8) throw new StrataError('CORRUPTION', `the task's input position is ${bytes.length} bytes, not 8`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
}

/** The store names' prefixes, checked (INVALID_ARGUMENT for a name the layout cannot hold). */
export function storePrefix(name: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0 || bytes.length > 200 || bytes.includes(0)) {
    throw new StrataError('INVALID_ARGUMENT', `a store name must be 1 to 200 bytes of UTF-8 without NUL, got ${JSON.stringify(name)}`);
  }
  const prefix = new Uint8Array(bytes.length + 1);
  prefix.set(bytes);
  return prefix;
}

/**
 * One named store of a task, a typed view of its key space in the partition's Store. Reads
 * see every write made so far, committed or not; writes become durable at the next commit.
 */
export class TaskStore<K = Uint8Array, V = Uint8Array> {
  private readonly keyCodec: Codec<K>;
  private readonly valueCodec: Codec<V>;
  private readonly operators: Record<string, MergeOperator<V>>;

  /** Called before every write: throws unless writing is allowed now (see `writableWhile`). */
  private guard: () => void = refuseWrites;

  /** @internal */
  constructor(private readonly store: Store, private readonly prefix: Uint8Array, spec: TaskStoreSpec<K, V>) {
    this.keyCodec = spec.keyCodec ?? (codecs.bytes as unknown as Codec<K>);
    this.valueCodec = spec.valueCodec ?? (codecs.bytes as unknown as Codec<V>);
    this.operators = { ...builtinMergeOperators, ...spec.mergeOperators };
  }

  /** @internal This store as one `process` call sees it: its writes go through while `guard`
   *  lets them (the call is in flight). The store itself, as StreamTasks.store() gives it
   *  for queries, takes no writes: a write outside `process` belongs to no input message, so
   *  no commit would cover it and no replay would repeat it. */
  writableWhile(guard: () => void): TaskStore<K, V> {
    const view = Object.create(this) as TaskStore<K, V>;
    view.guard = guard;
    return view;
  }

  get(key: K): V | undefined {
    const v = this.store.get(this.physical(key));
    return v === undefined ? undefined : this.valueCodec.decode(v);
  }

  has(key: K): boolean { return this.store.has(this.physical(key)); }

  /** The value and its version (the changelog seq of its last write). */
  getVersioned(key: K): { value: V; version: number } | undefined {
    const r = this.store.getVersioned(this.physical(key));
    return r === undefined ? undefined : { value: this.valueCodec.decode(r.value), version: r.version };
  }

  put(key: K, value: V): void {
    this.guard();
    this.store.put(this.physical(key), encoded(this.valueCodec, value, 'value'));
  }

  delete(key: K): void {
    this.guard();
    this.store.delete(this.physical(key));
  }

  /**
   * Folds `operand` into the key's value with the merge operator `name` (built in: add, max,
   * min, append; or the store's `mergeOperators`), as Store.merge does on a store with a
   * changelog: the value is read, the operand folded in, the result put, so the commit's
   * record holds the value (docs/API.md, "Merge operators").
   */
  merge(key: K, operand: V, name: string): void {
    this.guard();
    const op = Object.hasOwn(this.operators, name) ? this.operators[name] : undefined;
    if (typeof op !== 'function') throw new StrataError('INVALID_ARGUMENT', `no merge operator ${JSON.stringify(name)}`);
    // The operator sees the operand as a read would: decoded from its bytes.
    const next = op(this.get(key), this.valueCodec.decode(encoded(this.valueCodec, operand, 'operand')));
    this.put(key, next);
  }

  /** Deletes every key of this store in [from, to) (encoded order) with one range
   *  tombstone: one change record in the commit (docs/API.md, "Reads and writes"). */
  deleteRange(from: K, to: K): void {
    this.guard();
    this.store.deleteRange(this.physical(from), this.physical(to));
  }

  /** Entries with from ≤ key < to (encoded order), ascending. */
  *range(from: K, to: K): IterableIterator<[K, V]> {
    yield* this.scan(this.physical(from), this.physical(to));
  }

  /** Every entry of this store, ascending. */
  *all(): IterableIterator<[K, V]> {
    const end = this.prefix.slice();
    end[end.length - 1] = 1; // name 0x01: just past every key of name 0x00 …
    yield* this.scan(this.prefix, end);
  }

  private *scan(from: Uint8Array, to: Uint8Array): IterableIterator<[K, V]> {
    const it = this.store.range(from, to);
    try {
      for (const [k, v] of it) yield [this.keyCodec.decode(k.subarray(this.prefix.length)), this.valueCodec.decode(v)];
    } finally {
      it.close();
    }
  }

  private physical(key: K): Uint8Array {
    const k = encoded(this.keyCodec, key, 'key');
    const out = new Uint8Array(this.prefix.length + k.length);
    out.set(this.prefix);
    out.set(k, this.prefix.length);
    return out;
  }
}

function refuseWrites(): never {
  throw new StrataError('INVALID_ARGUMENT', "a task's stores are written only from process, through its context's stores (StreamTasks.store() is for queries)");
}

/** `x` encoded by `codec`, checked as a Store checks its codecs' output: a codec that throws
 *  (whatever it throws) or returns no Uint8Array is INVALID_ARGUMENT. A key's bytes are
 *  copied after the store's prefix, so a string or number returned there made a wrong key or
 *  a RangeError. */
function encoded<T>(codec: Codec<T>, x: T, what: string): Uint8Array {
  let out: unknown;
  try {
    out = codec.encode(x);
  } catch (err) {
    if (err instanceof StrataError) throw err;
    throw new StrataError('INVALID_ARGUMENT', `${what} cannot be encoded: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  if (!(out instanceof Uint8Array)) throw new StrataError('INVALID_ARGUMENT', `the ${what} codec must return a Uint8Array`);
  return out;
}
