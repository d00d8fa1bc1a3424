// What test/browser-shared.test.ts checks a SharedStore's entries against: the writes each
// tab saw acknowledged (reported from the pages as they resolved).
import { expect } from 'vitest';

/** One acknowledged write: tab `tab` wrote key `key` (put, or delete with `del`) as its i-th write. */
export type Ack = { tab: string; key: string; i: number; del: boolean };

/** `p`, or a failure naming `what` after `ms` (rather than the test's timeout). */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The last acknowledged write of each key (ack order within a key is write order: a key's
 *  writes are never in flight together, 150 indexes apart with 8 in flight). */
export function lastAcked(acks: Ack[]): Map<string, Ack> {
  const m = new Map<string, Ack>();
  for (const a of acks) if ((m.get(a.key)?.i ?? -1) < a.i) m.set(a.key, a);
  return m;
}

/** Checks the store's entries against the acks: tabs in `exact` wrote nothing unacknowledged,
 *  so each of their keys holds its last acknowledged write; a tab that died mid-write may
 *  have had later writes applied, so its key holds that write or one made after it. */
export function checkAgainstAcks(got: [string, string][], acks: Ack[], exact: string[]): void {
  const store = new Map(got);
  expect(store.size).toBe(got.length); // each key once
  const last = lastAcked(acks);
  const maxAcked = new Map<string, number>();
  for (const x of acks) maxAcked.set(x.tab, Math.max(maxAcked.get(x.tab) ?? 0, x.i));
  // A write of the dead tab after `a` that deletes a's key: index a.i + 150m, a 13th one,
  // and one that may have been in flight (at most `upTo`).
  const laterDelete = (a: Ack, upTo: number) => {
    if (a.key.includes('/b')) return false; // a putAll's second key: never deleted
    for (let j = a.i + 150; j <= upTo; j += 150) if (j % 13 === 5) return true;
    return false;
  };
  const problems: string[] = [];
  for (const [key, a] of last) {
    const v = store.get(key);
    if (exact.includes(a.tab)) {
      const want = a.del ? undefined : `${a.tab}:${a.i}`;
      if (v !== want) problems.push(`${key}: ${v} (want ${want})`);
    } else if (v !== undefined && Number(v.split(':')[1]) < a.i) {
      problems.push(`${key}: ${v} is older than its acknowledged write ${a.i}`);
    } else if (v === undefined && !a.del && !laterDelete(a, maxAcked.get(a.tab)! + 16)) {
      problems.push(`${key}: missing`);
    }
  }
  for (const [key, v] of store) {
    const [t, i] = v.split(':');
    if (!key.startsWith(`${t}/`)) problems.push(`${key}: holds another tab's value ${v}`);
    if (exact.includes(t) && last.get(key)?.i !== Number(i)) problems.push(`${key}: ${v} was never acknowledged as its last write`);
  }
  expect(problems).toEqual([]);
}
