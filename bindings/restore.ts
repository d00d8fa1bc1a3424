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
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('onProgress must be a function');

  const started = performance.now();
  const progress: RestoreProgress = { records: 0, applied: 0, bytes: 0, recordsPerSecond: 0 };
  let chunk: ChangeRecord[] = [];
  let chunkBytes = 0;

  const apply = () => {
    if (chunk.length === 0) return;
    checkOpen(); // an async source may have yielded while the store was closed
    applyChunk(engine, chunk, chunkBytes, progress, applied);
    chunk = [];
    chunkBytes = 0;
    progress.recordsPerSecond = progress.records / Math.max((performance.now() - started) / 1000, 1e-9);
    onProgress?.({ ...progress });
  };
  const take = (r: ChangeRecord) => {
    checkRecord(r, progress.records);
    chunk.push(r);
    const size = r.key.length + (r.value?.length ?? 0);
    chunkBytes += HEADER + size;
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
                    applied?: (image: Uint8Array, count: number, firstSeq: number) => void): void {
  const base = engine.reserve(size);
  const view = engine.view;
  const u8 = engine.u8;
  let p = base;
  for (const r of chunk) {
    const v = r.value;
    view.setUint8(p, v === null ? 0 : 1);
    view.setFloat64(p + 1, r.seq, true);
    view.setUint32(p + 9, r.key.length, true);
    view.setUint32(p + 13, v === null ? 0 : v.length, true);
    u8.set(r.key, p + HEADER);
    if (v !== null) u8.set(v, p + HEADER + r.key.length);
    p += HEADER + r.key.length + (v === null ? 0 : v.length);
  }
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

function checkRecord(r: ChangeRecord, index: number): void {
  if (r === null || typeof r !== 'object') throw invalid(`restore: record ${index} is not an object`);
  if (!(r.key instanceof Uint8Array)) throw invalid(`restore: record ${index} has no Uint8Array key`);
  if (r.value !== null && !(r.value instanceof Uint8Array)) throw invalid(`restore: record ${index} value must be a Uint8Array or null`);
  if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw invalid(`restore: record ${index} has seq ${String(r.seq)}, expected a positive safe integer`);
  if (r.key.length > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `restore: record ${index} key of ${r.key.length} bytes exceeds ${MAX_KEY_BYTES}`);
  if (r.value !== null && r.value.length > MAX_VALUE_BYTES) {
    throw new StrataError('VALUE_TOO_LARGE', `restore: record ${index} value of ${r.value.length} bytes exceeds ${MAX_VALUE_BYTES}`);
  }
}
