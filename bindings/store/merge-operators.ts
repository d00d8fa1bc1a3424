// Merge operators (docs/API.md, "Merge operators"; docs/LSM.md, "Merge operators"): a merge
// is a blind write of an operand, kept as an entry of its own in the tree (RocksDB's
// design), and folded into the key's value when a reader or a compaction meets it. The
// engine gathers the operands (assembly/merge-chain.ts) and hands the chain here; operators
// are JavaScript functions over values decoded by the store's value codec, so
// `merge(k, 1, 'add')` counts on a codecs.json store as on a numeric one.
//
// A stored operand is: nameLength u8 | name (UTF-8) | the operand encoded by the value
// codec. Naming the operator in every operand lets one key take operands of several
// operators, and lets a reopened store refuse, by name, a chain whose operator is missing.
import { StrataError, invalid, messageOf } from '../errors.js';
import { utf8Bytes, fastPathOf } from '../codecs.js';
import type { Codec, CodecFastPath } from '../codecs.js';
import type { CompactionFolder } from '../engine/abi.js';
import { byteLength, writeEncodable, type Encodable } from './arguments.js';

/** Folds one operand into the value before it (undefined: the key had none). Must be pure
 *  and deterministic: it runs on every read of an unfolded key and again in compaction. */
export type MergeOperator<V> = (existing: V | undefined, operand: V) => V;

/** The built-in operators, always registered (a store's own may not take these names). */
export const builtinMergeOperators: Readonly<Record<string, MergeOperator<any>>> = {
  /** Sum of numbers, or of bigints. */
  add: (existing, operand) => {
    if (typeof operand !== 'number' && typeof operand !== 'bigint') throw invalid(`add takes numbers or bigints, got ${typeof operand}`);
    if (existing === undefined) return operand;
    if (typeof existing !== typeof operand) throw invalid(`add cannot add a ${typeof operand} to a ${typeof existing}`);
    return (existing as number) + (operand as number);
  },
  max: (existing, operand) => (existing === undefined || operand > existing ? operand : existing),
  min: (existing, operand) => (existing === undefined || operand < existing ? operand : existing),
  /** Concatenation of strings, arrays or byte arrays. */
  append: (existing, operand) => {
    if (existing === undefined) return operand;
    if (typeof existing === 'string' && typeof operand === 'string') return existing + operand;
    if (Array.isArray(existing) && Array.isArray(operand)) return [...existing, ...operand];
    if (existing instanceof Uint8Array && operand instanceof Uint8Array) {
      const out = new Uint8Array(existing.length + operand.length);
      out.set(existing);
      out.set(operand, existing.length);
      return out;
    }
    throw invalid('append takes two strings, two arrays or two Uint8Arrays');
  },
};

const MAX_NAME_BYTES = 255;
const text = new TextDecoder('utf-8', { ignoreBOM: true }); // a name may begin with U+FEFF

/** A store's operators and how to fold its chains. */
export class MergeOperators<V> implements CompactionFolder {
  private readonly operators = new Map<string, MergeOperator<V>>();
  /** The operator merge() uses without a name: the store's only own one, if it has one. */
  private readonly defaultName: string | undefined;
  /** Stored-operand prefixes by name (nameLength | name), made once. */
  private readonly prefixes = new Map<string, Uint8Array>();
  /** A fold is running (operators and the codec's decodes): the store refuses every call
   *  until it returns, so nothing changes between a lookup and what follows it. */
  folding = false;
  /** Chains compaction could not fold (an operator missing or failing): kept as operands. */
  unfoldable = 0;
  private lastNameBytes: Uint8Array = new Uint8Array(0);
  private lastName = '';
  /** The value the last compaction fold produced, until compactionTake(). */
  private pending: Encodable | undefined;

  private readonly fast: CodecFastPath<V> | undefined;

  constructor(own: Record<string, MergeOperator<V>> | undefined, private readonly codec: Codec<V>) {
    this.fast = fastPathOf(codec);
    for (const [name, op] of Object.entries(builtinMergeOperators)) this.operators.set(name, op as MergeOperator<V>);
    if (own === undefined) return;
    if (own === null || typeof own !== 'object') throw invalid('mergeOperators must be an object of name: function');
    const names = Object.keys(own);
    for (const name of names) {
      if (typeof own[name] !== 'function') throw invalid(`merge operator ${JSON.stringify(name)} must be a function`);
      if (name in builtinMergeOperators) throw invalid(`merge operator ${JSON.stringify(name)} is built in; choose another name`);
      checkName(name);
      this.operators.set(name, own[name]);
    }
    if (names.length === 1) this.defaultName = names[0];
  }

  /** The stored-operand prefix for `name` (undefined: the default), checked. */
  prefixFor(name: string | undefined): Uint8Array {
    const n = name ?? this.defaultName;
    if (n === undefined) throw invalid('merge needs an operator name (a store with exactly one of its own mergeOperators uses it by default)');
    if (typeof n !== 'string') throw invalid('a merge operator name must be a string');
    let p = this.prefixes.get(n);
    if (p !== undefined) return p;
    if (!this.operators.has(n)) throw invalid(`no merge operator ${JSON.stringify(n)} (built in: ${Object.keys(builtinMergeOperators).join(', ')}; pass yours in mergeOperators)`);
    const b = utf8Bytes(n);
    p = new Uint8Array(1 + b.length);
    p[0] = b.length;
    p.set(b, 1);
    this.prefixes.set(n, p);
    return p;
  }

  /** Applies `name`'s operator to (existing, operand): merge() on a store whose changelog
   *  records the resulting value. */
  apply(name: string | undefined, existing: V | undefined, operand: V): V {
    const n = name ?? this.defaultName!;
    return this.guarded(() => this.run(n, this.operators.get(n)!, existing, operand));
  }

  /**
   * Folds the chain image at [at, at + len) of `u8` (assembly/merge-chain.ts): the base, if
   * any, then every operand, oldest first. The bytes are read in place: nothing can change
   * them meanwhile, as the store refuses every call during a fold. A missing operator or
   * one that throws is INVALID_ARGUMENT naming it; the store is unchanged (folds on read
   * write nothing).
   */
  fold(u8: Uint8Array, at: number, len: number): V {
    if (this.folding) return this.foldImage(u8, at, len);
    this.folding = true;
    try {
      return this.foldImage(u8, at, len);
    } finally {
      this.folding = false;
    }
  }

  private foldImage(u8: Uint8Array, at: number, len: number): V {
    const end = at + len;
    const count = u32(u8, at);
    let p = at + 8;
    let acc: V | undefined;
    if ((u32(u8, at + 4) & 1) !== 0) {
      const n = u32(u8, p);
      acc = this.decode(u8, p + 4, n);
      p += 4 + n;
    }
    for (let i = 0; i < count && p < end; i++) {
      const n = u32(u8, p);
      const nameLen = u8[p + 4];
      const name = this.nameAt(u8, p + 5, nameLen);
      const op = this.operators.get(name);
      if (op === undefined) throw invalid(`the store holds operands of merge operator ${JSON.stringify(name)}, which is not registered (pass it in mergeOperators)`);
      acc = this.run(name, op, acc, this.decode(u8, p + 5 + nameLen, n - 1 - nameLen));
      p += 4 + n;
    }
    return acc as V;
  }

  /** The operator name of `len` bytes at u8[at]: the last one met, compared byte by byte,
   *  or decoded (a chain's operands mostly share one operator). */
  private nameAt(u8: Uint8Array, at: number, len: number): string {
    const last = this.lastNameBytes;
    if (last.length === len) {
      let i = 0;
      while (i < len && u8[at + i] === last[i]) i++;
      if (i === len) return this.lastName;
    }
    this.lastNameBytes = u8.slice(at, at + len);
    this.lastName = text.decode(this.lastNameBytes);
    return this.lastName;
  }

  private decode(u8: Uint8Array, at: number, len: number): V {
    const f = this.fast;
    return f !== undefined ? f.decodeFrom(u8, at, len) : this.codec.decode(u8.slice(at, at + len));
  }

  /** fold() for a compaction (CompactionFolder): the folded value's encoded length, or -1
   *  when it cannot be folded (counted): the engine then keeps the operands, and readers
   *  report the error. The value waits, encoded, for compactionTake(). */
  compactionFold(u8: Uint8Array, at: number, len: number): number {
    this.folding = true;
    try {
      const v = this.foldImage(u8, at, len);
      const f = this.fast;
      const out = f !== undefined ? f.encodable(v) : this.codec.encode(v);
      if (typeof out !== 'string' && !(out instanceof Uint8Array)) return this.cannot();
      this.pending = out;
      return byteLength(out);
    } catch {
      return this.cannot();
    } finally {
      this.folding = false;
    }
  }

  compactionTake(u8: Uint8Array, dst: number): void {
    const p = this.pending;
    this.pending = undefined;
    if (p !== undefined) writeEncodable(p, u8, dst, u8.length - dst);
  }

  private cannot(): number {
    this.unfoldable++;
    return -1;
  }

  /** Runs `f` as part of a fold: the store refuses every call meanwhile (a value codec's
   *  decode of the value and operand a merge folds is user code too). */
  guarded<T>(f: () => T): T {
    if (this.folding) return f(); // nested: the outer call owns the flag
    this.folding = true;
    try {
      return f();
    } finally {
      this.folding = false;
    }
  }

  private run(name: string, op: MergeOperator<V>, existing: V | undefined, operand: V): V {
    try {
      return op(existing, operand);
    } catch (err) {
      if (err instanceof StrataError) throw err;
      throw new StrataError('INVALID_ARGUMENT', `merge operator ${JSON.stringify(name)} failed: ${messageOf(err)}`, { cause: err });
    }
  }
}

const u32 = (u8: Uint8Array, p: number): number => (u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24)) >>> 0;

function checkName(name: string): void {
  if (name.length === 0 || utf8Bytes(name).length > MAX_NAME_BYTES) throw invalid(`a merge operator name must be 1 to ${MAX_NAME_BYTES} bytes`);
}
