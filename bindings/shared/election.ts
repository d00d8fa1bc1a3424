// Which tab owns a SharedStore: the one holding the Web Lock `strata-kv:<path>`. Every open
// SharedStore waits in the lock's queue; the browser grants it to one at a time and takes it
// back when its holder closes, navigates away or crashes, then grants the next waiter, which
// starts an owner (owner-host.ts) and so takes over.
//
// Invariants:
//   (1) At most one owner serves at a time: an owner starts only inside the lock's callback
//       and is stopped before the callback returns; besides, the directory's LOCK file keeps a
//       second Store out while a dead owner's worker still holds its handles.
//   (2) An owner whose worker fails ends the callback, and the tab queues again, so the lock
//       is never held by a tab that serves nothing.
import { StrataError } from '../errors.js';
import { startOwner, type OwnerHandle } from './owner-host.js';
import type { OwnerConfig } from './owner.js';
import { lockName } from './protocol.js';

interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<void>;
}

export class Election {
  private readonly abort = new AbortController();
  private stopped = false;
  private owning = false;
  private stopRequested: () => void = () => {};
  /** The lock request in progress: settles when this tab leaves the queue or the lock. */
  private held: Promise<void> = Promise.resolve();
  private stopError: unknown;

  constructor(
    private readonly config: OwnerConfig,
    private readonly makeWorker: () => Worker,
    /** This tab was elected but the Store did not open. */
    private readonly onFailed: (err: StrataError) => void,
    private readonly onOwning: (owning: boolean) => void,
  ) {}

  get isOwner(): boolean { return this.owning; }

  start(): void {
    const locks = (navigator as unknown as { locks: LockManagerLike }).locks;
    this.held = locks.request(lockName(this.config.path), { signal: this.abort.signal }, () => this.own())
      .catch(() => {}); // AbortError: stopped while waiting
  }

  /** Leaves the queue, or stops the owner and releases the lock; rejects if the Store's close did. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.stopRequested();
    for (let h = this.held; ; h = this.held) {
      await h;
      if (h === this.held) break; // not queued again meanwhile
    }
    if (this.stopError !== undefined) throw this.stopError;
  }

  private async own(): Promise<void> {
    if (this.stopped) return;
    let handle: OwnerHandle;
    try {
      handle = await startOwner(this.config, this.makeWorker);
    } catch (err) {
      this.onFailed(err instanceof StrataError ? err : new StrataError('IO_ERROR', String(err)));
      return;
    }
    const stop = new Promise<'stop'>((r) => { this.stopRequested = () => r('stop'); });
    if (this.stopped) this.stopRequested();
    this.owning = true;
    this.onOwning(true);
    const why = await Promise.race([stop, handle.ended.then(() => 'ended' as const)]);
    this.owning = false;
    this.onOwning(false);
    if (why === 'stop') {
      await handle.stop().catch((err) => { this.stopError = err; });
      return;
    }
    if (!this.stopped) queueMicrotask(() => this.start()); // invariant (2)
  }
}
