// SharedSink: how a PartitionedStore's N partitions share one user sink.
// INVARIANT: a flush joined by a later request covers every append made before that request
// (joining happens only while no append came since the running flush began).
import type { ChangeRecord, ChangelogSink } from '../changelog/contract.js';

/**
 * A user's sink as every partition sees it: appends pass through; a flush asked for while
 * one is running and no append came since joins it (PartitionedStore.flush and close make
 * N such requests at once); no close, so the sink is closed once, by PartitionedStore.close.
 */
export class SharedSink implements ChangelogSink {
  private appends = 0;
  private running: { promise: Promise<void>; appends: number } | undefined;

  constructor(private readonly sink: ChangelogSink) {}

  append(records: ChangeRecord[]): void | Promise<void> {
    this.appends++;
    return this.sink.append(records);
  }

  flush(): Promise<void> {
    if (this.running !== undefined && this.running.appends === this.appends) return this.running.promise;
    let promise: Promise<void>;
    try {
      promise = Promise.resolve(this.sink.flush?.());
    } catch (err) {
      promise = Promise.reject(err);
    }
    const running = { promise, appends: this.appends };
    this.running = running;
    promise.then(() => { if (this.running === running) this.running = undefined; },
      () => { if (this.running === running) this.running = undefined; });
    return promise;
  }
}
