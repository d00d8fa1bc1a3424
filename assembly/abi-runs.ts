// The ABI's run files (docs/ABI.md, "Exports"; docs/FORMAT.md): what a store's directory
// needs of the engine. Writing runs out (the version's runs, their file images in chunks),
// reading them back at open (whole images, or only their tails for runs that stay in their
// files: larger than memory, with the block cache), the sequence recovered with them, and
// where a failed block read, or the background error, happened.
import * as E from "./engine";
import * as S from "./status";
import { memoryCap } from "./memory-budget";
import { MAX_LEVELS } from "./version";
import {
  runImageSize, writeRunImage, readRunImage, runTailOffset, readRunTail, corruptWhat, corruptAt,
  writeRunBlocks, chunkBytes, runTailSize, writeRunTail, readFooter,
} from "./run-file";
import { Run, peekRunId, detachRun } from "./run";
import {
  readErrorBackground, clearReadError, readStatus, readErrorRun, readErrorAt, readErrorWhat, fileBacking, enableFileBacking,
  setCacheCapacity,
} from "./block-cache";
import { RESULT } from "./abi-regions";
import { stageRun } from "./remote-compaction";

// ---- persistence (docs/FORMAT.md) --------------------------------------------------------

export function version_stamp(): u32 { return E.versionStamp; }
export function flushed_seq(): f64 { return <f64>E.flushedSeq; }
export function next_run_id(): u32 { return peekRunId(); }

/** Writes the current version's runs as { level u32, id u32 } pairs at out (cap pairs at
 *  most); returns how many there are (the host retries with more room when larger). */
export function version_runs(out: usize, cap: u32): u32 {
  let v = E.version;
  let n: u32 = 0;
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    for (let i = 0; i < runs.length; i++) {
      if (n < cap) { store<u32>(out + (<usize>n << 3), <u32>l); store<u32>(out + (<usize>n << 3), unchecked(runs[i]).id, 4); }
      n++;
    }
  }
  return n;
}

/** Live run `id` whose blocks are in memory (a file-backed one has its file already). */
function residentRun(id: u32): Run | null {
  let r = E.findRunById(id);
  return r == null || r.fileBacked ? null : r;
}

/** Size in bytes of the file image of run `id` (0 when no such run is resident). */
export function run_image_size(id: u32): f64 {
  let r = residentRun(id);
  return r == null ? 0 : <f64>runImageSize(r);
}

/** Writes the file image of run `id` at out; NOT_FOUND when no such run is resident. */
export function run_image(id: u32, out: usize): i32 {
  let r = residentRun(id);
  if (r == null) return S.NOT_FOUND;
  writeRunImage(r, out);
  return S.OK;
}

/** A run file a chunk at a time (the host spreads writing one over several calls): writes
 *  run `id`'s data blocks from block `from`, whole blocks up to `maxBytes`, at out; returns
 *  the number of blocks with RESULT +0 = their bytes (u32). 0 blocks: none left, or (RESULT
 *  +0 > 0) block `from` alone needs RESULT +0 bytes. -1 when no such run is live (or it is
 *  file-backed). */
export function run_image_blocks(id: u32, from: i32, maxBytes: u32, out: usize): i32 {
  let r = residentRun(id);
  if (r == null || from < 0) return -1;
  let n = writeRunBlocks(r, from, <u64>maxBytes, out);
  store<u32>(RESULT, <u32>chunkBytes);
  return n;
}

/** Bytes of run `id`'s index, bloom and footer (0 when no such run is live). */
export function run_image_tail_size(id: u32): f64 {
  let r = residentRun(id);
  return r == null ? 0 : <f64>runTailSize(r);
}

/** Writes run `id`'s index, bloom and footer at out; NOT_FOUND when no such run is live. */
export function run_image_tail(id: u32, out: usize): i32 {
  let r = residentRun(id);
  if (r == null) return S.NOT_FOUND;
  writeRunTail(r, out);
  return S.OK;
}

/** Imports a run file image at (p, len) as run `id` into `level`, or with level STAGED
 *  (= MAX_LEVELS) as an output of the background compaction, to be installed by bg_install.
 *  CORRUPTION leaves RESULT +0 = what (block-check.ts CORRUPT_*) and +8 = the offset in the image. */
export function run_import(p: usize, len: f64, level: i32, id: u32): i32 {
  if (level < 0 || level > STAGED || !(len >= 0)) return S.INVALID_ARGUMENT;
  let run = readRunImage(p, <u64>len, id, level == STAGED);
  if (run == null) return importRefused();
  addImported(run, level);
  return S.OK;
}

/** The level run_import and run_import_tail take for a background compaction's output. */
const STAGED: i32 = MAX_LEVELS;

function addImported(run: Run, level: i32): void {
  if (level == STAGED) stageRun(run);
  else E.addRecoveredRun(run, level);
}

/** A run import that got no run: OUT_OF_MEMORY (corruptWhat 0), or CORRUPTION with RESULT
 *  +0 = what and +8 = where (run-file.ts corruptWhat, corruptAt). */
function importRefused(): i32 {
  if (corruptWhat == 0) return S.OUT_OF_MEMORY;
  store<u32>(RESULT, <u32>corruptWhat);
  store<f64>(RESULT, <f64>corruptAt, 8);
  return S.CORRUPTION;
}

/** After importing runs: the last sequence they hold (the manifest's flushedSeq). */
export function recover_seq(seq: f64): i32 {
  if (!(seq >= 0) || seq != Math.floor(seq) || seq > 9007199254740991) return S.INVALID_ARGUMENT;
  E.setRecoveredSeq(<u64>seq);
  return S.OK;
}

// ---- larger than memory: file-backed runs and the block cache (docs/ABI.md) --------------

/** The host can read run files (env.read_block): runs may become file-backed, so
 *  iterators copy their batches out. Called once, before any run is imported. */
export function enable_file_backing(): void { enableFileBacking(); }

/** Sets the block cache's capacity in bytes (eviction happens at the next safe point). */
export function set_block_cache_bytes(bytes: f64): i32 {
  if (!(bytes >= 0) || bytes > 4294967296) return S.INVALID_ARGUMENT;
  // At most an eighth of the memory cap: a cache the cap cannot hold would starve writes
  // and reads of memory instead of evicting.
  let cap = memoryCap() >> 3;
  setCacheCapacity(<u64>bytes < cap ? <u64>bytes : cap);
  return S.OK;
}

/** The host has made run `id`'s file durable: its blocks may leave memory (deferred while
 *  iterators read it). NOT_FOUND when no such run is live. */
export function run_detach(id: u32): i32 {
  if (!fileBacking) return S.INVALID_ARGUMENT;
  let r = E.findRunById(id);
  if (r == null) return S.NOT_FOUND;
  detachRun(r);
  return S.OK;
}

/** Given a run file's 48-byte footer at p and the file's size, returns where its index
 *  starts (the host then reads from there to the end for run_import_tail), or -1 when the
 *  footer is damaged (CORRUPTION at offset fileSize - 48). */
export function run_tail_offset(p: usize, fileSize: f64): f64 {
  if (!(fileSize >= 0)) return -1;
  let off = runTailOffset(p, <u64>fileSize);
  return off < 0 ? -1 : <f64>off;
}

/** The footer at `p` of a run file of `fileSize` bytes, checked as run_tail_offset checks it,
 *  written at `out` (56 bytes) as seven f64: index offset and length, bloom offset and length,
 *  entries, tombstones, format version. OK, or CORRUPTION for a damaged footer (at fileSize - 48). */
export function run_footer(p: usize, fileSize: f64, out: usize): i32 {
  if (!(fileSize >= 0)) return S.INVALID_ARGUMENT;
  return readFooter(p, <u64>fileSize, out) ? S.OK : S.CORRUPTION;
}

/** Imports run `id` of `level` as file-backed from its tail (index, bloom, footer) at
 *  (p, len); its blocks are read through env.read_block (the first one now, to check it
 *  and take the smallest key). CORRUPTION (and IO_ERROR) leave RESULT as run_import does. */
export function run_import_tail(p: usize, len: f64, fileSize: f64, level: i32, id: u32): i32 {
  if (!fileBacking || level < 0 || level > STAGED || !(len >= 0) || !(fileSize >= len)) return S.INVALID_ARGUMENT;
  clearReadError();
  let run = readRunTail(p, <u64>len, <u64>fileSize, id);
  if (run == null) {
    if (readStatus != S.OK) { // reading the first block failed
      store<u32>(RESULT, <u32>readErrorWhat);
      store<f64>(RESULT, <f64>readErrorAt, 8);
      return readStatus;
    }
    return importRefused();
  }
  addImported(run, level);
  return S.OK;
}

/** After a call failed with CORRUPTION or IO_ERROR from a block read: RESULT +0 = what
 *  (block-check.ts CORRUPT_*), +4 = the run's file number, +8 = the offset in its file, +16 =
 *  1 when the call was refused for the background error (bg_error) rather than failing a
 *  read of its own. */
export function read_error(): void {
  store<u32>(RESULT, <u32>readErrorWhat);
  store<u32>(RESULT, readErrorRun, 4);
  store<f64>(RESULT, <f64>readErrorAt, 8);
  store<u32>(RESULT, readErrorBackground ? 1 : 0, 16);
}

/** The background error (engine.ts): 0 when none, else its status (CORRUPTION, IO_ERROR),
 *  with RESULT +0 = what, +4 = run file number, +8 = offset, as read_error. From then on
 *  writes, flush and compact are refused with it until the store is reopened. */
export function bg_error(): i32 {
  if (E.bgStatus == S.OK) return S.OK;
  store<u32>(RESULT, <u32>E.bgWhat);
  store<u32>(RESULT, E.bgRun, 4);
  store<f64>(RESULT, <f64>E.bgAt, 8);
  store<u32>(RESULT, 1, 16);
  return E.bgStatus;
}
