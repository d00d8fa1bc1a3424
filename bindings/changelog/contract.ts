// The changelog hook's types. One atomic write produces one ChangeRecord[] in commit
// order, one record per operation, deletes as `value: null` tombstones, a range deletion
// as one `value: null` record with `rangeEnd`.
import { invalid } from '../errors.js';

/**
 * One change: a put (`value` set), a delete (`value: null`), or a range deletion
 * (`value: null` and `rangeEnd` set: every key k with key <= k < rangeEnd, in unsigned byte
 * order, is deleted at `seq`, whatever was written before). A sink or listener that keeps
 * or applies records must honour `rangeEnd`: reading such a record as a delete of `key`
 * alone leaves the other keys of the range alive.
 */
export interface ChangeRecord {
  partition: number;
  seq: number;
  key: Uint8Array;
  value: Uint8Array | null;
  /** A range deletion's end (exclusive; above `key`); `value` is then null. */
  rangeEnd?: Uint8Array;
  /** When the entry expires, ms since the epoch; set by stores with ttlMs. A restore never
   *  brings back an entry whose expiresAt has passed. */
  expiresAt?: number;
}

export interface ChangelogSink {
  append(records: ChangeRecord[]): void | Promise<void>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** The `changelog` option as an array of sinks, each checked (INVALID_ARGUMENT): the one
 *  reading of it, for Store, PartitionedStore and Standby. */
export function sinksOf(changelog: ChangelogSink | ChangelogSink[] | undefined): ChangelogSink[] {
  const sinks = changelog === undefined ? [] : Array.isArray(changelog) ? [...changelog] : [changelog];
  for (const s of sinks) if (typeof s?.append !== 'function') throw invalid('every changelog sink needs an append function');
  return sinks;
}

export interface ChangelogSource {
  read(partition: number, fromSeq?: number): AsyncIterable<ChangeRecord> | Iterable<ChangeRecord>;
}

/**
 * @internal A source that can hand restore its records where they lie in its own read
 * buffers (FileChangelog), instead of as a ChangeRecord each: restore then copies runs of
 * adjacent records into linear memory in one step and rewrites their headers in place
 * (bindings/changelog/restore.ts), with no object made per record.
 */
export const RAW_RECORDS: unique symbol = Symbol('strata-kv.rawRecords');

/**
 * @internal One record in its source's buffer, valid during the visit. The record's bytes
 * are [recordStart, recordEnd) of `buffer`: its key is [keyStart, keyEnd), its value
 * [keyEnd, recordEnd) (empty for a tombstone; a range deletion's end key when
 * `rangeDelete`), and at least 22 bytes of it come before the key. A buffer's bytes never change while the visits go on (the source moves to a fresh or
 * idle buffer), so a visitor may copy them after the visit, up to the first record that
 * comes from another buffer.
 */
export interface RawRecord {
  readonly buffer: Uint8Array;
  readonly recordStart: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly recordEnd: number;
  readonly seq: number;
  readonly tombstone: boolean;
  readonly rangeDelete: boolean;
  readonly expiresAt: number | undefined;
}

/** @internal Visits the records the source's iterator would yield, in order. */
export interface RawRecordSource {
  [RAW_RECORDS](visit: (record: RawRecord) => void): void;
}
