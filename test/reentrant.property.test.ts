// Re-entrant callers, fuzzed (fast-check): user codecs (a key codec's encode and decode, a
// value codec's), a merge operator and an onChange listener each call the store at chosen
// moments: reads, iterators, snapshots, stats, a write of their own (to keys of their own),
// or close(). The top-level calls are writes and reads of other keys on a store with a
// directory, small memtables and a small block cache (flushes, compactions and merge folds
// happen inside the calls). The contract (docs/API.md): every call, outer or nested, returns
// or throws a StrataError, never anything else; a read that returns is right; a write that
// returns is applied and survives close and reopen; one that throws changed nothing. The
// store keeps its own write-ahead log, or (half the runs) a FileChangelog is its log.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, FileChangelog, codecs, type Codec } from 'strata-kv';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const SITES = ['keyEncode', 'keyDecode', 'valueEncode', 'valueDecode', 'operator', 'listener'] as const;
const ACTIONS = ['get', 'getAll', 'has', 'iterate', 'snapshot', 'stats', 'put', 'close'] as const;
type Site = typeof SITES[number];
type Action = typeof ACTIONS[number];
interface Hook { site: Site; at: number; action: Action }

type Op =
  | { t: 'put'; k: number; v: number } | { t: 'putAll'; kvs: [number, number][] } | { t: 'delete'; k: number }
  | { t: 'deleteRange'; a: number; n: number } | { t: 'merge'; k: number; v: number } | { t: 'getAndDelete'; k: number }
  | { t: 'putIfAbsent'; k: number; v: number } | { t: 'get'; k: number } | { t: 'getAll'; ks: number[] } | { t: 'scan' } | { t: 'flush' };

const tk = (i: number) => `t:${String(i).padStart(2, '0')}`;
const k = fc.nat(29);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), k, v: fc.integer({ min: -99, max: 99 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('putAll' as const), kvs: fc.array(fc.tuple(k, fc.integer({ min: -99, max: 99 })), { minLength: 1, maxLength: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('delete' as const), k }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteRange' as const), a: k, n: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('merge' as const), k, v: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('getAndDelete' as const), k }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('putIfAbsent' as const), k, v: fc.integer({ min: -99, max: 99 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('get' as const), k }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('getAll' as const), ks: fc.array(k, { maxLength: 20 }) }) },
  { weight: 2, arbitrary: fc.constant<Op>({ t: 'scan' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ t: 'flush' }) },
);
const hookArb: fc.Arbitrary<Hook> = fc.record({ site: fc.constantFrom(...SITES), at: fc.integer({ min: 1, max: 12 }), action: fc.constantFrom(...ACTIONS) });

const sorted = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

async function run(ops: Op[], hooks: Hook[], listen: boolean, onChangelog: boolean): Promise<void> {
  const path = mkdtempSync(join(tmpdir(), 'strata-reentrant-'));
  const ldir = mkdtempSync(join(tmpdir(), 'strata-reentrant-log-'));
  dirs.push(path, ldir);
  // With a FileChangelog as the log: checkpoints, and close() checkpoints before it closes.
  const changelog = () => (onChangelog ? { changelog: new FileChangelog(ldir) } : {});
  const model = new Map<string, number>();
  const violations: string[] = [];
  let store!: Store<string, number>;
  let closing: Promise<void> | undefined;
  let nested = 0; // nested writes made, for their own keys
  const counts = new Map<Site, number>();
  const pending = [...hooks];
  const nestedCall = (what: string, f: () => unknown) => {
    try { f(); } catch (err) { if (!(err instanceof StrataError)) violations.push(`${what}: ${String(err)}`); }
  };
  const fire = (site: Site) => {
    const n = (counts.get(site) ?? 0) + 1;
    counts.set(site, n);
    const i = pending.findIndex((h) => h.site === site && h.at === n);
    if (i < 0) return;
    const { action } = pending.splice(i, 1)[0];
    const s = store;
    switch (action) {
      case 'get': nestedCall('get', () => s.get(tk(3))); break;
      case 'getAll': nestedCall('getAll', () => s.getAll([tk(1), tk(7), 'n:0'])); break;
      case 'has': nestedCall('has', () => s.has(tk(5))); break;
      case 'iterate': nestedCall('iterate', () => { for (const _ of s.range(tk(0), tk(20), { limit: 20 })) { /* reads */ } }); break;
      case 'snapshot': nestedCall('snapshot', () => { const x = s.snapshot(); try { x.get(tk(2)); } finally { x.close(); } }); break;
      case 'stats': nestedCall('stats', () => s.stats()); break;
      case 'put': nestedCall('put', () => { const v = nested++; s.put(`n:${v}`, v); model.set(`n:${v}`, v); }); break;
      case 'close': closing ??= s.close(); closing.catch(() => {}); break;
    }
  };
  const keyCodec: Codec<string> = {
    encode: (x) => { fire('keyEncode'); return codecs.utf8.encode(x); },
    decode: (b) => { fire('keyDecode'); return codecs.utf8.decode(b); },
  };
  const valueCodec: Codec<number> = {
    // Padded with JSON whitespace: values of ~130 bytes fill memtables and blocks.
    encode: (x) => { fire('valueEncode'); return codecs.utf8.encode(JSON.stringify(x) + ' '.repeat(128)); },
    decode: (b) => { fire('valueDecode'); return codecs.json.decode(b) as number; },
  };
  const sum = (a: number | undefined, b: number) => { fire('operator'); return (a ?? 0) + b; };
  store = await Store.open<string, number>({
    path, keyCodec, valueCodec, mergeOperators: { sum }, ...changelog(),
    memtableBytes: 2048, blockBytes: 256, level0CompactionTrigger: 2, levelBaseBytes: 4096, blockCacheBytes: 1024, background: false,
  });
  if (listen) store.onChange(() => fire('listener'));
  const outer = async (what: string, f: () => unknown, apply: (result: unknown) => void) => {
    let result: unknown;
    try { result = await f(); } catch (err) {
      if (!(err instanceof StrataError)) violations.push(`${what}: ${String(err)}`);
      return;
    }
    apply(result);
  };
  for (const op of ops) {
    switch (op.t) {
      case 'put': await outer('put', () => store.put(tk(op.k), op.v), () => model.set(tk(op.k), op.v)); break;
      case 'putAll': await outer('putAll', () => store.putAll(op.kvs.map(([a, v]) => [tk(a), v])), () => { for (const [a, v] of op.kvs) model.set(tk(a), v); }); break;
      case 'delete': await outer('delete', () => store.delete(tk(op.k)), () => model.delete(tk(op.k))); break;
      case 'deleteRange': await outer('deleteRange', () => store.deleteRange(tk(op.a), tk(op.a + op.n)), () => {
        for (let i = op.a; i < op.a + op.n; i++) model.delete(tk(i));
      }); break;
      case 'merge': await outer('merge', () => store.merge(tk(op.k), op.v, 'sum'), () => model.set(tk(op.k), (model.get(tk(op.k)) ?? 0) + op.v)); break;
      case 'getAndDelete': {
        const before = model.get(tk(op.k));
        await outer('getAndDelete', () => store.getAndDelete(tk(op.k)), (r) => {
          if (r !== before) violations.push(`getAndDelete(${tk(op.k)}) = ${r}, model ${before}`);
          model.delete(tk(op.k));
        });
        break;
      }
      case 'putIfAbsent': {
        const before = model.get(tk(op.k));
        await outer('putIfAbsent', () => store.putIfAbsent(tk(op.k), op.v), (r) => {
          if (r !== before) violations.push(`putIfAbsent(${tk(op.k)}) = ${r}, model ${before}`);
          if (before === undefined) model.set(tk(op.k), op.v);
        });
        break;
      }
      case 'get': {
        const want = model.get(tk(op.k));
        await outer('get', () => store.get(tk(op.k)), (r) => { if (r !== want) violations.push(`get(${tk(op.k)}) = ${r}, model ${want}`); });
        break;
      }
      case 'getAll': {
        const want = op.ks.map((a) => model.get(tk(a)));
        await outer('getAll', () => store.getAll(op.ks.map(tk)), (r) => {
          if (JSON.stringify(r) !== JSON.stringify(want)) violations.push(`getAll(${op.ks}) = ${JSON.stringify(r)}, model ${JSON.stringify(want)}`);
        });
        break;
      }
      case 'scan': {
        const want = JSON.stringify(sorted(new Map([...model].filter(([x]) => x.startsWith('t:')))));
        await outer('scan', () => [...store.range('t:', 't;')], (r) => { if (JSON.stringify(r) !== want) violations.push(`scan = ${JSON.stringify(r)}, model ${want}`); });
        break;
      }
      case 'flush': await outer('flush', () => store.flush(), () => {}); break;
    }
  }
  // A close() from inside a fold is refused (INVALID_ARGUMENT); the one here closes the store then.
  const refused = await closing?.then(() => undefined, (err: unknown) => err);
  if (refused !== undefined && (refused as StrataError).code !== 'INVALID_ARGUMENT') violations.push(`nested close: ${String(refused)}`);
  await store.close().catch((err) => violations.push(`close: ${String(err)}`));
  expect(violations).toEqual([]);
  const again = await Store.open<string, number>({ path, ...changelog(), keyCodec: codecs.utf8, valueCodec: codecs.json, mergeOperators: { sum: (a: number | undefined, b: number) => (a ?? 0) + b } });
  try {
    expect([...again.all()]).toEqual(sorted(model));
  } finally {
    await again.close();
  }
}

describe('re-entrant callers (fast-check)', () => {
  it('codecs, merge operators and listeners calling the store: StrataError or a right answer, and the reopen holds exactly the writes that returned', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 80 }), fc.array(hookArb, { maxLength: 30 }), fc.boolean(), fc.boolean(),
      (ops, hooks, listen, onChangelog) => run(ops, hooks, listen, onChangelog),
    ), { numRuns: 150 });
  }, 120_000);
});
