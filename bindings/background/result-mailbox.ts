// A browser job's result in shared memory (worker-executor-browser.ts): where the page is
// cross-origin isolated, each job carries a SharedArrayBuffer the worker writes its result
// into, so the store can take it at its next call, or block for it in a Worker, without
// its event loop turning (a message is delivered only then). A result that does not fit
// goes back as a message, as without a mailbox.
//
//   i32 state       WAITING → MERGING (the worker took the job) → FILLED or BY_MESSAGE
//   i32 jsonLength, i32 jsonAt, i32 (unused)
//   images          the output runs' images end to end, from byte 16
//   json            the JobResult, each output's image replaced by its offset here
// INVARIANT: the worker writes everything before it stores FILLED; the store reads only
// after it loads FILLED (Atomics order both).
import { runMergeJob, failureOf } from './merge-job.js';
import { transferables, type CompactionJob, type JobResult } from './job.js';

export const WAITING = 0;
export const MERGING = 1;
export const FILLED = 2;
export const BY_MESSAGE = 3;
const HEADER = 16;

/** A job's message to its worker: its ticket, the job, and the mailbox if there is one. */
export interface JobMessage { ticket: number; job: CompactionJob; box?: SharedArrayBuffer }
/** The worker's answer: the result itself, or a note that it is in the mailbox. */
export interface ResultMessage { ticket: number; result?: JobResult }

/** Whether results can come back in shared memory here (SharedArrayBuffer exists only in a
 *  cross-origin isolated page or its workers). */
export const mailboxesAvailable = (): boolean =>
  typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

/** A mailbox for `job`, as the view of its header words the store keeps (made once: the
 *  store reads the state at every call while the job is out). Its outputs hold no more than
 *  its inputs, plus a run of range tombstones and each run's index and bloom; room is left
 *  for that. */
export function mailboxFor(job: CompactionJob): Int32Array {
  const inputs = job.inputs.reduce((n, i) => n + (i.image?.length ?? 0), 0);
  return new Int32Array(new SharedArrayBuffer(HEADER + Math.ceil(inputs * 1.25) + (1 << 20)), 0, HEADER / 4);
}

export const stateOf = (words: Int32Array): number => Atomics.load(words, 0);

/** Blocks (a Worker may; a page's main thread may not) while the mailbox is in `state`, at
 *  most `ms`. */
export function waitWhile(words: Int32Array, state: number, ms: number): void {
  Atomics.wait(words, 0, state, ms);
}

/** The result in a FILLED mailbox (its images are views of the mailbox). */
export function takeResult(words: Int32Array): JobResult {
  const box = words.buffer;
  const json = new TextDecoder().decode(new Uint8Array(box, words[2], words[1]).slice());
  const r = JSON.parse(json) as JobResult;
  if (r.ok) r.outputs = (r.outputs as { bytes: number; at: number }[]).map((o) => ({ bytes: o.bytes, image: new Uint8Array(box, o.at, o.bytes) as Uint8Array }));
  return r;
}

/** The worker's side: merges `m.job` and answers through `post`, in the mailbox when there
 *  is one and the result fits. */
export function serveJob(module: WebAssembly.Module, m: JobMessage, post: (r: ResultMessage, transfer: ArrayBuffer[]) => void): void {
  const words = m.box === undefined ? undefined : new Int32Array(m.box, 0, HEADER / 4);
  if (words) Atomics.store(words, 0, MERGING);
  let result: JobResult;
  try {
    result = runMergeJob(m.job, module);
  } catch (err) {
    result = failureOf(m.job.id, 0, err);
  }
  if (words && fillMailbox(m.box!, result)) {
    post({ ticket: m.ticket }, []); // wakes a store idle in its event loop
    return;
  }
  if (words) Atomics.store(words, 0, BY_MESSAGE);
  post({ ticket: m.ticket, result }, transferables(result));
}

/** Writes `r` into `box` and marks it FILLED (waking a waiter); false, and the mailbox as it
 *  was, when it does not fit. */
export function fillMailbox(box: SharedArrayBuffer, r: JobResult): boolean {
  const words = new Int32Array(box, 0, HEADER / 4);
  const outputs = r.ok ? r.outputs : [];
  let at = HEADER;
  const placed = outputs.map((o) => { const p = { bytes: o.bytes, at }; at += o.bytes; return p; });
  const json = new TextEncoder().encode(JSON.stringify(r.ok ? { ...r, outputs: placed } : r));
  if (at + json.length > box.byteLength) return false;
  outputs.forEach((o, i) => { new Uint8Array(box, placed[i].at, o.bytes).set(o.image!); });
  new Uint8Array(box, at, json.length).set(json);
  words[1] = json.length;
  words[2] = at;
  Atomics.store(words, 0, FILLED);
  Atomics.notify(words, 0);
  return true;
}
