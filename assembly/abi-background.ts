// The ABI of background compaction (docs/ABI.md, "Background compaction";
// remote-compaction.ts): on the store's engine, delegating compactions to the host's
// worker, handing out a job, installing its output or its failure; on the worker's engine,
// merging a job. Run numbers for output files are reserved here too.
import * as S from "./status";
import { setDelegating, endRemote } from "./leveled";
import { takeRunIds } from "./run";
import { writeJob, backgroundState, mergeJob, jobFailure, installRemote, failRemote, clearJob } from "./remote-compaction";
import { RESULT } from "./abi-regions";

/** 1: compactions are picked as always but merged by the host's worker (bg_job); 0: here,
 *  in slices paid by writes (the default), and a job handed out is dropped. */
export function bg_delegate(on: i32): void {
  setDelegating(on != 0);
  if (on == 0) endRemote();
}

/** 1: a job waits to be handed out (bg_job). While the worker's job is behind: 2, memory is
 *  short (writes should wait for it); 4, level 0 is full (writes should slow down). 0: none. */
export function bg_state(): i32 { return backgroundState(); }

/** Writes the waiting job's image at out when it fits in cap bytes; returns its size (0: no
 *  job). A size above cap wrote nothing: the host retries with that much room. */
export function bg_job(out: usize, cap: f64): f64 {
  if (!(cap >= 0)) return 0;
  return <f64>writeJob(out, <u64>cap);
}

/** On a worker's engine holding the job's inputs: merges the job image at (p, len); the
 *  version then holds the output runs (version_runs, run_image*). A failed merge leaves
 *  RESULT as read_error does: +0 what, +4 run, +8 offset. */
export function bg_merge(p: usize, len: f64): i32 {
  if (!(len >= 0)) return S.INVALID_ARGUMENT;
  let st = mergeJob(p, <u64>len);
  if (st != S.OK) {
    store<u32>(RESULT, <u32>jobFailure.errWhat);
    store<u32>(RESULT, jobFailure.errRun, 4);
    store<f64>(RESULT, <f64>jobFailure.errAt, 8);
  }
  return st;
}

/** On a worker's engine after a job (its output taken): drops every run, keeping the memory
 *  for the next job. */
export function bg_clear(): void { clearJob(); }

/** Installs the runs imported with level STAGED as job `id`'s output. NOT_FOUND: the job
 *  was dropped meanwhile (the staged runs are freed; the host deletes their files). */
export function bg_install(id: u32): i32 { return installRemote(id); }

/** Job `id` failed in the worker with status st (CORRUPTION and IO_ERROR, at run / offset
 *  at / what, are latched as the background error); the job is dropped either way. */
export function bg_fail(id: u32, st: i32, run: u32, at: f64, what: i32): void {
  failRemote(id, st, run, at >= 0 ? <u64>at : 0, what);
}

/** Reserves n run numbers (file names for a job's output); returns the first. */
export function take_run_ids(n: u32): u32 { return takeRunIds(n); }
