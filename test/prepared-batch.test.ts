// The batch prepared last (docs/ABI.md, "prepare_batch, apply_prepared"): a store with a log
// or sinks checks a batch once (prepare), logs it and hands it to its sinks, then applies it
// by its token without parsing it again. What makes that safe is checked here at both ends:
// in the engine, a preparation that anything could have disturbed (a region handed out again,
// a write, a flush, another preparation) is refused and applies nothing; in the store, a sink
// that calls the store between prepare and apply is refused, and the write it is taking is
// applied as it was logged.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs, type ChangeRecord, type ChangelogSink } from 'strata-kv';
import { instantiateEngine, Status, READ_NOW, type Engine } from '../bindings/engine/abi.js';

const dirs: string[] = [];
const freshDir = () => { const d = fs.mkdtempSync(join(tmpdir(), 'strata-prepared-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function engine(): Promise<Engine> {
  const e = await instantiateEngine();
  const st = e.init({
    memtableBytes: 64 << 10, blockBytes: 1024, bloomBitsPerKey: 10, level0CompactionTrigger: 4, levelBaseBytes: 256 << 10,
    levelSizeMultiplier: 10, runTargetBytes: 32 << 10, autoCompaction: true, maxMemoryBytes: 64 << 20, blockCacheBytes: 0,
  });
  expect(st).toBe(Status.OK);
  return e;
}

type Op = [key: string, value: string | null];

/** Writes a batch image (kind u8 | keyLen u32 | valLen u32 | key | value) into the argument
 *  region: its pointer and length. */
function image(e: Engine, ops: Op[]): { p: number; len: number; count: number } {
  const parts = ops.map(([k, v]) => [enc(k), v === null ? new Uint8Array(0) : enc(v)] as const);
  const len = parts.reduce((n, [k, v]) => n + 9 + k.length + v.length, 0);
  const p = e.reserve(len);
  const view = e.view, u8 = e.u8;
  let q = p;
  ops.forEach(([, v], i) => {
    const [k, val] = parts[i];
    view.setUint8(q, v === null ? 0 : 1);
    view.setUint32(q + 1, k.length, true);
    view.setUint32(q + 5, val.length, true);
    u8.set(k, q + 9);
    u8.set(val, q + 9 + k.length);
    q += 9 + k.length + val.length;
  });
  return { p, len, count: ops.length };
}

function prepare(e: Engine, ops: Op[]): number {
  const { p, len, count } = image(e, ops);
  const token = e.prepare(p, len, count);
  expect(token).toBeGreaterThan(0);
  return token;
}

function get(e: Engine, key: string): string | undefined {
  const k = enc(key);
  const p = e.reserve(k.length);
  e.u8.set(k, p);
  const st = e.get(p, k.length, READ_NOW);
  if (st === Status.NOT_FOUND) return undefined;
  expect(st).toBe(Status.OK);
  return dec(e.copyOut(e.resultValuePtr(), e.resultValueLen()));
}

function put(e: Engine, key: string, value: string): void {
  const k = enc(key), v = enc(value);
  const p = e.reserve(k.length + v.length);
  e.u8.set(k, p);
  e.u8.set(v, p + k.length);
  expect(e.put(p, k.length, p + k.length, v.length)).toBe(Status.OK);
}

/** What may come between prepare and apply, and whether it ends the preparation ('sealed':
 *  when it seals the memtable holding the reservation, which a flush does when that one holds
 *  writes, as in the examples below). */
const BETWEEN: Record<string, { ends: boolean | 'sealed'; run: (e: Engine) => void }> = {
  'nothing': { ends: false, run: () => {} },
  // An empty key at address 0: a read whose key needs no region reserved (reserving ends it).
  'a read': { ends: false, run: (e) => { e.get(0, 0, READ_NOW); } },
  // Set and cleared: values here carry no expiresAt, and compaction would read one.
  'the expiry clock': { ends: false, run: (e) => { e.setExpiryClock(Date.now()); e.setExpiryClock(0); } },
  'stats': { ends: false, run: (e) => { e.statsPtr(); } },
  'a snapshot taken and released': { ends: false, run: (e) => e.snapshotRelease(e.snapshotAcquire()) },
  'an argument region reserved': { ends: true, run: (e) => { e.reserve(16); } },
  'a put': { ends: true, run: (e) => put(e, 'other', 'o') },
  'another preparation, refused by the caller': { ends: true, run: (e) => { prepare(e, [['inner', 'i']]); } },
  'another batch applied': {
    ends: true,
    run: (e) => { const t = prepare(e, [['inner', 'i']]); expect(e.applyPrepared(t)).toBe(Status.OK); },
  },
  'a flush': { ends: 'sealed', run: (e) => { expect(e.flush()).toBe(Status.OK); } },
};

describe('apply_prepared: the engine applies only the batch it checked, as it checked it', () => {
  for (const [what, { ends, run }] of Object.entries(BETWEEN)) {
    it(`${what} between prepare and apply: ${ends ? 'refused, nothing applied' : 'applied'}`, async () => {
      const e = await engine();
      put(e, 'k0', 'before');
      const ops: Op[] = [['k1', 'one'], ['k0', null], ['k2', 'two']];
      const token = prepare(e, ops);
      run(e);
      const seq = e.lastSeq();
      const st = e.applyPrepared(token);
      if (ends !== false) { // the memtable holds k0: a flush seals it
        expect(st).toBe(Status.INVALID_ARGUMENT);
        expect(e.lastSeq()).toBe(seq);
        expect([get(e, 'k0'), get(e, 'k1'), get(e, 'k2')]).toEqual(['before', undefined, undefined]);
      } else {
        expect(st).toBe(Status.OK);
        expect(e.lastSeq()).toBe(seq + 3);
        expect([get(e, 'k0'), get(e, 'k1'), get(e, 'k2')]).toEqual([undefined, 'one', 'two']);
      }
      // Once only, applied or refused.
      expect(e.applyPrepared(token)).toBe(Status.INVALID_ARGUMENT);
      expect(e.lastSeq()).toBe(ends ? seq : seq + 3);
    });
  }

  it('the image rewritten in place after a region is reserved again: the new bytes are never applied', async () => {
    // What re-validation could not catch: an image of the same shape, other bytes. The host
    // may rewrite the region only after io_reserve, which ends the preparation.
    const e = await engine();
    const token = prepare(e, [['a', 'logged']]);
    image(e, [['a', 'swaps']]); // same pointer (the region is large enough), same length
    expect(e.applyPrepared(token)).toBe(Status.INVALID_ARGUMENT);
    expect(get(e, 'a')).toBeUndefined();
    expect(e.lastSeq()).toBe(0);
  });

  it('a flush with nothing in the memtable seals nothing: the preparation stands', async () => {
    const e = await engine();
    const token = prepare(e, [['a', '1']]);
    expect(e.flush()).toBe(Status.OK);
    expect(e.applyPrepared(token)).toBe(Status.OK);
    expect(get(e, 'a')).toBe('1');
  });

  it('a token that was never given, or 0: refused', async () => {
    const e = await engine();
    expect(e.applyPrepared(0)).toBe(Status.INVALID_ARGUMENT);
    const token = prepare(e, [['a', '1']]);
    expect(e.applyPrepared(token + 1)).toBe(Status.INVALID_ARGUMENT);
    expect(e.applyPrepared(token)).toBe(Status.INVALID_ARGUMENT); // a wrong apply ends it too
    expect(get(e, 'a')).toBeUndefined();
  });

  it('a refused preparation leaves nothing to apply; the next one works', async () => {
    const e = await engine();
    const token = prepare(e, [['a', '1']]);
    const bad = image(e, [['b', '2']]);
    e.view.setUint8(bad.p, 7); // not a kind
    expect(e.prepare(bad.p, bad.len, bad.count)).toBe(-Status.INVALID_ARGUMENT);
    expect(e.applyPrepared(token)).toBe(Status.INVALID_ARGUMENT);
    const next = prepare(e, [['c', '3']]);
    expect(e.applyPrepared(next)).toBe(Status.OK);
    expect([get(e, 'a'), get(e, 'b'), get(e, 'c')]).toEqual([undefined, undefined, '3']);
  });

  it('property: with writes filling and sealing memtables, an apply succeeds exactly when nothing ended its preparation, and the store equals its model', async () => {
    // Model: a Map of what was applied. Batches of random keys and sizes against a 64 KiB
    // memtable, so preparations open arena chunks and applies seal memtables and flush.
    const keyArb = fc.integer({ min: 0, max: 40 }).map((i) => `key${i}`);
    const opArb = fc.tuple(keyArb, fc.option(fc.string({ minLength: 0, maxLength: 3000 }), { freq: 4 })) as fc.Arbitrary<Op>;
    const stepArb = fc.tuple(fc.array(opArb, { minLength: 1, maxLength: 12 }), fc.constantFrom(...Object.keys(BETWEEN)));
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
      const e = await engine();
      const model = new Map<string, string>();
      const apply = (ops: Op[]) => { for (const [k, v] of ops) { if (v === null) model.delete(k); else model.set(k, v); } };
      for (const [ops, between] of steps) {
        const token = prepare(e, ops);
        const b = BETWEEN[between];
        b.run(e);
        // What the interleaved step wrote itself, in the model too.
        if (between === 'a put') model.set('other', 'o');
        if (between === 'another batch applied') model.set('inner', 'i');
        const st = e.applyPrepared(token);
        // A flush seals the memtable if it holds writes (the property does not track which).
        if (b.ends !== 'sealed') expect(st).toBe(b.ends ? Status.INVALID_ARGUMENT : Status.OK);
        else expect([Status.OK, Status.INVALID_ARGUMENT]).toContain(st);
        if (st === Status.OK) apply(ops);
      }
      for (let i = 0; i <= 40; i++) expect(get(e, `key${i}`)).toBe(model.get(`key${i}`));
    }), { numRuns: 60 });
  });
});

describe('a sink that calls the store between prepare and apply', () => {
  const kinds: Record<string, (s: Store<string, string>) => unknown> = {
    put: (s) => s.put('inner', 'x'),
    putAll: (s) => s.putAll([['inner', 'x'], ['inner2', 'y']]),
    write: (s) => s.write([{ type: 'put', key: 'inner', value: 'x' }, { type: 'del', key: 'a0' }]),
    deleteAll: (s) => s.deleteAll(['a0', 'a1']),
    get: (s) => s.get('a0'),
    close: (s) => (s.close() as Promise<void>).catch((err) => { throw err; }),
  };

  it('is refused (INVALID_ARGUMENT) each time; the write it swallowed that from is applied as logged, also after reopen', async () => {
    const path = freshDir();
    let s!: Store<string, string>;
    const refused: string[] = [];
    const taken: ChangeRecord[] = [];
    const sink: ChangelogSink = {
      append(records) {
        taken.push(...records);
        for (const [name, call] of Object.entries(kinds)) {
          try {
            const r = call(s);
            if (r instanceof Promise) r.catch((err) => refused.push(`${name}:${(err as StrataError).code}`));
            else refused.push(`${name}:returned`);
          } catch (err) {
            refused.push(`${name}:${err instanceof StrataError ? err.code : String(err)}`);
          }
        }
      },
    };
    s = await Store.open<string, string>({ path, changelog: sink, restoreFrom: false, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096 });
    const model = new Map<string, string>();
    // Every batch kind, enough of them to seal and flush memtables between.
    for (let i = 0; i < 40; i++) {
      const batch: [string, string][] = [[`a${i % 7}`, `v${i}`], [`b${i}`, 'w'.repeat(i * 13)]];
      if (i % 4 === 0) { s.putAll(batch); for (const [k, v] of batch) model.set(k, v); }
      else if (i % 4 === 1) { s.write([{ type: 'put', key: batch[0][0], value: batch[0][1] }, { type: 'del', key: `b${i - 1}` }]); model.set(batch[0][0], batch[0][1]); model.delete(`b${i - 1}`); }
      else if (i % 4 === 2) { s.deleteAll([`a${(i + 3) % 7}`]); model.delete(`a${(i + 3) % 7}`); }
      else { s.put(batch[1][0], batch[1][1]); model.set(batch[1][0], batch[1][1]); }
    }
    await new Promise((r) => setTimeout(r, 10)); // close()'s rejections
    // Every re-entrant call refused, every time.
    expect(new Set(refused)).toEqual(new Set(Object.keys(kinds).map((k) => `${k}:INVALID_ARGUMENT`)));
    expect(refused.length).toBe(40 * Object.keys(kinds).length);
    expect(Object.fromEntries(s.all())).toEqual(Object.fromEntries([...model].sort()));
    // The sink holds the store's writes, with the sequences the store gave them.
    const last = new Map<string, ChangeRecord>();
    for (const r of taken) last.set(dec(r.key), r);
    expect(taken.map((r) => r.seq)).toEqual(taken.map((_, i) => i + 1));
    for (const [k, v] of model) {
      expect(last.get(k)!.value && dec(last.get(k)!.value!)).toBe(v);
      expect(s.getVersioned(k)!.version).toBe(last.get(k)!.seq);
    }
    await s.close();
    const again = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    expect(Object.fromEntries(again.all())).toEqual(Object.fromEntries([...model].sort()));
    expect(again.stats().sequence).toBe(taken.length);
    await again.close();
  });

  it('a sink that lets the refusal through refuses the write: nothing applied, the store goes on', async () => {
    let s!: Store<string, string>;
    let reenter = true;
    const sink: ChangelogSink = { append() { if (reenter) s.putAll([['inner', 'x']]); } };
    s = await Store.open<string, string>({ changelog: sink, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    expect(() => s.putAll([['a', '1'], ['b', '2']])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect([...s.all()]).toEqual([]);
    reenter = false;
    s.write([{ type: 'put', key: 'c', value: '3' }]);
    expect([...s.all()]).toEqual([['c', '3']]);
    expect(s.getVersioned('c')!.version).toBe(1);
    await s.close();
  });
});
