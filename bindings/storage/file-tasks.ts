// The file writes a Node store with a log makes as runs appear — its run files' blocks,
// each file's final fsync, the manifest's replacement, and the deletion of files no manifest
// needs any more — as tasks, so they can run off the store's thread (docs/LSM.md,
// "Background file writing"). Persistence
// submits them in order and waits for none: it reads the tickets done at its next call, and
// only then takes the steps that need them durable (detaching a run whose file is written,
// deleting what a manifest no longer names).
// INVARIANT: a store's tasks run one at a time, in submission order; a ticket is done once
// every task up to it has run (or failed: the first failure is reported, and the store's
// directory stops taking writes, as when its own writes fail).
// InlineFileTasks runs each task as it is submitted: the store's thread then writes exactly
// as before tasks existed. worker-file-tasks.ts runs them on a worker thread;
// deferred-file-tasks.ts when a test says.
import { writeSync, fdatasyncSync, fsyncSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { io } from './io-error.js';
import { writeManifestText } from './manifest.js';

export type FileTask =
  /** Writes `bytes` at `at` of the open file `fd`, then fdatasyncs it ('data'), fsyncs it
   *  ('full': the file's last bytes, so its size is durable too), or leaves it to a later
   *  task's fsync ('none'). */
  | { op: 'write'; fd: number; file: string; at: number; bytes: Uint8Array; sync: 'none' | 'data' | 'full' }
  /** Replaces `dir`'s MANIFEST by `text` atomically (manifest.ts). */
  | { op: 'manifest'; dir: string; text: string }
  /** Deletes `dir`/`name`, which no durable manifest needs (a run file, a log). */
  | { op: 'delete'; dir: string; name: string };

/** Runs one task on this thread; a failure throws its IO_ERROR (naming the call and file). */
export function runFileTask(task: FileTask): void {
  if (task.op === 'manifest') {
    writeManifestText(task.dir, task.text);
    return;
  }
  if (task.op === 'delete') {
    removeFile(task.dir, task.name);
    return;
  }
  const { fd, file, at, bytes } = task;
  io('write', file, () => {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
  });
  if (task.sync === 'data') io('sync', file, () => fdatasyncSync(fd));
  else if (task.sync === 'full') io('sync', file, () => fsyncSync(fd));
}

/** Deletes a file; one already gone is fine (recovery may meet files a store deleted before it crashed). */
export function removeFile(dir: string, name: string): void {
  io('delete', join(dir, name), () => {
    try { unlinkSync(join(dir, name)); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
  });
}

/** Where a store's file tasks run. Tickets count from 1, one per task, in submission order. */
export interface FileTasks {
  /** Queues `task` (its bytes may be a view of memory reused once this returns: an
   *  implementation that runs it later copies them). Its ticket. Throws only when it runs the
   *  task at once and that fails. */
  submit(task: FileTask): number;
  /** The last ticket done; throws the first failure once its ticket is done. Never blocks. */
  done(): number;
  /** Blocks until `ticket` is done (at most `timeoutMs`); done() after. */
  waitFor(ticket: number, timeoutMs?: number): number;
  /** Blocks until every task submitted is done. */
  waitAll(): void;
  /** Bytes submitted and not yet written. */
  readonly pendingBytes: number;
  /** Tasks handed off the store's thread, and the bytes of their writes (stats). */
  readonly submitted: { tasks: number; bytes: number };
  /** Tasks run after submit returns (a worker's, a test's): the store copies and waits for
   *  them, and need not fdatasync each slice on its own thread. */
  readonly offThread: boolean;
  /** Blocks until pendingBytes < `bytes` (back-pressure: the disk is slower than the writes). */
  waitBelow(bytes: number): void;
  /** Stops taking tasks, after those submitted have run (close: their descriptors close next). */
  close(): void;
}

/** Runs each task as it is submitted, on the store's thread: a store without a background
 *  worker, recovery at open, and checkpoints without a log. */
export class InlineFileTasks implements FileTasks {
  private last = 0;
  readonly pendingBytes = 0;
  readonly offThread = false;
  readonly submitted = { tasks: 0, bytes: 0 }; // nothing is handed off

  submit(task: FileTask): number {
    runFileTask(task);
    return ++this.last;
  }

  done(): number { return this.last; }
  waitFor(): number { return this.last; }
  waitAll(): void {}
  waitBelow(): void {}
  close(): void {}
}

/** How a store with a log hands its run files to the file worker (persistence.ts).
 *  Run-file bytes a store call hands to the file worker: a copy of about 80 µs (as
 *  background.ts's COPY_SLICE_BYTES), where writing them here took 1–3 ms a MiB. */
export const TASK_SLICE_BYTES = 256 << 10;
/** Memtables of run-file bytes the file worker may have queued before a store call waits
 *  for it (at least MIN_SLICES_BEHIND slices). Two: a file's final fsync (tens of ms on a
 *  loaded disk) passes without a wait; at 8 slices of 256 KiB, the calls that waited it out
 *  were most of a 10M fill's puts over 8 ms (11 of them, the longest 31 ms; 2 and 12.6 ms
 *  at two memtables). */
export const BEHIND_MEMTABLES = 2;
export const MIN_SLICES_BEHIND = 8;
/** With the file worker: memtables of run files not yet durable before a store call waits
 *  for all of them and their manifest. */
export const BACKLOG_MEMTABLES = 2;

/** How long a store waits at most for its file tasks before it calls the writer lost. */
export const FILE_TASK_WAIT_MS = 120_000;

/** The error a store reports when its tasks' thread is gone with tasks not done. */
export const fileWorkerLost = (why: string) => new StrataError('IO_ERROR', `run files could not be written: ${why}`);
