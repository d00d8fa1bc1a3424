// Bad input to WindowStore and SessionStore, as an outside tester's fuzzer gives it: any
// value (of any type, NaN, ±Infinity, fractions, negatives, 2^53, null-prototype objects) as
// any argument of any method, for the built-in utf8 codec and for a user codec that throws
// what plain JavaScript throws (a TypeError) on a value it cannot encode. Every call returns
// or throws a StrataError with a code, and a refused call changes nothing: a twin store that
// is given only the calls that succeeded ends with the same windows and stream time.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { WindowStore, SessionStore, StrataError, codecs, type Codec } from 'strata-kv';

/** A user's codec: `s.toUpperCase()` throws a TypeError for anything that is not a string. */
const upper: Codec<string> = {
  encode: (s) => new TextEncoder().encode((s as string).toUpperCase()),
  decode: (b) => new TextDecoder().decode(b),
};

/** What a call gave: 'ok' or the StrataError's code; anything else fails the test. */
function outcome(fn: () => unknown): string {
  try {
    const r = fn() as { next?: unknown } | undefined;
    if (r !== null && typeof r === 'object' && typeof r.next === 'function') [...(r as Iterable<unknown>)];
    return 'ok';
  } catch (err) {
    if (err instanceof StrataError && typeof err.code === 'string') return err.code;
    throw new Error(`not a StrataError: ${String((err as Error)?.stack ?? err)}`);
  }
}

const junk = fc.oneof(
  fc.constantFrom(undefined, null, NaN, Infinity, -Infinity, -1, 1.5, -0.5, 2 ** 53, -(2 ** 53), '5', 5n, true, [], {}),
  fc.constant(Object.create(null) as object),
  fc.anything(),
);
const keyArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('', 'a', 'a\0', 'ab', 'b') }, { weight: 1, arbitrary: junk });
const valueArb = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 4 }) }, { weight: 1, arbitrary: junk });
const timeArb = fc.oneof({ weight: 6, arbitrary: fc.nat(400) }, { weight: 1, arbitrary: junk });
const boundArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -50, max: 450 }) }, { weight: 1, arbitrary: junk });

type Call<S> = (s: S) => unknown;

const windowCall: fc.Arbitrary<Call<WindowStore<string, string>>> = fc.oneof(
  fc.tuple(keyArb, timeArb, valueArb).map(([k, t, v]) => (s: WindowStore<string, string>) => s.put(k as string, t as number, v as string)),
  fc.tuple(keyArb, timeArb).map(([k, t]) => (s: WindowStore<string, string>) => s.fetch(k as string, t as number)),
  fc.tuple(keyArb, boundArb, boundArb).map(([k, a, b]) => (s: WindowStore<string, string>) => s.fetch(k as string, a as number, b as number)),
  fc.tuple(keyArb, boundArb, boundArb).map(([k, a, b]) => (s: WindowStore<string, string>) => s.backwardFetch(k as string, a as number, b as number)),
  fc.tuple(boundArb, boundArb).map(([a, b]) => (s: WindowStore<string, string>) => s.fetchAll(a as number, b as number)),
  fc.tuple(boundArb, boundArb).map(([a, b]) => (s: WindowStore<string, string>) => s.backwardFetchAll(a as number, b as number)),
  timeArb.map((t) => (s: WindowStore<string, string>) => s.advanceStreamTime(t as number)),
);

const sessionCall: fc.Arbitrary<Call<SessionStore<string, string>>> = fc.oneof(
  fc.tuple(keyArb, timeArb, timeArb, valueArb).map(([k, a, b, v]) => (s: SessionStore<string, string>) => s.put(k as string, a as number, b as number, v as string)),
  fc.tuple(keyArb, timeArb, timeArb).map(([k, a, b]) => (s: SessionStore<string, string>) => s.remove(k as string, a as number, b as number)),
  fc.tuple(keyArb, timeArb, timeArb).map(([k, a, b]) => (s: SessionStore<string, string>) => s.fetchSession(k as string, a as number, b as number)),
  fc.tuple(keyArb, boundArb, boundArb).map(([k, a, b]) => (s: SessionStore<string, string>) => s.findSessions(k as string, a as number, b as number)),
  fc.tuple(keyArb, boundArb, boundArb).map(([k, a, b]) => (s: SessionStore<string, string>) => s.backwardFindSessions(k as string, a as number, b as number)),
  keyArb.map((k) => (s: SessionStore<string, string>) => s.fetch(k as string)),
  timeArb.map((t) => (s: SessionStore<string, string>) => s.advanceStreamTime(t as number)),
);

const codecArb = fc.constantFrom<Codec<string>>(codecs.utf8, upper);
const windowOptions = { windowMs: 10, retentionMs: 100, segmentMs: 30 };

describe('WindowStore and SessionStore: any argument is taken or refused with a StrataError, and a refusal changes nothing', () => {
  it('a key codec that throws a TypeError is INVALID_ARGUMENT, in every method that encodes a key or value', async () => {
    const w = await WindowStore.open<string, string>({ ...windowOptions, keyCodec: upper, valueCodec: upper });
    const s = await SessionStore.open<string, string>({ retentionMs: 100, segmentMs: 30, keyCodec: upper, valueCodec: upper });
    for (const f of [() => w.put(5 as never, 10, 'v'), () => w.put('k', 10, 5 as never), () => w.fetch(null as never, 10),
      () => w.fetch(null as never, 0, 10), () => w.backwardFetch(null as never, 0, 10)]) expect(outcome(f)).toBe('INVALID_ARGUMENT');
    for (const f of [() => s.put(5 as never, 0, 10, 'v'), () => s.put('k', 0, 10, 5 as never), () => s.fetchSession(null as never, 0, 10),
      () => s.findSessions(null as never, 0, 10), () => s.fetch(undefined as never)]) expect(outcome(f)).toBe('INVALID_ARGUMENT');
    expect(w.streamTime).toBe(-1);
    expect(s.streamTime).toBe(-1);
    await w.close();
    await s.close();
  });

  it('WindowStore', async () => {
    await fc.assert(fc.asyncProperty(codecArb, fc.boolean(), fc.array(windowCall, { maxLength: 30 }), async (codec, retainDuplicates, calls) => {
      const o = { ...windowOptions, retainDuplicates, keyCodec: codec, valueCodec: codec };
      const w = await WindowStore.open<string, string>(o), twin = await WindowStore.open<string, string>(o);
      try {
        for (const c of calls) if (outcome(() => c(w)) === 'ok') c(twin);
        expect([...w.all()]).toEqual([...twin.all()]);
        expect(w.streamTime).toBe(twin.streamTime);
      } finally {
        await w.close();
        await twin.close();
      }
    }), { numRuns: 150 });
  });

  it('SessionStore', async () => {
    await fc.assert(fc.asyncProperty(codecArb, fc.array(sessionCall, { maxLength: 30 }), async (codec, calls) => {
      const o = { retentionMs: 100, segmentMs: 30, keyCodec: codec, valueCodec: codec };
      const s = await SessionStore.open<string, string>(o), twin = await SessionStore.open<string, string>(o);
      try {
        for (const c of calls) if (outcome(() => c(s)) === 'ok') c(twin);
        expect([...s.all()]).toEqual([...twin.all()]);
        expect(s.streamTime).toBe(twin.streamTime);
      } finally {
        await s.close();
        await twin.close();
      }
    }), { numRuns: 150 });
  });
});
