// Running one compaction job (job.ts) in an engine of this thread's (one per tuning, emptied
// after each job): on the worker's thread, or inline where a test schedules it. The engine
// imports the inputs at their levels (images, or file tails read through its own
// descriptors: the store's engine keeps its own open), merges them (bg_merge: assembly/remote-compaction.ts) and hands the output back, as
// durable files under the run numbers the job reserved, or as images.
// INVARIANT: a job that fails leaves no output file behind (a crash may: recovery deletes
// run files no manifest lists), and never touches an input file.
import { Status, CORRUPTION_WHAT, engineFrom, type Engine } from '../engine/abi.js';
import { StrataError } from '../errors.js';
import { importRunImage, currentLevels } from '../storage/persistence-core.js';
import { openInputFiles, writeOutputFiles, removeQuietly, type JobInputFiles } from './job-files.js';
import type { CompactionJob, JobOutput, JobResult } from './job.js';

/** The worker's engine may use this much linear memory: the inputs it holds as images and
 *  the output it builds (a job is level 0 with the level-1 runs it overlaps, or one run with
 *  the ones below it). Not the store's cap: the store's memory is another instance's. */
const WORKER_MEMORY_BYTES = 3 * 2 ** 30;

/** This thread's engines, one per tuning (stores sharing a worker may differ), kept from job
 *  to job: a job in a fresh instance spent most of its time faulting in new memory (the
 *  allocator's first touch of each page), measured at 29% of the worker's time in a 3M fill.
 *  Each holds the memory its largest job grew to. */
const engines = new Map<string, Engine>();
const MAX_ENGINES = 4;

function engineFor(module: WebAssembly.Module, job: CompactionJob, key: string): Engine {
  let e = engines.get(key);
  if (e !== undefined) return e;
  e = engineFrom(module);
  const st = e.init({ ...job.tuning, autoCompaction: false, maxMemoryBytes: WORKER_MEMORY_BYTES });
  if (st !== Status.OK) throw new Error(`the worker could not start an engine (status ${st})`);
  e.enableFileBacking(); // inputs may be files; before any import, once
  if (engines.size >= MAX_ENGINES) engines.delete(engines.keys().next().value!);
  engines.set(key, e);
  return e;
}

/** Runs `job` to its end in this thread's engine for its tuning, which it leaves empty;
 *  never throws. An engine a job failed in is not used again. */
export function runMergeJob(job: CompactionJob, module: WebAssembly.Module): JobResult {
  const key = JSON.stringify(job.tuning);
  const result = mergeIn(job, module, key);
  const e = engines.get(key);
  if (e !== undefined) {
    if (result.ok) e.bgClear();
    else engines.delete(key);
  }
  return result;
}

function mergeIn(job: CompactionJob, module: WebAssembly.Module, key: string): JobResult {
  const started = performance.now();
  let files: JobInputFiles | undefined;
  let written: string[] = [];
  let current = 0; // the input being imported, which a failure names
  let writing = false;
  try {
    const e = engineFor(module, job, key);
    if (job.dir !== undefined) files = openInputFiles(e, job.dir);
    let bytesRead = 0;
    for (const input of job.inputs) {
      const image = input.image;
      if (image === undefined) {
        if (!files) return failed(job.id, Status.INVALID_ARGUMENT, `input run ${input.id} has neither an image nor a directory`);
        current = input.id;
        bytesRead += files.importTail(input.id, input.level);
        continue;
      }
      current = input.id;
      const p = e.reserve(image.length);
      e.u8.set(image, p);
      importRunImage(e, p, image.length, input.level, input.id, `run ${input.id} (an image)`);
      bytesRead += image.length;
    }
    current = 0;
    const m = e.bgMerge(job.image);
    if (m.status !== Status.OK) {
      const where = m.status === Status.CORRUPTION || m.status === Status.IO_ERROR
        ? `${files?.fileOf(m.run) ?? `run ${m.run}`} at offset ${m.at}: ${m.status === Status.IO_ERROR ? 'read failed' : CORRUPTION_WHAT[m.what] ?? 'damaged'}`
        : `engine status ${m.status}`;
      return { id: job.id, ok: false, status: m.status, run: m.run, at: m.at, what: m.what, message: `background compaction failed: ${where}` };
    }
    const runs = currentLevels(e).flat();
    let outputs: JobOutput[] = [];
    const ids = job.outputIds;
    if (ids !== undefined && job.dir !== undefined) {
      if (runs.length > ids.length) return failed(job.id, Status.INVALID_ARGUMENT, `${runs.length} output runs for ${ids.length} reserved numbers`);
      writing = true;
      outputs = writeOutputFiles(e, runs, ids, job.dir, written);
      written = [];
    } else {
      for (const run of runs) {
        const size = e.runImageSize(run);
        const p = e.reserve(size);
        if (e.runImage(run, p) !== Status.OK) throw new Error(`output run ${run} vanished (bug)`);
        outputs.push({ image: e.copyOut(p, size), bytes: size });
      }
    }
    return { id: job.id, ok: true, outputs, bytesRead, ms: performance.now() - started };
  } catch (err) {
    for (const file of written) removeQuietly(file);
    const failure = failureOf(job.id, current, err);
    // Writing the output failed (a full or failing disk): not damage in an input.
    if (writing && !failure.ok) failure.output = true;
    return failure;
  } finally {
    files?.closeAll(); // the engine's runs are dropped after (runMergeJob), reading nothing
  }
}

function failed(id: number, status: number, message: string): JobResult {
  return { id, ok: false, status, run: 0, at: 0, what: 0, message: `background compaction failed: ${message}` };
}

/** A thrown error as a job failure: a StrataError keeps its code (an input file damaged in
 *  its tail, a failed read or write); anything else is the worker's own failure. */
export function failureOf(id: number, run: number, err: unknown): JobResult {
  if (err instanceof StrataError) {
    const status = (Status as Record<string, number>)[err.code] ?? Status.IO_ERROR;
    const at = /at offset (\d+)/.exec(err.message);
    const what = CORRUPTION_WHAT.findIndex((w, i) => i > 0 && err.message.endsWith(w));
    return { id, ok: false, status, run, at: at ? Number(at[1]) : 0, what: Math.max(0, what), message: `background compaction failed: ${err.message}` };
  }
  return failed(id, Status.IO_ERROR, (err as Error)?.message ?? String(err));
}
