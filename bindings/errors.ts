/** Every failure of the store is a StrataError with one of these codes. */
export type StrataErrorCode =
  | 'INVALID_ARGUMENT'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'CLOSED'
  | 'LOCKED'
  | 'CORRUPTION'
  | 'IO_ERROR'
  | 'OUT_OF_MEMORY'
  | 'ITERATOR_CLOSED';

/**
 * A failure of strata-kv: `code` says what kind, `message` says what happened and does not
 * repeat the code (so `${err.code}: ${err.message}` reads once). `String(err)`, and the first
 * line of `err.stack` (what Node prints for an uncaught error), name both, as Node's own
 * errors do: `StrataError [CODE]: message`.
 */
export class StrataError extends Error {
  readonly code: StrataErrorCode;
  constructor(code: StrataErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // V8 wrote the stack's first line as `${name}: ${message}` when super() ran.
    const head = `StrataError: ${message}`;
    if (typeof this.stack === 'string' && this.stack.startsWith(head)) this.stack = this.toString() + this.stack.slice(head.length);
  }

  override toString(): string {
    return `StrataError [${this.code}]: ${this.message}`;
  }
}
// On the prototype, so that the stack V8 captures in super() already says StrataError.
StrataError.prototype.name = 'StrataError';

/**
 * `value` as an error message shows it: String(value), or its type tag for a value String
 * cannot convert (an object without a usable toString, e.g. Object.create(null), or one whose
 * toString throws). Never throws: a bad argument must fail as the StrataError that names it,
 * not as the TypeError of describing it.
 */
export function shown(value: unknown): string {
  try { return String(value); } catch { /* no usable toString */ }
  try { return Object.prototype.toString.call(value); } catch { return `[${typeof value}]`; }
}

/** What a thrown value says, for a message: its `message`, or the value shown. Never throws,
 *  whatever user code (a codec, a sink, a listener, an operator) threw: an object without a
 *  usable toString, or one whose message is one, threw a TypeError from the template that
 *  described it (a listener's error then failed a committed write). */
export function messageOf(err: unknown): string {
  try {
    const m = (err as { message?: unknown } | null | undefined)?.message;
    if (m !== undefined && m !== null) return shown(m);
  } catch { /* a message getter that throws */ }
  return shown(err);
}

export function invalid(message: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', message);
}
