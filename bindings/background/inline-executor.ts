// Jobs run on the store's own thread, each step when the caller says: the executor of the
// interleaving property tests (test/background.model.test.ts), which decide when a job is
// merged and when its result reaches the store, so every order of writes, reads,
// snapshots, merges and installs can be explored deterministically. The job is the same
// runMergeJob a worker runs, in a fresh engine.
import { engineModule } from '../engine/abi.js';
import { runMergeJob } from './merge-job.js';
import type { CompactionJob, JobResult, MergeExecutor } from './job.js';
import type { FileTasks } from '../storage/file-tasks.js';

export class InlineExecutor implements MergeExecutor {
  private job: CompactionJob | undefined;
  private result: JobResult | undefined;
  private ready: (() => void) | undefined;

  /** `eager`: each job is merged when it is submitted (a fault walk: every call of the job,
   *  the worker's file I/O included, at a fixed point of the workload, in this thread). */
  private constructor(private readonly module: WebAssembly.Module, private readonly eager: boolean,
                      readonly fileTasks: FileTasks | undefined) {}

  /** `fileTasks`: where the store's run files are written (a test's DeferredFileTasks);
   *  absent, on the store's thread as they are written. */
  static async create(options: { eager?: boolean; fileTasks?: FileTasks } = {}): Promise<InlineExecutor> {
    return new InlineExecutor(await engineModule(), options.eager === true, options.fileTasks);
  }

  submit(job: CompactionJob): void {
    this.job = job;
    this.result = undefined;
    if (this.eager) this.merge();
  }

  /** Merges the submitted job now, as the worker would meanwhile; false when none waits.
   *  Its result reaches the store at the store's next call (poll) or at deliver(). */
  merge(): boolean {
    const job = this.job;
    if (job === undefined) return false;
    this.job = undefined;
    this.result = runMergeJob(job, this.module);
    return true;
  }

  /** Hands a merged job's result to the store now, as a worker's message arriving while the
   *  store is idle; false when there is none to hand. */
  deliver(): boolean {
    const ready = this.ready;
    if (ready === undefined || this.result === undefined) return false;
    this.ready = undefined;
    ready();
    return true;
  }

  poll(): JobResult | undefined {
    const r = this.result;
    this.result = undefined;
    if (r !== undefined) this.ready = undefined;
    return r;
  }

  /** Back-pressure: the store cannot go on, so the job is merged now if it was not. */
  wait(): JobResult | undefined {
    this.merge();
    return this.poll();
  }

  onReady(ready: () => void): void { this.ready = ready; }

  close(): void { this.job = undefined; this.result = undefined; this.ready = undefined; }
}
