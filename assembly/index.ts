// The Wasm ABI: every export of the module. docs/ABI.md documents each one, the status
// codes (status.ts) and the shared regions; bindings/engine/abi.ts mirrors this file.
// Sequence numbers cross as f64 (exact below 2^53). Nothing here throws or aborts on input.
// Over 500 lines on purpose: it is the whole ABI, one export after another, so that it reads
// side by side with docs/ABI.md and bindings/abi.ts; the logic behind each export lives in
// engine.ts and the modules it names.
import "./abort";
import * as E from "./engine";
import * as S from "./status";
import { KIND_PUT, KIND_DELETE } from "./internal-key";
import { budgetAlloc, budgetFree, memoryCap } from "./memory-budget";
import { MAX_LEVELS } from "./version";
import {
  runImageSize, writeRunImage, readRunImage, runTailOffset, readRunTail, corruptWhat, corruptAt,
  writeRunBlocks, chunkBytes, runTailSize, writeRunTail,
} from "./run-file";
import { Run, peekRunId, detachRun, safePoint } from "./run";
import {
  readErrorBackground, clearReadError, readStatus, readErrorRun, readErrorAt, readErrorWhat, fileBacking, enableFileBacking,
  setCacheCapacity, cacheCapacity, cacheBytes, cacheHits, cacheMisses,
} from "./block-cache";
import { setExpiryClock } from "./compaction";

/** Result of lookups: +0 value ptr u32, +4 value len u32, +8 sequence f64 (+16 u32: see
 *  read_error). */
const RESULT: usize = memory.data(24, 8);
/** Iterator batches: up to ITER_BATCH × { keyPtr, keyLen, valPtr, valLen } as u32, then the
 *  batch trailer: flags u32 (TRAILER_*), key pack ptr u32, key bytes packed u32, value pack
 *  ptr u32, value bytes packed u32. */
const ITER_BATCH: i32 = 256;
const BATCH: usize = memory.data(ITER_BATCH * 16 + 24, 8);
const TRAILER: usize = BATCH + <usize>ITER_BATCH * 16;
const TRAILER_ENDED: u32 = 1;
const TRAILER_ASCII: u32 = 2;
/** The packs: the keys (ITER_PACK_KEYS) and values (ITER_PACK_VALUES) of a batch, each end to
 *  end in batch order, which the host copies out with one call each before its next call
 *  into the engine. An entry that does not fit ends the batch, unpacked. Shared by every
 *  iterator: only the last batch's packs are there. */
const ITER_PACK_VALUES: u8 = 8;
const ITER_PACK_KEYS: u8 = 16;
const VALUE_PACK_BYTES: u32 = 64 << 10;
const VALUE_PACK: usize = memory.data(<i32>VALUE_PACK_BYTES, 8);
const KEY_PACK_BYTES: u32 = 16 << 10;
const KEY_PACK: usize = memory.data(<i32>KEY_PACK_BYTES, 8);
/** The ITER_PACK_* flags of the iterator with handle i. */
const packs = new Array<u8>();
/** stats(): STATS_FIELDS f64 slots, see docs/ABI.md. */
const STATS_FIELDS: i32 = 16 + MAX_LEVELS * 3 + 4 + 5 + 2;
const STATS: usize = memory.data(STATS_FIELDS * 8, 8);

let ioPtr: usize = 0;
let ioCap: usize = 0;

export function result_ptr(): usize { return RESULT; }
export function batch_ptr(): usize { return BATCH; }
export function batch_capacity(): i32 { return ITER_BATCH; }
export function stats_ptr(): usize { return STATS; }

/** Returns a region of at least `size` bytes the host writes arguments into (0 = no memory).
 *  The region stays put until the next io_reserve with a larger size. */
export function io_reserve(size: u32): usize {
  E.dropPrepared(); // the host is about to write here: a prepared batch's image may go
  if (<usize>size <= ioCap && ioPtr != 0) return ioPtr;
  let cap: usize = ioCap < 65536 ? 65536 : ioCap;
  while (cap < <usize>size) cap <<= 1;
  let p = budgetAlloc(cap);
  if (p == 0) return 0;
  budgetFree(ioPtr, ioCap);
  ioPtr = p;
  ioCap = cap;
  return p;
}

export function init(memtableBytes: u32, blockBytes: u32, bloomBitsPerKey: u32, level0Trigger: i32,
                     levelBaseBytes: f64, levelMultiplier: u32, runTargetBytes: f64,
                     autoCompaction: bool, maxMemoryBytes: f64): i32 {
  if (memtableBytes < 256 || blockBytes < 64 || level0Trigger < 1 || levelMultiplier < 2
      || levelBaseBytes < 1 || runTargetBytes < 1 || bloomBitsPerKey > 64) return S.INVALID_ARGUMENT;
  let c = E.config;
  c.memtableBytes = memtableBytes;
  c.compaction.blockBytes = blockBytes;
  c.compaction.bitsPerKey = bloomBitsPerKey;
  c.level0Trigger = level0Trigger;
  c.levelBaseBytes = <u64>levelBaseBytes;
  c.levelMultiplier = levelMultiplier;
  c.compaction.runTargetBytes = <u64>runTargetBytes;
  c.autoCompaction = autoCompaction;
  return E.init(c, <u64>maxMemoryBytes);
}

function setResult(st: i32): i32 {
  if (st == S.OK) {
    store<u32>(RESULT, <u32>E.foundVal);
    store<u32>(RESULT, E.foundValLen, 4);
    store<f64>(RESULT, <f64>E.foundSeq, 8);
  }
  return st;
}

function lastSeqResult(st: i32): i32 {
  store<f64>(RESULT, <f64>E.lastSeq, 8);
  return st;
}

export function put(kp: usize, kl: u32, vp: usize, vl: u32): i32 { return lastSeqResult(E.write(kp, kl, KIND_PUT, vp, vl)); }
export function del(kp: usize, kl: u32): i32 { return lastSeqResult(E.write(kp, kl, KIND_DELETE, 0, 0)); }
export function write_batch(p: usize, len: u32, count: u32): i32 { return lastSeqResult(E.writeBatch(p, len, count)); }

/** Validates a batch image and reserves its memory without applying it; OK leaves RESULT
 *  +0 = the batch's token (u32) for apply_prepared (batch-image.ts, "the batch prepared
 *  last"). */
export function prepare_batch(p: usize, len: u32, count: u32): i32 {
  let st = E.prepareBatch(p, len, count);
  if (st == S.OK) store<u32>(RESULT, E.currentPreparedToken());
  return st;
}

/** Applies the batch prepare_batch prepared, named by its token, without parsing it again;
 *  INVALID_ARGUMENT (nothing applied) when that preparation has ended. RESULT +8 = last
 *  sequence. */
export function apply_prepared(token: u32): i32 { return lastSeqResult(E.applyPrepared(token)); }

/** Applies changelog records with their own sequences; RESULT +0 = records applied (u32),
 *  +8 = last sequence. Records at or below the last sequence are skipped. */
export function restore_batch(p: usize, len: u32, count: u32): i32 {
  let st = E.restoreBatch(p, len, count);
  store<u32>(RESULT, st == S.OK ? E.restoredCount : 0);
  return lastSeqResult(st);
}

// ---- restore (bulk ingest, docs/LSM.md) ---------------------------------------------------

/** Bytes a restore chunk should stay under: large chunks make few large level-0 runs, but a
 *  chunk is held three times over while applied (host, image, run), so a small memory cap
 *  gets small ones. */
export function restore_chunk_bytes(): u32 { return E.restoreChunkBytes(); }

/** Like io_reserve, but the region's first `keep` bytes move with it (a restore growing the
 *  chunk it is building). Returns the region, or 0 when out of memory (the old one stays). */
export function io_grow(size: u32, keep: u32): usize {
  E.dropPrepared();
  if (<usize>size <= ioCap && ioPtr != 0) return ioPtr;
  let cap: usize = ioCap < 65536 ? 65536 : ioCap;
  while (cap < <usize>size) cap <<= 1;
  let p = budgetAlloc(cap);
  if (p == 0) return 0;
  if (ioPtr != 0) memory.copy(p, ioPtr, <usize>keep < ioCap ? <usize>keep : ioCap);
  budgetFree(ioPtr, ioCap);
  ioPtr = p;
  ioCap = cap;
  return p;
}

/** Frees the argument region when it is larger than `keep` bytes (a restore's large chunks
 *  grew it); the next io_reserve allocates a fresh one. */
export function io_release(keep: u32): void {
  E.dropPrepared();
  if (ioCap <= <usize>keep) return;
  budgetFree(ioPtr, ioCap);
  ioPtr = 0;
  ioCap = 0;
}
// ---- end restore -----------------------------------------------------------------------

/** OK and RESULT = (value, seq), or NOT_FOUND. snapSeq < 0 means "now". The value stays
 *  readable until the next call (a block-cache safe point). */
export function get(kp: usize, kl: u32, snapSeq: f64): i32 {
  safePoint();
  return setResult(E.lookup(kp, kl, snapSeq < 0 ? E.lastSeq : <u64>snapSeq));
}

/** getAll: keys packed as count × { keyLen u32 | key } at p; for each key writes
 *  { valPtr u32, valLen u32 } to out (valLen = 0xffffffff when absent). */
export function get_many(p: usize, count: u32, out: usize, snapSeq: f64): i32 {
  safePoint(); // only here: every value found must stay readable until the call returns
  let seq = snapSeq < 0 ? E.lastSeq : <u64>snapSeq;
  for (let i: u32 = 0; i < count; i++) {
    let kl = load<u32>(p);
    let st = E.lookup(p + 4, kl, seq);
    if (st == S.OK) { store<u32>(out, <u32>E.foundVal); store<u32>(out, E.foundValLen, 4); }
    else if (st == S.NOT_FOUND) { store<u32>(out, 0); store<u32>(out, 0xffffffff, 4); }
    else return st;
    out += 8;
    p += 4 + <usize>kl;
  }
  return S.OK;
}

function conditional(kp: usize, kl: u32, kind: u8, vp: usize, vl: u32, expected: f64): i32 {
  if (kl > S.MAX_KEY_BYTES) return S.KEY_TOO_LARGE;
  if (vl > S.MAX_VALUE_BYTES) return S.VALUE_TOO_LARGE;
  if (!(expected >= 0) || expected != Math.floor(expected)) return S.INVALID_ARGUMENT;
  if (E.bgStatus != S.OK) return lastSeqResult(E.refusal()); // refused before it reads or decides
  safePoint();
  let st = E.lookup(kp, kl, E.lastSeq);
  if (st != S.OK && st != S.NOT_FOUND) return st; // a failed read decides nothing
  let current: u64 = st == S.OK ? E.foundSeq : 0;
  if (<f64>current != expected) return lastSeqResult(S.CONDITION_FAILED);
  return lastSeqResult(E.write(kp, kl, kind, vp, vl));
}

export function put_if_version(kp: usize, kl: u32, vp: usize, vl: u32, expected: f64): i32 {
  return conditional(kp, kl, KIND_PUT, vp, vl, expected);
}
export function del_if_version(kp: usize, kl: u32, expected: f64): i32 {
  return conditional(kp, kl, KIND_DELETE, 0, 0, expected);
}

export function last_seq(): f64 { return <f64>E.lastSeq; }
export function snapshot_acquire(): f64 { return <f64>E.acquireSnapshot(); }
export function snapshot_release(seq: f64): void { E.releaseSnapshot(<u64>seq); }

/** Bounds are read from (lp, ll) and (up, ul) and copied; flags: 1 has lower, 2 has upper,
 *  4 reverse, 8 pack values, 16 pack keys (iter_next). Returns a handle >= 0, or -status. */
export function iter_open(lp: usize, ll: u32, up: usize, ul: u32, flags: u32, snapSeq: f64): i32 {
  let seq = snapSeq < 0 ? E.lastSeq : <u64>snapSeq;
  let h = E.openIterator(lp, ll, (flags & 1) != 0, up, ul, (flags & 2) != 0, (flags & 4) != 0, seq);
  if (h >= 0) {
    while (packs.length <= h) packs.push(0);
    unchecked(packs[h] = <u8>flags & (ITER_PACK_VALUES | ITER_PACK_KEYS));
  }
  return h;
}

/** Copies len bytes from src to dst (not overlapping) and returns their high bits, ORed: 0
 *  when they are all ASCII. Words at a time: memory.copy is a call out of the module,
 *  which costs more than the loop for a key or a small value. */
function packCopy(dst: usize, src: usize, len: u32): u64 {
  let acc: u64 = 0;
  let end = src + <usize>len;
  for (; src + 8 <= end; src += 8, dst += 8) {
    let w = load<u64>(src);
    store<u64>(dst, w);
    acc |= w;
  }
  for (; src < end; src++, dst++) {
    let b = load<u8>(src);
    store<u8>(dst, b);
    acc |= <u64>b;
  }
  return acc & 0x8080808080808080;
}

/** Values up to this many bytes are packed by packCopy, longer ones by memory.copy. */
const SMALL_COPY: u32 = 256;

/** Fills BATCH with up to `max` entries; returns how many (0 = the end), or -status (a
 *  failed block read: the iterator then keeps failing). The pointers stay valid until the
 *  iterator's next iter_next or its close: in a store with file backing they point into
 *  the iterator's batch copy, otherwise into the memtable and runs it pins. A packed value's
 *  pointer points into VALUE_PACK; key pointers never point into KEY_PACK (rawKey reads them
 *  later). The trailer says whether the iterator ended in this call and what was packed. */
export function iter_next(h: i32, max: i32): i32 {
  let it = E.getIterator(h);
  if (it == null) return -S.BAD_HANDLE;
  if (it.error != S.OK) { it.publishReadError(); return -it.error; }
  safePoint();
  if (max > ITER_BATCH) max = ITER_BATCH;
  let copy = fileBacking;
  if (copy) it.resetBatch();
  let pack: u8 = h < packs.length ? unchecked(packs[h]) : 0;
  let packValues = (pack & ITER_PACK_VALUES) != 0, packKeys = (pack & ITER_PACK_KEYS) != 0;
  let valueBytes: u32 = 0, keyBytes: u32 = 0;
  let high: u64 = 0;
  let n = 0;
  let p = BATCH;
  let ended = false;
  while (n < max) {
    if (!it.step()) { ended = true; break; }
    let kp = it.keyPtr, kl = it.keyLen, vp = it.valPtr, vl = it.valLen;
    let full = false, valuePacked = false;
    if (packKeys) {
      if (kl <= KEY_PACK_BYTES - keyBytes) {
        high |= packCopy(KEY_PACK + keyBytes, kp, kl);
        keyBytes += kl;
      } else full = true;
    }
    if (packValues && !full) {
      if (vl <= VALUE_PACK_BYTES - valueBytes) {
        if (vl <= SMALL_COPY) packCopy(VALUE_PACK + valueBytes, vp, vl);
        else memory.copy(VALUE_PACK + valueBytes, vp, vl);
        vp = VALUE_PACK + valueBytes;
        valueBytes += vl;
        valuePacked = true;
      } else full = true;
    }
    if (copy) {
      kp = it.keep(kp, kl);
      if (!valuePacked) vp = it.keep(vp, vl);
      if (kp == 0 || vp == 0) { it.error = S.OUT_OF_MEMORY; return -S.OUT_OF_MEMORY; }
    }
    store<u32>(p, <u32>kp);
    store<u32>(p, kl, 4);
    store<u32>(p, <u32>vp, 8);
    store<u32>(p, vl, 12);
    p += 16;
    n++;
    if (full) break;
  }
  store<u32>(TRAILER, (ended ? TRAILER_ENDED : 0) | (high == 0 ? TRAILER_ASCII : 0));
  store<u32>(TRAILER, <u32>KEY_PACK, 4);
  store<u32>(TRAILER, keyBytes, 8);
  store<u32>(TRAILER, <u32>VALUE_PACK, 12);
  store<u32>(TRAILER, valueBytes, 16);
  // A source that failed a read ended the merge early: an error, never a scan cut short.
  let rs = it.readStatus();
  if (rs != S.OK) { it.error = rs; it.publishReadError(); return -rs; }
  if (copy && !it.keepSkipKey()) { it.error = S.OUT_OF_MEMORY; return -S.OUT_OF_MEMORY; }
  return n;
}

export function iter_close(h: i32): i32 { return E.closeIterator(h); }

export function flush(): i32 { return E.flush(); }

/** 1: no compaction starts or advances until 0 (a host replaying its log at open: see
 *  engine.ts pauseCompaction). An explicit compact still runs. */
export function pause_compaction(on: i32): void { E.pauseCompaction(on != 0); }
export function compact(): i32 { return E.compactAll(); }

/** Writes the stats layout (docs/ABI.md) to STATS. */
export function stats(): void {
  let c = E.counters;
  let v = E.version;
  let f = STATS;
  store<f64>(f, <f64>E.lastSeq, 0);
  let sealed = E.imm;
  store<f64>(f, <f64>(E.mem.entries + (sealed != null ? sealed.entries : 0)), 8);
  store<f64>(f, <f64>(E.mem.bytes + (sealed != null ? sealed.bytes : 0)), 16);
  store<f64>(f, <f64>E.snapshotCount(), 24);
  store<f64>(f, <f64>E.iteratorCount(), 32);
  store<f64>(f, <f64>c.puts, 40);
  store<f64>(f, <f64>c.deletes, 48);
  store<f64>(f, <f64>c.gets, 56);
  store<f64>(f, <f64>c.flushes, 64);
  store<f64>(f, <f64>c.compactions, 72);
  store<f64>(f, <f64>c.userBytes, 80);
  store<f64>(f, <f64>c.bytesFlushed, 88);
  store<f64>(f, <f64>c.bytesCompacted, 96);
  store<f64>(f, <f64>E.memoryInUse(), 104);
  store<f64>(f, <f64>(<u64>memory.size() << 16), 112);
  store<f64>(f, <f64>MAX_LEVELS, 120);
  for (let l = 0; l < MAX_LEVELS; l++) {
    let runs = unchecked(v.levels[l]);
    let entries: u64 = 0;
    for (let i = 0; i < runs.length; i++) entries += unchecked(runs[i]).entries;
    let base = f + 128 + <usize>l * 24;
    store<f64>(base, <f64>runs.length, 0);
    store<f64>(base, <f64>entries, 8);
    store<f64>(base, <f64>v.levelBytes(l), 16);
  }
  let tail = f + 128 + <usize>MAX_LEVELS * 24;
  store<f64>(tail, E.compactionPending() ? 1 : 0, 0);
  store<f64>(tail, <f64>E.compactionInputBytes(), 8);
  store<f64>(tail, <f64>E.compactionBytesRead(), 16);
  store<f64>(tail, <f64>c.stalls, 24);
  let cache = tail + 32;
  store<f64>(cache, <f64>cacheCapacity, 0);
  store<f64>(cache, <f64>cacheBytes, 8);
  store<f64>(cache, <f64>cacheHits, 16);
  store<f64>(cache, <f64>cacheMisses, 24);
  store<f64>(cache, <f64>E.fileBackedRuns(), 32);
  let flushing = cache + 40;
  store<f64>(flushing, sealed != null ? 1 : 0, 0);
  store<f64>(flushing, <f64>E.flushBytesRead(), 8);
}

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

/** Imports a run file image at (p, len) as run `id` into `level`. CORRUPTION leaves
 *  RESULT +0 = what (block-check.ts CORRUPT_*) and +8 = the offset in the image. */
export function run_import(p: usize, len: f64, level: i32, id: u32): i32 {
  if (level < 0 || level >= MAX_LEVELS || !(len >= 0)) return S.INVALID_ARGUMENT;
  let run = readRunImage(p, <u64>len, id);
  if (run == null) return importRefused();
  E.addRecoveredRun(run, level);
  return S.OK;
}

/** A run import that got no run: OUT_OF_MEMORY (corruptWhat 0), or CORRUPTION with RESULT
 *  +0 = what and +8 = where (run-file.ts corruptWhat, corruptAt). */
function importRefused(): i32 {
  if (corruptWhat == 0) return S.OUT_OF_MEMORY;
  store<u32>(RESULT, <u32>corruptWhat);
  store<f64>(RESULT, <f64>corruptAt, 8);
  return S.CORRUPTION;
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

/** While on, writes are the host's replay of its write-ahead log at open: admitted with the
 *  read reserve only (admission.ts). */
export function set_replaying(on: i32): void { E.setReplaying(on != 0); }

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

/** Imports run `id` of `level` as file-backed from its tail (index, bloom, footer) at
 *  (p, len); its blocks are read through env.read_block (the first one now, to check it
 *  and take the smallest key). CORRUPTION (and IO_ERROR) leave RESULT as run_import does. */
export function run_import_tail(p: usize, len: f64, fileSize: f64, level: i32, id: u32): i32 {
  if (!fileBacking || level < 0 || level >= MAX_LEVELS || !(len >= 0) || !(fileSize >= len)) return S.INVALID_ARGUMENT;
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
  E.addRecoveredRun(run, level);
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

/** After importing runs: the last sequence they hold (the manifest's flushedSeq). */
export function recover_seq(seq: f64): i32 {
  if (!(seq >= 0) || seq != Math.floor(seq) || seq > 9007199254740991) return S.INVALID_ARGUMENT;
  E.setRecoveredSeq(<u64>seq);
  return S.OK;
}

/** Sets the clock (ms since the epoch) compaction turns expired values into tombstones by,
 *  for stores with ttlMs (values prefixed by an f64 expiresAt); 0 turns expiry off. */
export function set_expiry_clock(now: f64): void {
  setExpiryClock(now >= 0 ? now : 0);
}
