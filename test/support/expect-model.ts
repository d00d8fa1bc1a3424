// Assertions that a Store reads exactly as its SortedModel says, shared by the model tests.
import { expect } from 'vitest';
import type { Store } from 'strata-kv';
import { hex, type SortedModel } from './model.js';

type Entry = [Uint8Array, Uint8Array];

/** The same entries in the same order (compared as hex, so failures print readably). */
export const sameEntries = (actual: Entry[], expected: Entry[]): void =>
  expect(actual.map(([k, v]) => [hex(k), hex(v)])).toEqual(expected.map(([k, v]) => [hex(k), hex(v)]));

/** Every key of `keys` reads as the model has it (value and version, or absent), one get at a
 *  time and in one getAll, and a full scan yields exactly the model's entries. */
export function expectStoreMatches(store: Store, m: SortedModel, keys: readonly Uint8Array[]): void {
  for (const k of keys) {
    const e = m.get(k);
    const got = store.getVersioned(k);
    if (e === undefined) expect(got).toBeUndefined();
    else expect(got && { v: hex(got.value), version: got.version }).toEqual({ v: hex(e.value), version: e.version });
  }
  const batch = store.getAll(keys).map((v) => (v === undefined ? undefined : hex(v)));
  expect(batch).toEqual(keys.map((k) => { const e = m.get(k); return e === undefined ? undefined : hex(e.value); }));
  sameEntries([...store.all()], m.range());
}

/** An iterator opened earlier, the entries the model said it would yield, and how many it has. */
export interface OpenIterator { it: Iterator<unknown>; expected: Entry[]; pos: number }

/** Takes up to `n` more entries from `s.it`, each the next one the model expected, and
 *  `done` once those are used up (the model tests' stepIterator command). */
export function stepMatches(s: OpenIterator, n: number): void {
  for (let i = 0; i < n; i++) {
    const res = s.it.next();
    if (s.pos >= s.expected.length) { expect(res.done).toBe(true); break; }
    expect(res.done).toBe(false);
    sameEntries([res.value as Entry], [s.expected[s.pos++]]);
  }
}
