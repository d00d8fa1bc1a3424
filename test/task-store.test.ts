// TaskStore (strata-kv/nats), a task's typed view of its partition's Store, given bad input
// through user codecs: a codec that throws what plain JavaScript throws (TypeError), or
// returns something other than a Uint8Array. Every call is INVALID_ARGUMENT and writes
// nothing, as the same codecs on a Store are. No NATS is needed: a TaskStore sits on any Store.
import { describe, it, expect } from 'vitest';
import { Store, StrataError, codecs, type Codec } from 'strata-kv';
import { TaskStore } from 'strata-kv/nats';

/** Upper-cases strings; anything else makes `toUpperCase` throw a TypeError. */
const upper: Codec<string> = { encode: (s) => codecs.utf8.encode((s as string).toUpperCase()), decode: (b) => codecs.utf8.decode(b) };
/** Returns its input as is: a string or a number where bytes belong. */
const raw: Codec<unknown> = { encode: (x) => x as Uint8Array, decode: (b) => b };

function codeOf(fn: () => unknown): string {
  try { const r = fn() as { next?: () => unknown }; if (typeof r?.next === 'function') [...(r as Iterable<unknown>)]; return 'ok'; } catch (err) {
    return err instanceof StrataError ? err.code : `not a StrataError: ${String(err)}`;
  }
}

describe('TaskStore: bad input through user codecs is INVALID_ARGUMENT and writes nothing', () => {
  it('a codec that throws, or returns no Uint8Array, for a key, a value or a merge operand', async () => {
    const store = await Store.open();
    const prefix = new Uint8Array([0x63, 0]); // 'c' 0x00, as storePrefix('c') makes it
    const writable = (s: TaskStore<any, any>) => s.writableWhile(() => {});
    const byUpper = writable(new TaskStore<string, string>(store, prefix, { keyCodec: upper, valueCodec: upper }));
    const byRaw = writable(new TaskStore<unknown, unknown>(store, prefix, { keyCodec: raw, valueCodec: raw }));
    const calls: (() => unknown)[] = [
      () => byUpper.put(5 as never, 'v'), () => byUpper.put('k', 5 as never), () => byUpper.get(null as never), () => byUpper.has(undefined as never),
      () => byUpper.delete(5 as never), () => byUpper.merge('k', 5 as never, 'append'), () => byUpper.range(5 as never, 'z'), () => byUpper.deleteRange('a', 5 as never),
      () => byRaw.put('ab', new Uint8Array(1)), () => byRaw.put(7, new Uint8Array(1)), () => byRaw.put(new Uint8Array([1]), 'text'),
      () => byRaw.get('ab'), () => byRaw.getVersioned(7), () => byRaw.delete('ab'),
    ];
    // Before the fix: TypeErrors from `upper`; `raw`'s string key 'ab' was taken, as the key
    // 'c' 0x00 0x00 0x00 ('a' and 'b' copied into a Uint8Array are NaN, stored as 0), and its
    // number key threw a RangeError.
    expect(calls.map(codeOf)).toEqual(calls.map(() => 'INVALID_ARGUMENT'));
    expect([...store.all()]).toEqual([]);
    byUpper.put('k', 'v'); // good input goes on
    expect(byUpper.get('k')).toBe('V');
    await store.close();
  });
});
