// A background compaction job and its result (docs/LSM.md, "Background compaction"): what
// crosses from a store's thread to its worker and back. Plain data, so it crosses a
// postMessage; every Uint8Array in it owns its buffer, which the sender transfers.
import type { EngineTuning } from '../engine/abi.js';
import type { FileTasks } from '../storage/file-tasks.js';

/** One input run: a resident run travels as its file image; a run whose file is durable
 *  (a store with a directory) travels by number, and the worker reads its file. */
export interface JobInput { level: number; id: number; image?: Uint8Array }

export interface CompactionJob {
  /** The engine's job id (the job image's first word). */
  id: number;
  /** The engine's job image (assembly/remote-compaction.ts, "The job image"). */
  image: Uint8Array;
  /** The store's tuning: the worker's engine builds runs exactly as the store's would. */
  tuning: EngineTuning;
  inputs: JobInput[];
  /** The store's directory: input files are there, and so go output files. */
  dir?: string;
  /** With a log: the output is written as durable files under these run numbers (the
   *  first ones used); without, it comes back as images. */
  outputIds?: number[];
}

/** An output run: a file written durably (`id` is its number) or an image. */
export interface JobOutput { id?: number; image?: Uint8Array; bytes: number }

export type JobResult =
  | { id: number; ok: true; outputs: JobOutput[]; bytesRead: number; ms: number }
  | {
    id: number; ok: false;
    /** The engine status (CORRUPTION, IO_ERROR, OUT_OF_MEMORY, …), and where a block read
     *  failed: the input's run number, the offset, the CORRUPTION_WHAT code. */
    status: number; run: number; at: number; what: number;
    message: string;
    /** Writing the output files failed (the inputs are sound). */
    output?: boolean;
    /** The worker itself is gone (it crashed or did not answer): no job will run again. */
    workerLost?: boolean;
  };

/** Buffers a job or result can transfer instead of copying. */
export function transferables(x: CompactionJob | JobResult): ArrayBuffer[] {
  const list = 'inputs' in x ? x.inputs.map((i) => i.image) : x.ok ? x.outputs.map((o) => o.image) : [];
  return list.filter((b): b is Uint8Array => b !== undefined).map((b) => b.buffer as ArrayBuffer);
}

/** The input runs a job image names, as (level, run number) pairs in version order. */
export function jobInputs(image: Uint8Array): { id: number; inputs: { level: number; id: number }[] } {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const n = v.getUint32(24, true);
  const inputs = [];
  for (let i = 0; i < n; i++) inputs.push({ level: v.getUint32(32 + 8 * i, true), id: v.getUint32(36 + 8 * i, true) });
  return { id: v.getUint32(0, true), inputs };
}

/** Where a store's jobs run: a worker thread (worker-executor.ts), or inline where a test
 *  schedules each step (inline-executor.ts). One job at a time. */
export interface MergeExecutor {
  submit(job: CompactionJob): void;
  /** The submitted job's result once it has finished; never blocks. */
  poll(): JobResult | undefined;
  /** Blocks until the job has finished or `timeoutMs` passed (back-pressure, close). */
  wait(timeoutMs: number): JobResult | undefined;
  /** Calls `ready` once, from the event loop, when the submitted job has finished. */
  onReady(ready: () => void): void;
  close(): void;
  /** Where a store with a log writes its run files and manifests (storage/file-tasks.ts);
   *  absent: on the store's thread. */
  readonly fileTasks?: FileTasks;
  /** Where wait() cannot block (a browser's worker: worker-executor-browser.ts): merges the
   *  job out on the store's thread (its inputs copied again), dropping the worker's result. */
  runHere?(job: CompactionJob): JobResult;
  /** Gets the worker ready before the first job (a browser's: its script runs only while the
   *  thread that made it yields); Store.open awaits it where the executor module says so. */
  prepare?(): Promise<void>;
}

/** The one-shot callback MergeExecutor.onReady takes: called once, when the result comes. */
export class ReadyCallback {
  private ready: (() => void) | undefined;
  set(ready: () => void): void { this.ready = ready; }
  clear(): void { this.ready = undefined; }
  fire(): void {
    const ready = this.ready;
    this.ready = undefined;
    ready?.();
  }
}
