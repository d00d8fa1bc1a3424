// A background job's files (merge-job.ts), for a store with a directory and its log: the
// input runs read from their durable files through descriptors of the job's own (the
// store's engine keeps its own open), and the output written durably under the run numbers
// the job reserved. The browser build has no such jobs (job-files-browser.ts): an OPFS
// store's files are open in its own worker, so its jobs travel as images.
import { closeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine/abi.js';
import { fileName } from '../storage/persistence-core.js';
import { RunFileDescriptors } from '../storage/run-file-descriptors.js';
import { InlineFileTasks } from '../storage/file-tasks.js';
import { RunFileWriter } from '../storage/run-file-writer.js';
import { syncDir } from '../storage/manifest.js';
import type { JobOutput } from './job.js';

/** The job's reader of its input files (the engine's env.read_block while it runs). */
export interface JobInputFiles {
  /** Imports run `run`'s file at `level`, file-backed; returns the bytes read. */
  importTail(run: number, level: number): number;
  fileOf(run: number): string;
  closeAll(): void;
}

export function openInputFiles(e: Engine, dir: string): JobInputFiles {
  const files = new RunFileDescriptors(e, dir);
  e.files = files;
  return files;
}

/** Writes the engine's runs `runs` as the durable files numbered `ids` in `dir` (this is
 *  the worker's thread already: no file worker), then makes their names durable before the
 *  store's manifest names them. `written` collects each file as it is created, for the
 *  caller to remove if the job fails. */
export function writeOutputFiles(e: Engine, runs: number[], ids: number[], dir: string, written: string[]): JobOutput[] {
  const tasks = new InlineFileTasks();
  const outputs = runs.map((run, i) => {
    const w = new RunFileWriter(e, tasks, run, join(dir, fileName(ids[i], 'run')));
    written.push(w.file);
    const ok = w.writeAll();
    closeSync(w.fd);
    if (!ok) throw new Error(`output run ${run} vanished (bug)`);
    return { id: ids[i], bytes: w.offset };
  });
  syncDir(dir);
  return outputs;
}

export function removeQuietly(file: string): void {
  try { unlinkSync(file); } catch { /* a leftover is deleted at the next open */ }
}
