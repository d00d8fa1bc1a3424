// The sink a task's Store writes its change records to: it holds them until the task commits,
// so that everything a commit covers — the state changes since the last commit and the input
// position record that ends them — goes to the changelog as ONE append, which the NATS
// changelog publishes as one message when it fits one (nats/writer.ts): a reader sees a
// commit whole or not at all.
import type { ChangeRecord, ChangelogSink } from 'strata-kv';

/** Per-record bytes beyond key and value in a changelog message (nats/format.ts), rounded up. */
const RECORD_OVERHEAD = 32;

export class CommitSink implements ChangelogSink {
  private records: ChangeRecord[] = [];
  /** About what the held records take in a changelog message. */
  bytes = 0;

  append(records: ChangeRecord[]): void {
    for (const r of records) {
      // The Store may reuse the arrays it passed: keep copies.
      const copy: ChangeRecord = { partition: r.partition, seq: r.seq, key: r.key.slice(), value: r.value === null ? null : r.value.slice() };
      if (r.expiresAt !== undefined) copy.expiresAt = r.expiresAt;
      if (r.rangeEnd !== undefined) copy.rangeEnd = r.rangeEnd.slice(); // a range deletion [key, rangeEnd)
      this.records.push(copy);
      this.bytes += RECORD_OVERHEAD + r.key.length + ((r.rangeEnd ?? r.value)?.length ?? 0);
    }
  }

  /** The records held, in order; the sink is empty after. */
  take(): ChangeRecord[] {
    const out = this.records;
    this.records = [];
    this.bytes = 0;
    return out;
  }
}
