// The changelog hook's types. One atomic write produces one ChangeRecord[] in commit
// order, one record per operation, deletes as `value: null` tombstones.

export interface ChangeRecord {
  partition: number;
  seq: number;
  key: Uint8Array;
  value: Uint8Array | null;
  /** When the entry expires, ms since the epoch; set by stores with ttlMs. A restore never
   *  brings back an entry whose expiresAt has passed. */
  expiresAt?: number;
}

export interface ChangelogSink {
  append(records: ChangeRecord[]): void | Promise<void>;
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

export interface ChangelogSource {
  read(partition: number, fromSeq?: number): AsyncIterable<ChangeRecord> | Iterable<ChangeRecord>;
}
