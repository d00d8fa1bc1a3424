// StrataLevel against memory-level (the oracle) on the read options level.test.ts's seek and
// clear properties leave out: keys: false and values: false, key and value encodings, limits
// of every kind abstract-level accepts (-1, 0, Infinity, negative, fractional, NaN, null),
// reads and clears through an explicit snapshot, getMany, and batches of puts and deletes,
// in any order. Both databases get the same commands; every answer (value or error code)
// must be the same. Byte values compare by their bytes (memory-level answers a Buffer
// where the 'view' encoding asks for a Uint8Array; both are Uint8Arrays).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import { StrataLevel } from 'strata-kv/level';

const levelKey = fc.oneof({ weight: 8, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom('b\u0000', 'é', '', '\uFEFF') });
const bound = fc.option(levelKey, { nil: undefined });
const readOptions = fc.record({
  gt: bound, gte: bound, lt: bound, lte: bound, reverse: fc.option(fc.boolean(), { nil: undefined }),
  limit: fc.option(fc.constantFrom(-1, 0, 1, 2, 5, Infinity, -5, 1.5, NaN, null as unknown as number), { nil: undefined }),
  keys: fc.option(fc.boolean(), { nil: undefined }), values: fc.option(fc.boolean(), { nil: undefined }),
  keyEncoding: fc.option(fc.constantFrom('utf8', 'buffer', 'hex', 'json', 'base64'), { nil: undefined }),
  valueEncoding: fc.option(fc.constantFrom('utf8', 'buffer', 'json', 'view'), { nil: undefined }),
}).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
const op = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: levelKey, value: fc.string({ maxLength: 3 }) }),
  fc.record({ type: fc.constant('del' as const), key: levelKey }),
);
type Command =
  | { c: 'batch'; ops: { type: 'put' | 'del'; key: string; value?: string }[] }
  | { c: 'clear'; o: object }
  | { c: 'read'; o: object; kind: 'iterator' | 'keys' | 'values' }
  | { c: 'getMany'; keys: string[] }
  | { c: 'snapshot' };
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ c: fc.constant('batch' as const), ops: fc.array(op, { maxLength: 6 }) }),
  fc.record({ c: fc.constant('clear' as const), o: readOptions }),
  fc.record({ c: fc.constant('read' as const), o: readOptions, kind: fc.constantFrom('iterator' as const, 'keys' as const, 'values' as const) }),
  fc.record({ c: fc.constant('getMany' as const), keys: fc.array(levelKey, { maxLength: 4 }) }),
  fc.record({ c: fc.constant('snapshot' as const) }),
);

const plain = (x: unknown): unknown => (x instanceof Uint8Array ? ['bytes', ...x] : Array.isArray(x) ? x.map(plain) : x);
async function answer(f: () => Promise<unknown>): Promise<unknown> {
  try { return { ok: plain(await f()) }; } catch (err) { return { error: (err as { code?: string })?.code ?? String(err) }; }
}

/** Runs `commands` on `db`; the answers, and the whole database at the end. */
async function run(db: any, commands: Command[]): Promise<unknown[]> {
  const out: unknown[] = [];
  let snapshot: any;
  const withSnapshot = (o: object) => (snapshot === undefined ? o : { ...o, snapshot });
  await db.open();
  for (const c of commands) {
    if (c.c === 'batch') out.push(await answer(() => db.batch(c.ops)));
    else if (c.c === 'clear') out.push(await answer(() => db.clear(withSnapshot(c.o))));
    else if (c.c === 'getMany') out.push(await answer(() => db.getMany(c.keys, withSnapshot({}))));
    else if (c.c === 'read') out.push(await answer(() => db[c.kind](withSnapshot(c.o)).all()));
    else { await snapshot?.close(); snapshot = db.snapshot(); }
  }
  out.push(await answer(() => db.iterator().all()));
  await snapshot?.close();
  await db.close();
  return out;
}

describe('StrataLevel reads, clears and batches like memory-level', () => {
  it('any read options, snapshots and encodings (fast-check, memory-level as the oracle)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(command, { maxLength: 12 }), async (commands) => {
      expect(await run(new StrataLevel<string, string>(), commands)).toEqual(await run(new MemoryLevel<string, string>(), commands));
    }), { numRuns: 300 });
  });
});
