// Compactions merged by a background worker (docs/LSM.md, "Background compaction"). The
// same module runs on both sides, in two engines:
//  - the store's engine picks a compaction as leveled.ts always does, and with the host's
//    worker enabled (bg_delegate) registers it as `remote` instead of merging it in slices.
//    The host takes its job image (writeJob), has the worker merge it, imports the output
//    runs as staged (stageRun: not in any version yet) and installs them (installRemote),
//    at a call of its own: a safe point, as the write whose slice ended a merge here;
//  - the worker's engine, a fresh instance per job, imports the job's input runs at their
//    levels (images, or file tails read through its own descriptors), merges them
//    (mergeJob) and hands the output runs back as images or files.
// The worker's merge is the Merger of compaction.ts with the same rules. What it cannot
// see, the levels below the output, travels in the job as their runs' key ranges
// (base-levels.ts RangeBase), and S (the smallest snapshot) and the expiry clock are the
// store's at the pick.
// INVARIANT: the remote compaction's inputs are in the current version until it is
// installed or dropped (leveled.ts: nothing else removes runs meanwhile, and compactAll or
// a write stop drop it first), so installing replaces exactly them; an install that names
// a dropped job is refused and its staged runs freed, and the host deletes their files.
import { Run } from "./run";
import { Version, MAX_LEVELS } from "./version";
import { RangeBase } from "./base-levels";
import { mergeInto, replaceRuns, inputRangeDels, MergeOutput } from "./compaction";
import { expiryClock, setExpiryClock } from "./compaction";
import { compareBytes } from "./bytes";
import { remote, endRemote, level0Stalled, inputsSource, startCompaction } from "./leveled";
import { config, counters, version, install, latch } from "./state";
import { roomShort } from "./admission";
import { L0_SLOWDOWN_RUNS_BG, L0_STOP_RUNS_BG } from "./tuning";
import * as S from "./status";

// ---- the job image -----------------------------------------------------------------------
// Little-endian, 8-byte aligned fields first:
//   +0  u32 job id          +4  u32 output level
//   +8  f64 S (smallest snapshot)          +16 f64 expiry clock (0: none)
//   +24 u32 input count n   +28 u32 range count m
//   +32 n × { u32 level, u32 run id }      the inputs, in version order (level 0 newest first)
//   then m × { u32 level, u32 flags (1: the run has entries), u32 loLen, u32 hiLen, lo, hi }
//        each padded to 4 bytes: every run below the output level, level by level, in key order.
const JOB_HEADER: usize = 32;

/** Bytes of the remote compaction's job image; writes it at `out` when `cap` is enough.
 *  0 when there is none. */
export function writeJob(out: usize, cap: u64): u64 {
  let r = remote;
  if (r == null) return 0;
  let v = r.base;
  let size: u64 = JOB_HEADER + <u64>r.inputs.length * 8;
  let ranges: u32 = 0;
  for (let l = r.outputLevel + 1; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) {
      let run = unchecked(runs[i]);
      size += 16 + pad4(<u64>run.smallestLen + <u64>run.largestLen);
      ranges++;
    }
  }
  if (size > cap) return size;
  store<u32>(out, r.id, 0);
  store<u32>(out, <u32>r.outputLevel, 4);
  store<f64>(out, <f64>r.smallestSnapshot, 8);
  store<f64>(out, expiryClock, 16);
  store<u32>(out, <u32>r.inputs.length, 24);
  store<u32>(out, ranges, 28);
  let p = out + JOB_HEADER;
  for (let i = 0; i < r.inputs.length; i++) {
    let run = unchecked(r.inputs[i]);
    store<u32>(p, <u32>levelOf(v, run), 0);
    store<u32>(p, run.id, 4);
    p += 8;
  }
  for (let l = r.outputLevel + 1; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) {
      let run = unchecked(runs[i]);
      store<u32>(p, <u32>l, 0);
      store<u32>(p, run.blockCount() > 0 ? 1 : 0, 4);
      store<u32>(p, run.smallestLen, 8);
      store<u32>(p, run.largestLen, 12);
      memory.copy(p + 16, run.smallest, run.smallestLen);
      memory.copy(p + 16 + run.smallestLen, run.largest, run.largestLen);
      p += 16 + <usize>pad4(<u64>run.smallestLen + <u64>run.largestLen);
    }
  }
  r.handedOut = true;
  return size;
}

function pad4(n: u64): u64 { return (n + 3) & ~(<u64>3); }

function levelOf(v: Version, run: Run): i32 {
  for (let l = 0; l < MAX_LEVELS; l++) if (unchecked(v.levels[l]).includes(run)) return l;
  return -1;
}

/** bg_state: 1 = a job waits to be handed out; back-pressure while the job out is behind:
 *  2 = memory is short, or level 0 at L0_STOP_RUNS_BG (writes wait for the job), 4 = level 0
 *  at L0_SLOWDOWN_RUNS_BG (writes slow down);
 *  0 = none of these. */
export function backgroundState(): i32 {
  let r = remote;
  if (r == null) return 0;
  if (!r.handedOut) return 1;
  if (roomShort() || level0Stalled(r.level0Inputs, L0_STOP_RUNS_BG)) return 2;
  return level0Stalled(r.level0Inputs, L0_SLOWDOWN_RUNS_BG) ? 4 : 0;
}

// ---- the worker's side ---------------------------------------------------------------------

/** Where mergeJob failed: a MergeOutput's status and block-read location. */
export let jobFailure: MergeOutput = new MergeOutput();

/**
 * In the worker's engine, whose version holds exactly the job's inputs (imported at their
 * levels in the job's order): merges them as the store's engine would have, and installs
 * the output in their place, so the version then lists the output runs. OK;
 * INVALID_ARGUMENT when the image is damaged or the version is not the job's inputs; a
 * merge failure (OUT_OF_MEMORY, or CORRUPTION / IO_ERROR reading an input) leaves
 * jobFailure saying where.
 */
export function mergeJob(p: usize, len: u64): i32 {
  if (len < JOB_HEADER) return S.INVALID_ARGUMENT;
  let outputLevel = <i32>load<u32>(p, 4);
  let snapshot = load<f64>(p, 8);
  let clock = load<f64>(p, 16);
  let n = load<u32>(p, 24), m = load<u32>(p, 28);
  if (outputLevel < 1 || outputLevel >= MAX_LEVELS || !(snapshot >= 0) || !(clock >= 0)) return S.INVALID_ARGUMENT;
  if (len < JOB_HEADER + <u64>n * 8) return S.INVALID_ARGUMENT;
  let v = version;
  let inputs = new Array<Run>();
  let level0Inputs = 0;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) inputs.push(unchecked(runs[i]));
    if (l == 0) level0Inputs = runs.length;
  }
  if (<u32>inputs.length != n) return S.INVALID_ARGUMENT;
  for (let i: u32 = 0; i < n; i++) {
    if (unchecked(inputs[i]).id != load<u32>(p + JOB_HEADER + (<usize>i << 3), 4)) return S.INVALID_ARGUMENT;
  }
  let base = new RangeBase();
  let q = p + JOB_HEADER + (<usize>n << 3);
  let end = p + <usize>len;
  for (let i: u32 = 0; i < m; i++) {
    if (q + 16 > end) return S.INVALID_ARGUMENT;
    let ll = load<u32>(q, 8), hl = load<u32>(q, 12);
    let next = q + 16 + <usize>pad4(<u64>ll + <u64>hl);
    if (next > end || next < q) return S.INVALID_ARGUMENT;
    if (!base.add(<i32>load<u32>(q, 0), q + 16, ll, q + 16 + ll, hl, load<u32>(q, 4) != 0)) return S.INVALID_ARGUMENT;
    q = next;
  }
  setExpiryClock(clock);
  let out = mergeInto(inputsSource(inputs, outputLevel, outputLevel == 1 ? level0Inputs : 0), config.compaction,
                      <u64>snapshot, base, true, inputRangeDels(inputs));
  if (out.runs == null) { jobFailure = out; return out.status; }
  install(replaceRuns(v, inputs, out.runs!, outputLevel));
  counters.compactions++;
  counters.bytesCompacted += out.bytes;
  return S.OK;
}

/** After a job, on the worker's engine: every run dropped (the version, anything staged), so
 *  the next job starts empty in the memory this one grew (a fresh instance would fault in
 *  all of its memory again: most of a job's time, measured). */
export function clearJob(): void {
  freeStaged();
  install(new Version());
}

// ---- the store's side: staging and installing the output --------------------------------

/** Output runs imported for the remote compaction, not yet in any version. */
let staged = new Array<Run>();

export function stageRun(run: Run): void { staged.push(run); }

function freeStaged(): void {
  for (let i = 0; i < staged.length; i++) { let r = unchecked(staged[i]); r.refs = 1; r.unref(); }
  staged = new Array<Run>();
}

/**
 * Installs the staged runs as the output of remote compaction `id`, in place of its inputs,
 * then starts the next compaction due. NOT_FOUND when `id` is not the remote compaction
 * (dropped meanwhile: compactAll or a write stop did the work here); CORRUPTION when the
 * runs are not a level's (out of key order, or overlapping). Either way the staged runs are
 * freed and nothing else changes.
 */
export function installRemote(id: u32): i32 {
  let r = remote;
  if (r == null || r.id != id) { freeStaged(); return S.NOT_FOUND; }
  for (let i = 1; i < staged.length; i++) {
    let a = unchecked(staged[i - 1]), b = unchecked(staged[i]);
    if (compareBytes(a.largest, a.largestLen, b.smallest, b.smallestLen) >= 0) { freeStaged(); return S.CORRUPTION; }
  }
  let bytes: u64 = 0;
  for (let i = 0; i < staged.length; i++) bytes += unchecked(staged[i]).bytes;
  install(replaceRuns(version, r.inputs, staged, r.outputLevel));
  staged = new Array<Run>();
  counters.compactions++;
  counters.bytesCompacted += bytes;
  endRemote();
  if (config.autoCompaction) startCompaction();
  return S.OK;
}

/** The worker failed remote compaction `id` with `st`: damage or I/O in an input is latched
 *  as the background error (state.ts), naming the input's run and offset, as a compaction
 *  here would; anything else (memory, a worker gone) drops it, and the next flush picks
 *  again. The inputs stay. */
export function failRemote(id: u32, st: i32, run: u32, at: u64, what: i32): void {
  freeStaged();
  let r = remote;
  if (r == null || r.id != id) return;
  latch(st, run, at, what);
  endRemote();
}
