// MemoryChangelog: a changelog held in the JS heap — for tests, for standbys in the same
// process, and as the model the durable changelogs (file, NATS) are checked against.
//
// Invariants, per partition:
//   (1) records are kept in append order, and their seqs strictly increase in that order
//       (append rejects a regressing seq), so append order is seq order and `read(p, fromSeq)`
//       is a binary search plus a walk;
//   (2) stored keys and values are private copies: neither the appender nor a reader can
//       change what the log holds. Copies go into shared chunks (Arena), in and out: a
//       separate backing store per key and value costs several times the copy.
// Everything runs synchronously; the Promise-returning methods exist for the ChangelogSink
// contract and have finished their work when they return.
import type { ChangeRecord, ChangelogSink, ChangelogSource } from './contract.js';
import { StrataError, invalid, shown } from '../errors.js';
import { compareBytes, keyId } from '../key-range.js';
import { RangeCover, type RangeRecord } from './range-cover.js';

/** Partition numbers are u32 in every changelog format. */
export const MAX_PARTITION = 0xffff_ffff;

/** Records before and after a compaction. */
export interface CompactionResult { before: number; after: number }

/** One stored record; the partition is implied by the list that holds it. */
interface Entry { seq: number; key: Uint8Array; value: Uint8Array | null; expiresAt?: number; rangeEnd?: Uint8Array }

/** A stored entry (copies from `arena`), keeping a value's expiresAt when it has one, and a
 *  range deletion's end. */
function entryOf(r: Entry, arena: Arena): Entry {
  const e: Entry = { seq: r.seq, key: arena.copy(r.key), value: r.value === null ? null : arena.copy(r.value) };
  if (r.expiresAt !== undefined && r.value !== null) e.expiresAt = r.expiresAt;
  if (r.rangeEnd !== undefined) e.rangeEnd = arena.copy(r.rangeEnd);
  return e;
}

export class MemoryChangelog implements ChangelogSink, ChangelogSource {
  // INVARIANT: entries of each list are in strictly increasing seq order.
  private readonly logs = new Map<number, Entry[]>();
  private arena = new Arena();
  private closed = false;

  /** Stores copies of `records`; all or nothing: a bad record rejects the whole batch. */
  append(records: ChangeRecord[]): void {
    if (this.closed) throw new StrataError('CLOSED', 'the changelog is closed');
    checkBatch(records, (p) => lastSeqOf(this.logs.get(p)));
    const arena = this.arena;
    for (const r of records) {
      let list = this.logs.get(r.partition);
      if (list === undefined) this.logs.set(r.partition, (list = []));
      list.push(entryOf(r, arena));
    }
  }

  /**
   * The partition's records with seq ≥ fromSeq, in seq (= append) order, as copies. Each call
   * returns a fresh iterable; each iteration sees at least the records appended before it
   * began. Reading works after close, so a closed store's log can still be restored.
   */
  read(partition: number, fromSeq = 0): Iterable<ChangeRecord> {
    checkPartition(partition);
    checkFromSeq(fromSeq);
    const logs = this.logs;
    return {
      *[Symbol.iterator]() {
        const list = logs.get(partition);
        if (list === undefined) return;
        const out = new Arena(); // this iteration's own copies
        for (let i = lowerBound(list, fromSeq); i < list.length; i++) {
          const e = entryOf(list[i], out) as ChangeRecord;
          e.partition = partition;
          yield e;
        }
      },
    };
  }

  /** Partitions that hold at least one record, ascending. */
  partitions(): number[] {
    return [...this.logs.keys()].filter((p) => this.logs.get(p)!.length > 0).sort((a, b) => a - b);
  }

  /** Records held, in one partition or in all. */
  size(partition?: number): number {
    if (partition !== undefined) {
      checkPartition(partition);
      return this.logs.get(partition)?.length ?? 0;
    }
    let n = 0;
    for (const list of this.logs.values()) n += list.length;
    return n;
  }

  /** The partition's highest seq, or 0 when it holds nothing. */
  lastSeq(partition: number): number {
    checkPartition(partition);
    return Math.max(0, lastSeqOf(this.logs.get(partition)));
  }

  /**
   * Key compaction: keeps only the latest record of each key, in seq order. Tombstones stay
   * as a key's latest record: a standby that already applied an older put of the key must
   * still see the delete, and the log's last seq (which a restored store continues from)
   * must survive. A record a later range deletion covers goes too; a range deletion stays
   * unless later ones cover all of its range (changelog/range-cover.ts says why). Restoring
   * the compacted log into an empty store gives the same keys, values and versions as
   * restoring the full log.
   */
  async compact(partition?: number): Promise<CompactionResult> {
    if (this.closed) throw new StrataError('CLOSED', 'the changelog is closed');
    if (partition !== undefined) checkPartition(partition);
    let before = 0, after = 0;
    // Survivors are copied to a new arena so the dropped records' chunks can be freed (a
    // compaction of one partition re-copies the others too: simple, and still O(log)).
    const arena = new Arena();
    for (const [p, list] of this.logs) {
      let kept = list;
      if (partition === undefined || p === partition) {
        const latest = new Map<string, number>();
        const ranges: RangeRecord[] = [];
        list.forEach((e, i) => {
          if (e.rangeEnd === undefined) latest.set(keyId(e.key), e.seq);
          else ranges.push({ ord: i, from: keyId(e.key), to: keyId(e.rangeEnd) });
        });
        const cover = ranges.length > 0 ? new RangeCover(ranges) : undefined;
        let nextRange = 0;
        kept = list.filter((e, i) => {
          if (e.rangeEnd !== undefined) return cover!.dropped[nextRange++] === 0;
          const id = keyId(e.key);
          return latest.get(id) === e.seq && !(cover?.coversAfter(id, i) ?? false);
        });
        before += list.length;
        after += kept.length;
      }
      // New arrays, not in-place edits: iterators in progress keep walking the old ones.
      this.logs.set(p, kept.map((e) => entryOf(e, arena)));
    }
    this.arena = arena;
    return { before, after };
  }

  async flush(): Promise<void> {}

  /** Refuses appends from now on; the records stay readable. */
  async close(): Promise<void> { this.closed = true; }
}

// ---- shared by the changelogs -------------------------------------------------------------

const ARENA_CHUNK = 256 << 10;

/**
 * Copies byte arrays into shared chunks and returns views of them; a chunk lives while any
 * view of it does. Arrays over 1/16 of a chunk get their own copy, bounding the waste.
 */
class Arena {
  private chunk = new Uint8Array(0);
  private used = 0;

  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > ARENA_CHUNK >>> 4) return bytes.slice();
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(ARENA_CHUNK);
      this.used = 0;
    }
    const v = new Uint8Array(this.chunk.buffer, this.used, n); // cheaper than subarray()
    v.set(bytes);
    this.used += n;
    return v;
  }
}

/** -1 for an empty partition, so seq 0 is a valid first record. */
function lastSeqOf(list: Entry[] | undefined): number {
  return list === undefined || list.length === 0 ? -1 : list[list.length - 1].seq;
}

/** Index of the first entry with seq ≥ fromSeq. */
function lowerBound(list: Entry[], fromSeq: number): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].seq < fromSeq) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function checkPartition(partition: unknown): void {
  if (!Number.isInteger(partition) || (partition as number) < 0 || (partition as number) > MAX_PARTITION) {
    throw invalid(`partition must be an integer from 0 to ${MAX_PARTITION}, got ${shown(partition)}`);
  }
}

export function checkFromSeq(fromSeq: unknown): void {
  if (typeof fromSeq !== 'number' || Number.isNaN(fromSeq)) throw invalid(`fromSeq must be a number, got ${shown(fromSeq)}`);
}

/**
 * Checks a batch before any of it is stored, so a bad batch changes nothing. Seqs must be
 * safe integers ≥ 0 strictly above the partition's last seq (`lastSeq(p)`, -1 when empty)
 * and above earlier records of the same partition in the batch: a log whose seqs regress
 * would make `read(p, fromSeq)` skip records and a standby apply some twice.
 */
export function checkBatch(records: readonly ChangeRecord[], lastSeq: (partition: number) => number): void {
  if (!Array.isArray(records)) throw invalid('append expects an array of change records');
  let seen: Map<number, number> | undefined; // last seq per partition met earlier in the batch
  let curPartition = -1, curSeq = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r === null || typeof r !== 'object') throw invalid(`change record ${i} is not an object`);
    const { partition, seq, key, value } = r;
    checkPartition(partition);
    if (!Number.isSafeInteger(seq) || seq < 0) throw invalid(`change record ${i}: seq must be a safe integer ≥ 0, got ${shown(seq)}`);
    if (!(key instanceof Uint8Array)) throw invalid(`change record ${i}: key must be a Uint8Array`);
    if (value !== null && !(value instanceof Uint8Array)) throw invalid(`change record ${i}: value must be a Uint8Array or null (a tombstone)`);
    if (r.expiresAt !== undefined && (typeof r.expiresAt !== 'number' || !Number.isFinite(r.expiresAt))) {
      throw invalid(`change record ${i}: expiresAt must be a finite number (ms since the epoch), got ${shown(r.expiresAt)}`);
    }
    if (r.rangeEnd !== undefined) checkRangeEnd(r, i);
    if (partition !== curPartition) {
      if (curPartition !== -1) (seen ??= new Map()).set(curPartition, curSeq);
      curPartition = partition;
      curSeq = seen?.get(partition) ?? lastSeq(partition);
    }
    if (seq <= curSeq) {
      throw invalid(`change record ${i}: seq ${seq} is not above seq ${curSeq} already in partition ${partition}; seqs must increase`);
    }
    curSeq = seq;
  }
}

/** A range deletion's fields (INVALID_ARGUMENT): a Uint8Array end above the key, value null. */
export function checkRangeEnd(r: ChangeRecord, i: number): void {
  const end = r.rangeEnd;
  if (!(end instanceof Uint8Array) || r.value !== null) throw invalid(`change record ${i}: rangeEnd must be a Uint8Array, with value null`);
  if (compareBytes(r.key, end) >= 0) throw invalid(`change record ${i}: a range deletion [key, rangeEnd) needs key < rangeEnd`);
}
