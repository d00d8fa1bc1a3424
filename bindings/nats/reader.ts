// The reading rules of the NATS changelog: which messages of a partition, taken in stream
// order, become records, so that every reader (a restore, a standby, a promoted standby)
// derives the same record sequence from the same stream.
//
// Rules, applied to each message in stream order:
//   claim (stream seq C): if C > epoch, epoch := C and every held message is dropped (it
//     followed a gap its writer can no longer fill: that writer is fenced); a claim that knows
//     where its writer continues from (prev P > last) moves `last` to P.
//   records (epoch e, prev, last, records):
//     e < epoch                 → ignored: a fenced writer's late message
//     e > epoch                 → epoch := e, held dropped (its claim was compacted away)
//     message.last ≤ last       → ignored: a duplicate (a retry outside the dedup window)
//     chained and prev > last   → held: an earlier message of this writer is missing (a
//                                 pipelined publish failed and is being retried), released
//                                 when the chain reaches it
//     otherwise                 → its records above `last` are emitted; `last` := message.last
//   In a compacted log (one record per message, older messages deleted) the chain cannot be
//   followed, so `chained` is off and messages are emitted as they come; a compacted
//   partition is always written one message at a time, which keeps stream order = seq order.
// INVARIANT: emitted seqs strictly increase.
import type { ChangeRecord } from 'strata-kv';
import { KIND_CLAIM, type ChangelogMessage } from './format.js';

interface Held { prev: number; last: number; records: ChangeRecord[] }

export class PartitionReader {
  /** Epoch of the newest writer seen (stream seq of its claim). */
  epoch = 0;
  /** Highest seq emitted, or fromSeq − 1 before anything is. */
  last: number;
  /** Stream seq of the last message taken. */
  streamSeq = 0;
  private held: Held[] = [];

  constructor(fromSeq: number, private readonly chained: boolean) {
    this.last = Math.max(0, fromSeq - 1);
  }

  /** Takes the next message in stream order; returns the records it makes visible, in order. */
  accept(msg: ChangelogMessage, streamSeq: number): ChangeRecord[] {
    this.streamSeq = streamSeq;
    if (msg.kind === KIND_CLAIM) {
      if (streamSeq > this.epoch) {
        this.epoch = streamSeq;
        this.held = [];
        if (msg.prev !== undefined && msg.prev > this.last) this.last = msg.prev;
      }
      return [];
    }
    if (msg.epoch < this.epoch) return [];
    if (msg.epoch > this.epoch) {
      this.epoch = msg.epoch;
      this.held = [];
    }
    if (msg.last <= this.last) return [];
    if (this.chained && msg.prev > this.last) {
      this.held.push({ prev: msg.prev, last: msg.last, records: msg.records });
      return [];
    }
    const out: ChangeRecord[] = [];
    this.emit(msg.records, out);
    if (this.held.length > 0) this.release(out);
    return out;
  }

  /** Messages waiting for an earlier one (dropped if the read ends first). */
  get heldMessages(): number { return this.held.length; }

  private emit(records: ChangeRecord[], out: ChangeRecord[]): void {
    for (const r of records) {
      if (r.seq > this.last) {
        out.push(r);
        this.last = r.seq;
      }
    }
  }

  private release(out: ChangeRecord[]): void {
    for (let progress = true; progress;) {
      progress = false;
      for (let i = 0; i < this.held.length; i++) {
        const h = this.held[i];
        if (h.last <= this.last) { this.held.splice(i--, 1); continue; }
        if (h.prev <= this.last) {
          this.held.splice(i--, 1);
          this.emit(h.records, out);
          progress = true;
        }
      }
    }
  }
}
