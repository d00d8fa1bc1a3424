// Restore: bulk-loads changelog records into an engine with the sequence numbers they carry,
// so keys keep their versions and the next write gets a version above every restored one.
// Records travel in chunks (batch image of docs/ABI.md, `restore_batch`) to amortise the
// boundary; hooks and sinks are bypassed, since the records come from a changelog already.
import { Status, statusError, MAX_KEY_BYTES, MAX_VALUE_BYTES, type Engine } from './abi.js';
import type { ChangeRecord } from './changelog.js';
import { StrataError, invalid } from './errors.js';

/** What a restore did, reported at the end and, with `onProgress`, after every chunk. */
export interface RestoreProgress {
  /** Records read from the source. */
  records: number;
  /** Records applied; the others had a sequence at or below the store's and were skipped. */
  applied: number;
  /** Key and value bytes read. */
  bytes: number;
  /** Records read per second so far. */
  recordsPerSecond: number;
}

export interface RestoreOptions {
  onProgress?: (progress: RestoreProgress) => void;
}

/** @internal How a store with ttlMs stores restored values: an f64 expiresAt (the record's,
 *  or now + ttlMs for a record without one) before the bytes; a record already expired at
 *  `now` is restored as a tombstone of the same seq, so it never comes back. */
export interface RestoreTtl { ttlMs: number; now: number }

const HEADER = 17; // kind u8 | seq f64 | keyLen u32 | valLen u32
const CHUNK_BYTES = 1 << 20;
const CHUNK_RECORDS = 4096;

export async function restoreInto(engine: Engine, source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>,
                                  options: RestoreOptions, checkOpen: () => void,
                                  applied?: (image: Uint8Array, count: number, firstSeq: number) => void): Promise<RestoreProgress> {
  const isAsync = source != null && typeof (source as AsyncIterable<ChangeRecord>)[Symbol.asyncIterator] === 'function';
  if (!isAsync && (source == null || typeof (source as Iterable<ChangeRecord>)[Symbol.iterator] !== 'function')) {
    throw invalid('restore expects an iterable or async iterable of change records');
  }
  if (options === null || typeof options !== 'object') throw invalid('restore options must be an object');
  const onProgress = options.onProgress;
  const ttl = (options as { ttl?: RestoreTtl }).ttl;
  const prefix = ttl === undefined ? 0 : 8;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('onProgress must be a function');

  const started = performance.now();
  const progress: RestoreProgress = { records: 0, applied: 0, bytes: 0, recordsPerSecond: 0 };
  let chunk: ChangeRecord[] = [];
  let chunkBytes = 0;

  const apply = () => {
    if (chunk.length === 0) return;
    checkOpen(); // an async source may have yielded while the store was closed
    applyChunk(engine, chunk, chunkBytes, progress, applied, ttl);
    chunk = [];
    chunkBytes = 0;
    progress.recordsPerSecond = progress.records / Math.max((performance.now() - started) / 1000, 1e-9);
    onProgress?.({ ...progress });
  };
  const take = (r: ChangeRecord) => {
    checkRecord(r, progress.records, prefix);
    chunk.push(r);
    const size = r.key.length + (r.value?.length ?? 0);
    chunkBytes += HEADER + size + (r.value === null ? 0 : prefix);
    progress.records++;
    progress.bytes += size;
    if (chunk.length >= CHUNK_RECORDS || chunkBytes >= CHUNK_BYTES) apply();
  };

  if (isAsync) for await (const r of source as AsyncIterable<ChangeRecord>) take(r);
  else for (const r of source as Iterable<ChangeRecord>) take(r);
  apply();
  progress.recordsPerSecond = progress.records / Math.max((performance.now() - started) / 1000, 1e-9);
  return progress;
}

/** Applies one chunk; `applied` then sees its image (a store with a log records it). */
function applyChunk(engine: Engine, chunk: ChangeRecord[], size: number, progress: RestoreProgress,
                    applied: ((image: Uint8Array, count: number, firstSeq: number) => void) | undefined,
                    ttl: RestoreTtl | undefined): void {
  const base = engine.reserve(size);
  const view = engine.view;
  const u8 = engine.u8;
  let p = base;
  for (const r of chunk) {
    let v = r.value;
    let expiresAt = 0;
    if (ttl !== undefined && v !== null) {
      expiresAt = r.expiresAt ?? ttl.now + ttl.ttlMs;
      if (expiresAt <= ttl.now) v = null; // expired already: a tombstone keeps it gone
    }
    const prefix = ttl !== undefined && v !== null ? 8 : 0;
    view.setUint8(p, v === null ? 0 : 1);
    view.setFloat64(p + 1, r.seq, true);
    view.setUint32(p + 9, r.key.length, true);
    view.setUint32(p + 13, v === null ? 0 : prefix + v.length, true);
    u8.set(r.key, p + HEADER);
    if (prefix !== 0) view.setFloat64(p + HEADER + r.key.length, expiresAt, true);
    if (v !== null) u8.set(v, p + HEADER + r.key.length + prefix);
    p += HEADER + r.key.length + (v === null ? 0 : prefix + v.length);
  }
  size = p - base; // expired records shrank to tombstones
  const st = engine.x.restore_batch(base, size, chunk.length);
  if (st !== Status.OK) {
    if (st === Status.INVALID_ARGUMENT) {
      throw invalid(`restore: records must carry strictly increasing sequence numbers (chunk ending at record ${progress.records - 1})`);
    }
    throw statusError(st, 'restore');
  }
  progress.applied += engine.view.getUint32(engine.resultPtr, true);
  applied?.(engine.u8.subarray(base, base + size), chunk.length, chunk[0].seq);
}

function checkRecord(r: ChangeRecord, index: number, valuePrefix: number): void {
  if (r === null || typeof r !== 'object') throw invalid(`restore: record ${index} is not an object`);
  if (!(r.key instanceof Uint8Array)) throw invalid(`restore: record ${index} has no Uint8Array key`);
  if (r.value !== null && !(r.value instanceof Uint8Array)) throw invalid(`restore: record ${index} value must be a Uint8Array or null`);
  if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw invalid(`restore: record ${index} has seq ${String(r.seq)}, expected a positive safe integer`);
  if (r.key.length > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `restore: record ${index} key of ${r.key.length} bytes exceeds ${MAX_KEY_BYTES}`);
  if (r.value !== null && r.value.length > MAX_VALUE_BYTES - valuePrefix) {
    throw new StrataError('VALUE_TOO_LARGE', `restore: record ${index} value of ${r.value.length} bytes exceeds ${MAX_VALUE_BYTES - valuePrefix}`);
  }
  if (r.expiresAt !== undefined && (typeof r.expiresAt !== 'number' || !Number.isFinite(r.expiresAt))) {
    throw invalid(`restore: record ${index} has expiresAt ${String(r.expiresAt)}, expected a finite number (ms since the epoch)`);
  }
}
