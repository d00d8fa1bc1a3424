// A Store's change hooks: the changelog sinks, which take every write before it is applied
// (they are logs: a refusal refuses the write), and the onChange listeners, told of every
// write after it is committed (docs/LSM.md, "The write protocol"). Also what the hooks'
// failures leave: `failure` once the sinks no longer hold what the store holds (writes,
// flushes, checkpoints and close then fail), `errors` counting failures for stats(), and the
// re-entrancy state the Store checks (`appending`: inside a sink's append; `notifying`:
// inside a listener).
import { StrataError, messageOf } from '../errors.js';
import type { ChangeRecord, ChangelogSink } from '../changelog/contract.js';
import { KIND_DELETE_RANGE, KIND_PUT, bytesOf, type EncodedOp } from './arguments.js';

export type ChangeListener = (records: ChangeRecord[]) => void;

/** A sink's errors that refuse one write and say nothing about the records it took before. */
const REFUSES_ONLY_THIS_WRITE = new Set(['INVALID_ARGUMENT', 'KEY_TOO_LARGE', 'VALUE_TOO_LARGE', 'CLOSED']);

export class ChangeHooks {
  private readonly listeners = new Set<ChangeListener>();
  /** Failures of listeners and sinks, for stats().counters.listenerErrors. */
  errors = 0;
  private warned = false;
  /** Inside a write's sink appends: every call of the store is refused (the argument region
   *  holds the write's image until it is applied). */
  appending = false;
  /** Listeners running: writes are refused (they would reach listeners before the write
   *  being reported); reads are fine. */
  notifying = 0;
  /** A sink that failed after taking records the store holds, or holding records the store
   *  does not: the changelog no longer follows the store until it is reopened. */
  failure: StrataError | undefined;

  constructor(readonly sinks: ChangelogSink[], private readonly partition: number,
              private readonly onListenerError: ((error: unknown, records: ChangeRecord[]) => void) | undefined) {}

  /** Whether a write goes through the sinks (then before it is applied, in the batch path). */
  get hasSinks(): boolean { return this.sinks.length !== 0; }
  /** Whether anyone listens: writes skip building records when nobody does. */
  get listening(): boolean { return this.listeners.size !== 0; }

  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Makes `sink` the last to take a write (the one the store restores from: a write another
   *  sink refuses then never reaches it). */
  moveLast(sink: ChangelogSink): void {
    const at = this.sinks.indexOf(sink);
    if (at >= 0 && at < this.sinks.length - 1) this.sinks.push(...this.sinks.splice(at, 1));
  }

  /** At close: no more listeners; every sink flushed and closed, each whatever the others
   *  did. Returns the first failure, or the sinks' earlier one. */
  async close(): Promise<unknown> {
    this.listeners.clear();
    let failure: unknown;
    for (const s of this.sinks) {
      try { await s.flush?.(); } catch (err) { failure ??= sinkError(err, 'flush'); }
      try { await s.close?.(); } catch (err) { failure ??= sinkError(err, 'close'); }
    }
    return failure ?? this.failure;
  }

  /** The change records of a write whose last sequence is `lastSeq`: each with its own
   *  copies of the bytes. */
  recordsOf(ops: EncodedOp[], lastSeq: number, expiresAt?: number): ChangeRecord[] {
    const first = lastSeq - ops.length + 1;
    return ops.map((op, i) => {
      const r: ChangeRecord = {
        partition: this.partition,
        seq: first + i,
        key: bytesOf(op.key),
        value: op.kind === KIND_PUT ? bytesOf(op.value) : null,
      };
      if (expiresAt !== undefined && op.kind === KIND_PUT) r.expiresAt = expiresAt;
      else if (op.kind === KIND_DELETE_RANGE) r.rangeEnd = bytesOf(op.value); // [key, rangeEnd)
      return r;
    });
  }

  /**
   * Appends a write's records to every sink, before the write is applied. A sink that throws
   * refuses the write: nothing is applied. The store goes on only when the first sink
   * refused just this write (INVALID_ARGUMENT, KEY_TOO_LARGE, VALUE_TOO_LARGE, CLOSED);
   * otherwise the sinks may no longer hold what the store holds (an earlier sink took the
   * write, or the failing one lost records it had buffered) and the store stops writing
   * (failure). A sink whose append rejects later has lost a write the store applied:
   * the same.
   */
  append(records: ChangeRecord[]): void {
    const sinks = this.sinks;
    this.appending = true;
    try {
      for (let i = 0; i < sinks.length; i++) {
        let pending: void | Promise<void>;
        try {
          pending = sinks[i].append(records);
        } catch (err) {
          const failure = sinkError(err, 'append');
          // Refusing this write alone (bad input, or closed after flushing everything) leaves
          // the sink with what the store has; any other failure may have cost it earlier
          // records it had buffered (FileChangelog writes after append returns).
          if (i > 0 || !REFUSES_ONLY_THIS_WRITE.has(failure.code)) this.fail(failure);
          throw failure;
        }
        if (pending && typeof (pending as Promise<void>).then === 'function') {
          (pending as Promise<void>).then(undefined, (err: unknown) => this.fail(sinkError(err, 'append')));
        }
      }
    } finally {
      this.appending = false;
    }
  }

  /** A sink no longer follows the store: keep the first such failure (Store.checkWritable refuses writes with it). */
  fail(cause: StrataError): void {
    this.errors++;
    this.failure ??= new StrataError('IO_ERROR',
      `the changelog no longer follows the store (${cause.message}); writes are refused until it is reopened`, { cause });
  }

  /** Flushes every sink; any failure, or a sink that failed before, fails the call. */
  async flush(): Promise<void> {
    for (const s of this.sinks) {
      try { await s.flush?.(); } catch (err) { this.fail(sinkError(err, 'flush')); }
    }
    if (this.failure) throw this.failure;
  }

  /** Hands a committed write's records to the listeners. A listener that throws does not
   *  fail the write (it is committed): onListenerError gets the error (docs/API.md). */
  notify(records: ChangeRecord[]): void {
    this.notifying++;
    try {
      for (const l of [...this.listeners]) {
        try { l(records); } catch (err) { this.listenerFailed(err, records); }
      }
    } finally {
      this.notifying--;
    }
  }

  private listenerFailed(err: unknown, records: ChangeRecord[]): void {
    this.errors++;
    const handler = this.onListenerError;
    if (handler !== undefined) {
      try { handler(err, records); } catch { /* a failing handler has nobody left to tell */ }
      return;
    }
    if (this.warned) return;
    this.warned = true;
    const text = `strata-kv: an onChange listener threw (${messageOf(err)}); the write it was told of is committed. `
      + 'Pass onListenerError to handle these; stats().counters.listenerErrors counts them.';
    const proc = (globalThis as { process?: { emitWarning?: (w: string) => void } }).process;
    if (typeof proc?.emitWarning === 'function') proc.emitWarning(text);
    else console.warn(text);
  }
}

/** A sink's failure as the StrataError a caller sees (a sink's own StrataError as it is). */
function sinkError(err: unknown, what: string): StrataError {
  if (err instanceof StrataError) return err;
  return new StrataError('IO_ERROR', `changelog sink ${what} failed: ${messageOf(err)}`, { cause: err });
}
