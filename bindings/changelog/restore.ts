// Restore: bulk-loads changelog records into an engine with the sequence numbers they carry,
// so keys keep their versions and the next write gets a version above every restored one.
// Hooks and sinks are bypassed, since the records come from a changelog already. A range
// deletion (rangeEnd) is the image's kind 3, its end key as the value (never an expiry
// prefix), applied as a range tombstone at its seq.
//
// Records travel in chunks (the restore image of docs/ABI.md), each applied by one
// `restore_batch` call, whole or not at all; a large chunk is ingested as a level-0 run,
// bypassing the memtable (docs/LSM.md, "Bulk ingest"). Two ways to build a chunk:
//  - raw (a FileChangelog read, changelog/contract.ts RAW_RECORDS, store without ttl): runs of
//    adjacent records are copied from the changelog's read buffers into linear memory in one
//    step each, and every record's frame header is rewritten in place into a padding record
//    and an image header (the key and value are already where the image wants them), so no
//    object or copy is made per record. This runs synchronously to the end of the source, so
//    nothing else can use the argument region meanwhile;
//  - otherwise, records are encoded as they arrive into a JS buffer of this restore's own
//    (not the engine's shared argument region, which other calls on the store may use while
//    an async source is awaited), copied into linear memory when the chunk is full.
import { Status, statusError, MAX_KEY_BYTES, MAX_VALUE_BYTES, type Engine } from '../engine/abi.js';
import { RAW_RECORDS, type ChangeRecord, type RawRecord, type RawRecordSource } from './contract.js';
import { StrataError, invalid, shown } from '../errors.js';
import { compareBytes } from '../key-range.js';

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
 *  or now + ttlMs for a record without one), little-endian, before the bytes; a record
 *  already expired at `now` is restored as a tombstone of the same seq, so it never comes
 *  back. */
export interface RestoreTtl { ttlMs: number; now: number }

/** @internal What restoreInto takes besides RestoreOptions (stores pass these, users do not). */
export interface RestoreIntoOptions extends RestoreOptions {
  ttl?: RestoreTtl;
  /** Chunk bounds, image bytes and records (tests use small ones to put boundaries anywhere;
   *  the default bytes come from the engine, restore_chunk_bytes). */
  chunkBytes?: number;
  chunkRecords?: number;
}

const HEADER = 17;                 // kind u8 | seq f64 | keyLen u32 | valLen u32
const PAD_HEADER = 5;              // kind u8 = 2 | n u32, then n bytes of nothing
const KIND_PAD = 2;
const KIND_RANGE = 3;              // a range deletion: value = its end key (no expiry prefix)
const EXPIRES_BYTES = 8;           // a ttl store's value prefix: expiresAt f64
const CHUNK_RECORDS = 1 << 17;
const FIRST_BUFFER = 16 << 10;
/** The staging buffer is kept between restores (a fresh one costs more than restoring a
 *  few thousand records: its memory is new to the process), up to this size; a restore
 *  running meanwhile makes its own. */
const KEEP_BUFFER = 16 << 20;
let idleBuffer: Uint8Array | null = null;
/** Raw path: records whose headers are rewritten at once (the metadata kept meanwhile). */
const RANGE_RECORDS = 4096;
/** Raw path: a chunk's region starts this big and doubles up to the chunk size as records
 *  come, so a small restore does not grow linear memory by a whole chunk. */
const FIRST_REGION = 1 << 20;
/** The argument region a restore grew is given back above this size. */
const KEEP_IO_BYTES = 1 << 20;

/** The write-ahead log of a store that has one: a chunk is logged before it is applied and
 *  taken back if the engine refuses it (docs/LSM.md, "The write protocol"); `applied` runs
 *  after each chunk that changed the store. */
export interface RestoreLog {
  log(image: Uint8Array, count: number, firstSeq: number, lastSeq: number): unknown;
  unlog(mark: unknown): void;
  applied(): void;
}

export async function restoreInto(engine: Engine, source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>,
                                  options: RestoreIntoOptions, checkOpen: () => void,
                                  log?: RestoreLog): Promise<RestoreProgress> {
  const isAsync = source != null && typeof (source as AsyncIterable<ChangeRecord>)[Symbol.asyncIterator] === 'function';
  if (!isAsync && (source == null || typeof (source as Iterable<ChangeRecord>)[Symbol.iterator] !== 'function')) {
    throw invalid('restore expects an iterable or async iterable of change records');
  }
  if (options === null || typeof options !== 'object') throw invalid('restore options must be an object');
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid('onProgress must be a function');
  const ttl = options.ttl;
  if (ttl !== undefined && (ttl === null || typeof ttl !== 'object' || !Number.isFinite(ttl.ttlMs) || !Number.isFinite(ttl.now))) {
    throw invalid('restore: ttl must be { ttlMs, now } with finite numbers');
  }
  const chunkBytes = bound(options.chunkBytes, 'chunkBytes') ?? engine.restoreChunkBytes();
  const chunkRecords = bound(options.chunkRecords, 'chunkRecords') ?? CHUNK_RECORDS;
  const run = new Restore(engine, checkOpen, log, onProgress);
  try {
    const raw = (source as Partial<RawRecordSource>)[RAW_RECORDS];
    if (!isAsync && ttl === undefined && typeof raw === 'function') {
      run.raw(source as unknown as RawRecordSource, chunkBytes, chunkRecords);
    } else {
      await run.records(source, isAsync, ttl, chunkBytes, chunkRecords);
    }
  } finally {
    // A restore's large chunks grew the argument region: give it back (not if closed).
    try { checkOpen(); engine.releaseArguments(KEEP_IO_BYTES); } catch { /* closed */ }
  }
  return run.finish();
}

/** One restore: progress, and applying chunks. */
class Restore {
  readonly progress: RestoreProgress = { records: 0, applied: 0, bytes: 0, recordsPerSecond: 0 };
  private readonly started = performance.now();

  constructor(private readonly engine: Engine, private readonly checkOpen: () => void,
              private readonly wal: RestoreLog | undefined,
              private readonly onProgress: ((p: RestoreProgress) => void) | undefined) {}

  finish(): RestoreProgress {
    this.progress.recordsPerSecond = this.rate();
    return this.progress;
  }

  private rate(): number {
    return this.progress.records / Math.max((performance.now() - this.started) / 1000, 1e-9);
  }

  /** Applies the chunk image at (p, len) of linear memory: `count` image records (padding
   *  included), the first with seq firstSeq, the last with lastSeq. */
  private apply(p: number, len: number, count: number, firstSeq: number, lastSeq: number): void {
    const engine = this.engine, progress = this.progress;
    // A chunk wholly at or below the store's sequence applies nothing and needs no logging.
    const mark = this.wal !== undefined && lastSeq > engine.lastSeq()
      ? this.wal.log(engine.u8.subarray(p, p + len), count, firstSeq, lastSeq) : undefined;
    const { status: st, applied: n } = engine.restoreBatch(p, len, count);
    if (st !== Status.OK) {
      if (mark !== undefined) this.wal!.unlog(mark);
      if (st === Status.INVALID_ARGUMENT) {
        throw invalid(`restore: records must carry strictly increasing sequence numbers (chunk ending at record ${progress.records - 1})`);
      }
      throw statusError(st, 'restore');
    }
    progress.applied += n;
    if (n > 0) this.wal?.applied();
    progress.recordsPerSecond = this.rate();
    // The chunk is committed (logged and applied): a failing progress callback cannot fail it.
    try { this.onProgress?.({ ...progress }); } catch { /* a progress report, as a listener's error */ }
  }

  /** Any source: records encoded into a JS buffer, copied into linear memory per chunk. */
  async records(source: Iterable<ChangeRecord> | AsyncIterable<ChangeRecord>, isAsync: boolean,
                ttl: RestoreTtl | undefined, chunkBytes: number, chunkRecords: number): Promise<void> {
    const progress = this.progress;
    const maxValue = ttl === undefined ? MAX_VALUE_BYTES : MAX_VALUE_BYTES - EXPIRES_BYTES;
    const now = ttl?.now ?? 0;
    const ttlMs = ttl?.ttlMs ?? 0;
    let buf = idleBuffer ?? new Uint8Array(FIRST_BUFFER);
    idleBuffer = null;
    let view = new DataView(buf.buffer);
    let pos = 0;        // image bytes in the current chunk
    let count = 0;      // records in the current chunk
    let firstSeq = 0;   // seq of its first record
    let lastSeq = 0;    // and of its last

    const flush = () => {
      if (count === 0) return;
      this.checkOpen(); // an async source may have yielded while the store was closed
      const len = pos, n = count;
      const p = this.engine.reserve(len);
      this.engine.u8.set(buf.subarray(0, len), p);
      pos = count = 0;
      this.apply(p, len, n, firstSeq, lastSeq);
    };

    const take = (r: ChangeRecord) => {
      const index = progress.records;
      if (r === null || typeof r !== 'object') throw invalid(`restore: record ${index} is not an object`);
      checkRecord(r, index, maxValue);
      const key = r.key, value = r.value;
      const klen = key.length;
      const rangeEnd = r.rangeEnd;
      let kind = 1, vlen = 0, stored = 0, expiresAt = 0;
      if (rangeEnd !== undefined) { kind = KIND_RANGE; vlen = stored = rangeEnd.length; }
      else if (value === null) kind = 0;
      else {
        vlen = stored = value.length;
        if (ttl !== undefined) {
          expiresAt = r.expiresAt ?? now + ttlMs;
          if (expiresAt <= now) { kind = 0; stored = 0; } else stored += EXPIRES_BYTES;
        }
      }
      const size = HEADER + klen + stored;
      if (count > 0 && (pos + size > chunkBytes || count >= chunkRecords)) flush();
      if (pos + size > buf.length) {
        const grown = new Uint8Array(Math.max(pos + size, Math.min(buf.length * 2, chunkBytes)));
        grown.set(buf.subarray(0, pos));
        buf = grown;
        view = new DataView(buf.buffer);
      }
      if (count === 0) firstSeq = r.seq;
      lastSeq = r.seq;
      const o = pos;
      buf[o] = kind;
      view.setFloat64(o + 1, r.seq, true);
      view.setUint32(o + 9, klen, true);
      view.setUint32(o + 13, stored, true);
      buf.set(key, o + HEADER);
      if (kind === KIND_RANGE) buf.set(rangeEnd!, o + HEADER + klen);
      else if (stored !== 0) {
        let v = o + HEADER + klen;
        if (ttl !== undefined) { view.setFloat64(v, expiresAt, true); v += EXPIRES_BYTES; }
        buf.set(value!, v);
      }
      pos = o + size;
      count++;
      progress.records = index + 1;
      progress.bytes += klen + vlen;
    };

    try {
      if (isAsync) for await (const r of source as AsyncIterable<ChangeRecord>) take(r);
      else for (const r of source as Iterable<ChangeRecord>) take(r);
      flush();
    } finally {
      if (buf.length <= KEEP_BUFFER) idleBuffer = buf;
    }
  }

  /**
   * A raw source (changelog/contract.ts RawRecordSource): runs of adjacent records are copied into
   * linear memory as they lie, then each record's leading bytes are rewritten in place:
   * those before the last 17 become a padding record, the last 17 (just before the key)
   * the image header. Synchronous from start to end.
   */
  raw(source: RawRecordSource, chunkBytes: number, chunkRecords: number): void {
    const engine = this.engine, progress = this.progress;
    let base = 0, cap = 0;            // the chunk's region of linear memory
    let u8 = engine.u8, dv = engine.view;
    let pos = 0;                      // image bytes placed
    let count = 0;                    // image records (padding included)
    let records = 0;                  // records in the chunk
    let firstSeq = 0, lastSeq = 0;
    // The pending range: records [rs, re) of rbuf not yet copied, and their fields.
    let rbuf: Uint8Array | null = null, rs = 0, re = 0, rn = 0;
    const mStart = new Int32Array(RANGE_RECORDS), mKey = new Int32Array(RANGE_RECORDS);
    const mKeyLen = new Int32Array(RANGE_RECORDS), mValLen = new Int32Array(RANGE_RECORDS);
    const mKind = new Uint8Array(RANGE_RECORDS), mSeq = new Float64Array(RANGE_RECORDS);

    const place = () => {
      if (rn === 0) return;
      const at = base + pos;
      u8.set(rbuf!.subarray(rs, re), at);
      for (let j = 0; j < rn; j++) {
        const start = at + mStart[j], h = at + mKey[j] - HEADER;
        if (h > start) { u8[start] = KIND_PAD; dv.setUint32(start + 1, h - start - PAD_HEADER, true); }
        u8[h] = mKind[j];
        dv.setFloat64(h + 1, mSeq[j], true);
        dv.setUint32(h + 9, mKeyLen[j], true);
        dv.setUint32(h + 13, mValLen[j], true);
      }
      pos += re - rs;
      rn = 0;
      rbuf = null;
    };
    const flush = () => {
      place();
      if (records === 0) return;
      this.checkOpen();
      const n = count;
      const len = pos;
      records = count = pos = 0;
      this.apply(base, len, n, firstSeq, lastSeq);
    };

    const visit = (r: RawRecord) => {
      const index = progress.records;
      const seq = r.seq;
      if (!Number.isSafeInteger(seq) || seq < 1) throw invalid(`restore: record ${index} has seq ${shown(seq)}, expected a positive safe integer`);
      const expiresAt = r.expiresAt;
      if (expiresAt !== undefined && !Number.isFinite(expiresAt)) {
        throw invalid(`restore: record ${index} has expiresAt ${shown(expiresAt)}, expected a finite number (ms since the epoch)`);
      }
      const recordStart = r.recordStart, keyStart = r.keyStart, keyEnd = r.keyEnd, recordEnd = r.recordEnd;
      const klen = keyEnd - keyStart, vlen = recordEnd - keyEnd;
      if (klen > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `restore: record ${index} key of ${klen} bytes exceeds ${MAX_KEY_BYTES}`);
      if (vlen > MAX_VALUE_BYTES) throw new StrataError('VALUE_TOO_LARGE', `restore: record ${index} value of ${vlen} bytes exceeds ${MAX_VALUE_BYTES}`);
      const range = r.rangeDelete;
      if (range && vlen > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `restore: record ${index} range end of ${vlen} bytes exceeds ${MAX_KEY_BYTES}`);
      const lead = keyStart - recordStart;
      if (lead !== HEADER && lead < HEADER + PAD_HEADER) throw new Error('restore: raw record with too few bytes before its key');
      const size = recordEnd - recordStart;
      if (records > 0 && (pos + (re - rs) + size > chunkBytes || records >= chunkRecords)) flush();
      if (records === 0) {
        // A new chunk: its region (reserved again, since applying may have moved it).
        cap = Math.max(Math.min(chunkBytes, FIRST_REGION), size);
        base = engine.reserve(cap);
        u8 = engine.u8;
        dv = engine.view;
        firstSeq = seq;
      } else if (pos + (re - rs) + size > cap) {
        // The chunk outgrows its region: a larger one, the image placed so far moving along.
        place();
        cap = Math.min(Math.max(cap * 2, pos + size), Math.max(chunkBytes, pos + size));
        base = engine.growArguments(cap, pos);
        u8 = engine.u8;
        dv = engine.view;
      }
      if (r.buffer !== rbuf || recordStart !== re || rn === RANGE_RECORDS) {
        place();
        rbuf = r.buffer;
        rs = re = recordStart;
      }
      mStart[rn] = recordStart - rs;
      mKey[rn] = keyStart - rs;
      mKeyLen[rn] = klen;
      mValLen[rn] = vlen;
      mKind[rn] = range ? KIND_RANGE : r.tombstone ? 0 : 1;
      mSeq[rn] = seq;
      lastSeq = seq;
      rn++;
      re = recordEnd;
      records++;
      count += lead > HEADER ? 2 : 1;
      progress.records = index + 1;
      progress.bytes += klen + vlen;
    };

    this.checkOpen();
    source[RAW_RECORDS](visit);
    flush();
  }
}

function bound(v: number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 1) throw invalid(`restore: ${name} must be a positive integer`);
  return v;
}

function checkRecord(r: ChangeRecord, index: number, maxValue: number): void {
  if (!(r.key instanceof Uint8Array)) throw invalid(`restore: record ${index} has no Uint8Array key`);
  const value = r.value;
  if (value !== null && !(value instanceof Uint8Array)) throw invalid(`restore: record ${index} value must be a Uint8Array or null`);
  if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw invalid(`restore: record ${index} has seq ${shown(r.seq)}, expected a positive safe integer`);
  const expiresAt = r.expiresAt;
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    throw invalid(`restore: record ${index} has expiresAt ${shown(expiresAt)}, expected a finite number (ms since the epoch)`);
  }
  if (r.key.length > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `restore: record ${index} key of ${r.key.length} bytes exceeds ${MAX_KEY_BYTES}`);
  const end = r.rangeEnd;
  if (end !== undefined) {
    if (!(end instanceof Uint8Array) || value !== null) throw invalid(`restore: record ${index} rangeEnd must be a Uint8Array, with value null`);
    if (end.length > MAX_KEY_BYTES) throw new StrataError('KEY_TOO_LARGE', `restore: record ${index} rangeEnd of ${end.length} bytes exceeds ${MAX_KEY_BYTES}`);
    if (compareBytes(r.key, end) >= 0) throw invalid(`restore: record ${index} deletes the range [key, rangeEnd), which needs key < rangeEnd`);
  }
  if (value !== null && value.length > maxValue) {
    throw new StrataError('VALUE_TOO_LARGE', `restore: record ${index} value of ${value.length} bytes exceeds ${maxValue}` +
      (maxValue < MAX_VALUE_BYTES ? ` (${MAX_VALUE_BYTES} less the ${EXPIRES_BYTES}-byte expiry a store with ttlMs keeps with it)` : ''));
  }
}
