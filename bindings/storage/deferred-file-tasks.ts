// File tasks that run on the store's own thread, when a test says (file-tasks.ts): the
// interleaving property tests run the next task as a command among the store's calls, so
// every order of writes, flushes, compactions and a file worker's progress can be explored;
// the fault walks let every task run at the store's next look (`atPoll`), so a failing disk
// call fails as it would on the worker: later, not in the call that submitted it.
import { StrataError } from '../errors.js';
import { runFileTask, type FileTask, type FileTasks } from './file-tasks.js';

export class DeferredFileTasks implements FileTasks {
  private readonly queue: { ticket: number; task: FileTask }[] = [];
  private last = 0;
  private finished = 0;
  private failure: StrataError | undefined;
  pendingBytes = 0;
  readonly submitted = { tasks: 0, bytes: 0 };
  readonly offThread = true;
  /** Tasks run (tests check work really went through here). */
  ran = 0;

  /** `atPoll`: every queued task runs when the store next asks what is done. */
  constructor(private readonly options: { atPoll?: boolean } = {}) {}

  submit(task: FileTask): number {
    const ticket = ++this.last;
    // A copy, as the worker's: the view's memory is reused by the store's next call.
    const owned = task.op === 'write' ? { ...task, bytes: task.bytes.slice() } : task;
    this.queue.push({ ticket, task: owned });
    this.submitted.tasks++;
    if (owned.op === 'write') { this.pendingBytes += owned.bytes.length; this.submitted.bytes += owned.bytes.length; }
    return ticket;
  }

  /** Runs the oldest queued task, as the worker would; false when none waits. After a
   *  failure the store's later tasks are skipped, as the worker skips them. */
  runNext(): boolean {
    const next = this.queue.shift();
    if (next === undefined) return false;
    const { ticket, task } = next;
    if (task.op === 'write') this.pendingBytes -= task.bytes.length;
    if (this.failure === undefined) {
      try {
        runFileTask(task);
        this.ran++;
      } catch (err) {
        this.failure = err instanceof StrataError ? err : new StrataError('IO_ERROR', String((err as Error)?.message ?? err));
      }
    }
    this.finished = ticket;
    return true;
  }

  get queued(): number { return this.queue.length; }

  done(): number {
    if (this.options.atPoll) while (this.runNext());
    if (this.failure) throw this.failure;
    return this.finished;
  }

  /** The store must have `ticket` done: its tasks up to it run now. */
  waitFor(ticket: number): number {
    while (this.finished < ticket && this.runNext());
    return this.done();
  }

  waitAll(): void { this.waitFor(this.last); }

  waitBelow(bytes: number): void {
    while (this.pendingBytes >= bytes && this.runNext());
    this.done();
  }

  close(): void { this.waitFor(this.last); }
}
