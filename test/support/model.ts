// The reference model every property test compares the engine against: a plain Map from
// key to { value, version }, kept with the store's sequence counter. Keys are held as hex
// strings because lowercase hex compares like the unsigned bytes it spells (two characters
// a byte, '0'-'9' < 'a'-'f', a proper prefix first), which is exactly the store's order.

export interface ModelEntry { value: Uint8Array; version: number }

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

export class SortedModel {
  readonly map = new Map<string, ModelEntry>();
  /** The last sequence number the store has assigned. */
  seq = 0;

  clone(): SortedModel {
    const m = new SortedModel();
    for (const [k, e] of this.map) m.map.set(k, e);
    m.seq = this.seq;
    return m;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.map.set(hex(key), { value: value.slice(), version: ++this.seq });
  }

  delete(key: Uint8Array): void {
    this.seq++; // a tombstone takes a sequence number too
    this.map.delete(hex(key));
  }

  /** deleteRange: every key in [from, to) goes; one sequence number. */
  deleteRange(from: Uint8Array, to: Uint8Array): void {
    this.seq++;
    this.dropRange(from, to);
  }

  private dropRange(from: Uint8Array, to: Uint8Array): void {
    const lo = hex(from), hi = hex(to);
    for (const k of [...this.map.keys()]) if (k >= lo && k < hi) this.map.delete(k);
  }

  /** A restore (Store.restore): records at or below the sequence are skipped as already
   *  applied; the others keep their own sequence as version (a range deletion's, rangeEnd,
   *  deletes its range). */
  restore(records: readonly { seq: number; key: Uint8Array; value: Uint8Array | null; rangeEnd?: Uint8Array }[]): void {
    for (const r of records) {
      if (r.seq <= this.seq) continue;
      if (r.rangeEnd !== undefined) this.dropRange(r.key, r.rangeEnd);
      else if (r.value === null) this.map.delete(hex(r.key));
      else this.map.set(hex(r.key), { value: r.value.slice(), version: r.seq });
      this.seq = r.seq;
    }
  }

  get(key: Uint8Array): ModelEntry | undefined { return this.map.get(hex(key)); }

  version(key: Uint8Array): number { return this.get(key)?.version ?? 0; }

  /** Entries in [from, to) (either bound optional), ordered, reversed and limited like the store. */
  range(from?: Uint8Array, to?: Uint8Array, reverse = false, limit = Infinity): [Uint8Array, Uint8Array][] {
    const lo = from === undefined ? undefined : hex(from);
    const hi = to === undefined ? undefined : hex(to);
    const keys = [...this.map.keys()]
      .filter((k) => (lo === undefined || k >= lo) && (hi === undefined || k < hi))
      .sort();
    if (reverse) keys.reverse();
    return keys.slice(0, limit).map((k) => [unhex(k), this.map.get(k)!.value]);
  }
}
