// What the PartitionedStore tests share (test/partitioned-store*.test.ts): tiny memtables that
// make flushes and compactions constant, typed-error capture, and a store closed whatever
// happens.
import { expect } from 'vitest';
import { PartitionedStore, StrataError } from 'strata-kv';

export const utf8 = (s: string) => new TextEncoder().encode(s);
export const TINY = { memtableBytes: 512, blockBytes: 128, level0CompactionTrigger: 2 };

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    return (err as StrataError).code;
  }
  return undefined;
}

export async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StrataError);
    return (err as StrataError).code;
  }
  return undefined;
}

/** Opens a store, runs `body`, and closes it whatever happens. */
export async function withStore<K, V>(options: Parameters<typeof PartitionedStore.open<K, V>>[0],
                               body: (s: PartitionedStore<K, V>) => Promise<void> | void): Promise<void> {
  const s = await PartitionedStore.open<K, V>(options);
  try { await body(s); } finally { await s.close(); }
}
