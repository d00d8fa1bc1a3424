// StrataLevel (strata-kv/level) as an abstract-level database: abstract-level's own
// compliance suite passes in full, on disk (every optional feature declared) and in memory;
// and examples of what users rely on: encodings, ranges (down to keys of the largest size,
// where a range bound has no byte successor), seek (against memory-level as the oracle),
// snapshots, clear, and a directory that keeps its data across reopen and is locked while open.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import { StrataLevel } from 'strata-kv/level';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-level-test-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Runs test/fixtures/level-compliance.mjs (against dist/, which `npm test` builds first)
 *  and returns tape's counts. The databases go to tmpfs when there is one: the suite checks
 *  semantics, and thousands of fsynced opens on a real disk only make it slow (the
 *  durability tests cover the disk). */
function compliance(args: string[]): { pass: number; fail: number; failures: string } {
  const env = existsSync('/dev/shm') ? { ...process.env, TMPDIR: '/dev/shm' } : process.env;
  const r = spawnSync(process.execPath, ['test/fixtures/level-compliance.mjs', ...args],
    { cwd: root, env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const count = (name: string) => Number(/^# (\w+)\s+(\d+)$/m.exec(r.stdout.split('\n').filter((l) => l.startsWith(`# ${name} `)).join('\n'))?.[2] ?? NaN);
  const lines = r.stdout.split('\n');
  const failures = lines.flatMap((l, i) => (l.startsWith('not ok') ? [lines.slice(Math.max(0, i - 3), i + 8).join('\n')] : []))
    .slice(0, 5).join('\n---\n') + r.stderr.slice(0, 4000);
  return { pass: count('pass'), fail: lines.some((l) => l.startsWith('# fail ')) ? count('fail') : 0, failures };
}

describe('abstract-level compliance suite', () => {
  it('passes every assertion with a directory per database (all optional features declared)', () => {
    expect(existsSync(join(root, 'dist/level.js')), 'dist/level.js: run npm run build').toBe(true);
    const { pass, fail, failures } = compliance([]);
    console.log(`abstract-level suite, on disk: ${pass} passed, ${fail} failed`);
    expect(fail, failures).toBe(0);
    expect(pass).toBeGreaterThanOrEqual(5168); // memory-level, without permanence: 5,120
  }, 300_000);

  it('passes every assertion in memory (no location: no permanence)', () => {
    const { pass, fail, failures } = compliance(['--memory']);
    console.log(`abstract-level suite, in memory: ${pass} passed, ${fail} failed`);
    expect(fail, failures).toBe(0);
    expect(pass).toBeGreaterThanOrEqual(5156);
  }, 300_000);
});

// Level range options for the fast-check comparisons with memory-level: keys over a tiny
// alphabet, so bounds and targets often hit keys, fall between them and lie outside the
// range; 'b\u0000' sits right after 'b', where gt's successor is.
const levelKey = fc.oneof({ weight: 8, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom('b\u0000', 'é', '') });
const levelBound = fc.option(levelKey, { nil: undefined });
const levelOptions = fc.record({
  gt: levelBound, gte: levelBound, lt: levelBound, lte: levelBound, reverse: fc.boolean(),
  limit: fc.option(fc.oneof(fc.constant(-1), fc.nat(6)), { nil: undefined }),
}).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));

const bytes = (...b: number[]) => new Uint8Array(b);
const ff = (n: number) => new Uint8Array(n).fill(0xff);
const hex = (k: Uint8Array) => (k.length > 8 ? `ff×${k.length}` : Buffer.from(k).toString('hex'));

describe('StrataLevel', () => {
  it('declares its features', () => {
    const db = new StrataLevel(join(freshDir(), 'db'));
    const s = db.supports;
    expect([s.implicitSnapshots, s.explicitSnapshots, s.has, s.permanence, s.seek, s.createIfMissing, s.errorIfExists,
      (s as unknown as { getSync: boolean }).getSync, s.encodings.buffer, s.encodings.view, s.encodings.utf8]).toEqual(Array(11).fill(true));
    expect(new StrataLevel().supports.permanence).toBe(false);
    return db.close();
  });

  it('puts, gets and deletes with Level encodings', async () => {
    const db = new StrataLevel<string, any>({ valueEncoding: 'json' });
    await db.put('a', { n: 1 });
    await db.batch([{ type: 'put', key: 'b', value: [2] }, { type: 'put', key: 'c', value: 'x' }, { type: 'del', key: 'a' }]);
    expect(await db.get('a')).toBeUndefined();
    expect(await db.getMany(['b', 'c', 'd'])).toEqual([[2], 'x', undefined]);
    expect(db.getSync('b')).toEqual([2]);
    expect(await db.hasMany(['a', 'b'])).toEqual([false, true]);
    const raw = await db.get('c', { valueEncoding: 'buffer' });
    expect(Buffer.isBuffer(raw) && raw.toString()).toBe('"x"');
    await db.put(bytes(0xc3, 0x28) as any, 'bad utf8 is a valid key', { keyEncoding: 'view' });
    expect(await db.keys({ keyEncoding: 'view', gte: bytes(0xc3) }).all()).toEqual([bytes(0xc3, 0x28)]);
    await db.close();
  });

  // Before: a TextDecoder without ignoreBOM dropped a leading U+FEFF, so such a utf8 key or
  // value read back without it.
  it('keeps a leading U+FEFF in utf8 keys and values', async () => {
    const db = new StrataLevel();
    const keys = ['\ufeff', '\ufeffk', 'k'];
    await db.batch(keys.map((k) => ({ type: 'put' as const, key: k, value: k })));
    expect(await db.get('\ufeffk')).toBe('\ufeffk');
    expect(await db.getMany(keys)).toEqual(keys);
    expect(await db.keys().all()).toEqual(['k', '\ufeff', '\ufeffk']); // UTF-8 byte order
    expect(await db.values({ reverse: true }).all()).toEqual(['\ufeffk', '\ufeff', 'k']);
    await db.close();
  });

  it('iterates ranges, reversed and limited, and seeks within them', async () => {
    const db = new StrataLevel();
    await db.batch(['a', 'b', 'ba', 'c', 'd'].map((k) => ({ type: 'put' as const, key: k, value: k.toUpperCase() })));
    expect(await db.keys({ gt: 'a', lte: 'c' }).all()).toEqual(['b', 'ba', 'c']);
    expect(await db.keys({ gte: 'b', lt: 'c', reverse: true }).all()).toEqual(['ba', 'b']);
    expect(await db.values({ gt: 'b', limit: 2 }).all()).toEqual(['BA', 'C']);
    const it = db.iterator({ gt: 'a', lt: 'd' });
    it.seek('bb');
    expect(await it.next()).toEqual(['c', 'C']);
    it.seek('0'); // before the range: the iterator ends (abstract-level's README), it does not restart
    expect(await it.next()).toBeUndefined();
    it.seek('b'); // a target within the range moves it again
    expect(await it.next()).toEqual(['b', 'B']);
    await it.close();
    await db.close();
  });

  it('seek outside the range ends the iterator, as memory-level does (gt 5, seek 4)', async () => {
    // many-level's 'iterator().seek() respects range' (abstract-level 1's seek test) found this.
    for (const make of [() => new StrataLevel(), () => new MemoryLevel()]) {
      const db = make();
      await db.batch(['4', '5', '6'].map((k) => ({ type: 'put' as const, key: k, value: k })));
      const it = db.iterator({ gt: '5' });
      it.seek('4');
      expect(await it.next(), db.constructor.name).toBeUndefined();
      const keys = db.keys({ lt: '5', reverse: true });
      keys.seek('6');
      expect(await keys.next(), db.constructor.name).toBeUndefined();
      const values = db.values({ gte: '5' });
      values.seek('4');
      expect(await values.all(), db.constructor.name).toEqual([]);
      await it.close();
      await keys.close();
      await db.close();
    }
  });

  it('seeks like memory-level: any range options, directions, limits and seek sequences (fast-check, memory-level as the oracle)', async () => {
    const step = fc.oneof(
      fc.record({ t: fc.constant('next' as const) }),
      fc.record({ t: fc.constant('nextv' as const), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ t: fc.constant('seek' as const), target: levelKey }),
    );
    const kind = fc.constantFrom('iterator' as const, 'keys' as const, 'values' as const);
    type Db = StrataLevel<string, string> | MemoryLevel<string, string>;
    const trace = async (db: Db, k: 'iterator' | 'keys' | 'values', o: object, steps: { t: string; n?: number; target?: string }[]) => {
      const it = (db as unknown as Record<typeof k, (o: object) => unknown>)[k](o) as { next(): Promise<unknown>; nextv(n: number): Promise<unknown[]>; seek(t: string): void; all(): Promise<unknown[]>; close(): Promise<void> };
      const out: unknown[] = [];
      for (const s of steps) {
        if (s.t === 'next') out.push(await it.next());
        else if (s.t === 'nextv') out.push(await it.nextv(s.n!));
        else it.seek(s.target!);
      }
      out.push(await it.all()); // the rest; all() closes the iterator
      return out;
    };
    await fc.assert(fc.asyncProperty(fc.uniqueArray(levelKey, { maxLength: 12 }), kind, levelOptions, fc.array(step, { maxLength: 8 }),
      async (keys, k, o, steps) => {
        const strata = new StrataLevel<string, string>();
        const memory = new MemoryLevel<string, string>();
        try {
          for (const db of [strata, memory] as Db[]) await db.batch(keys.map((x) => ({ type: 'put' as const, key: x, value: `v${x}` })));
          expect(await trace(strata, k, o, steps)).toEqual(await trace(memory, k, o, steps));
        } finally {
          await strata.close();
          await memory.close();
        }
      }), { numRuns: 400 });
  });

  it('clears like memory-level: any range options, with and without a limit (range tombstones without one)', async () => {
    type Db = StrataLevel<string, string> | MemoryLevel<string, string>;
    await fc.assert(fc.asyncProperty(fc.uniqueArray(levelKey, { maxLength: 12 }), fc.array(levelOptions, { minLength: 1, maxLength: 3 }), fc.uniqueArray(levelKey, { maxLength: 4 }),
      async (keys, clears, later) => {
        const strata = new StrataLevel<string, string>();
        const memory = new MemoryLevel<string, string>();
        try {
          for (const db of [strata, memory] as Db[]) {
            await db.batch(keys.map((x) => ({ type: 'put' as const, key: x, value: `v${x}` })));
            for (const o of clears) await db.clear(o);
            // Keys written after a clear are not hidden by its range tombstones.
            await db.batch(later.map((x) => ({ type: 'put' as const, key: x, value: `w${x}` })));
          }
          expect(await strata.iterator().all()).toEqual(await memory.iterator().all());
        } finally {
          await strata.close();
          await memory.close();
        }
      }), { numRuns: 300 });
  });

  it('clear() to the open end removes a key of the largest size, and leaves the keys below the range', async () => {
    const db = new StrataLevel<Uint8Array, string>({ keyEncoding: 'view' });
    const max = ff(65535);
    for (const k of [bytes(1), bytes(2), max]) await db.put(k, hex(k));
    await db.clear({ gte: bytes(2) });
    expect((await db.keys().all()).map(hex)).toEqual([hex(bytes(1))]);
    await db.put(max, 'again');
    await db.clear({ gt: bytes(1), lte: max });
    expect((await db.keys().all()).map(hex)).toEqual([hex(bytes(1))]);
    await db.close();
  });

  it('includes keys of the largest size (65,535 bytes) at the open end of a range', async () => {
    const db = new StrataLevel<Uint8Array, string>({ keyEncoding: 'view' });
    const max = ff(65535), below = ff(65534), almost = ff(65535);
    almost[65534] = 0xfe;
    for (const k of [bytes(1), below, almost, max]) await db.put(k, hex(k));
    const keys = async (o: object) => (await db.keys(o).all()).map(hex);
    expect(await keys({ gt: bytes(1) })).toEqual(['ff×65534', 'ff×65535', 'ff×65535']);
    expect(await db.values({ gt: bytes(1) }).all()).toEqual(['ff×65534', 'ff×65535', 'ff×65535']);
    expect(await keys({ gt: bytes(1), reverse: true })).toHaveLength(3);
    expect((await db.iterator({ gte: bytes(2), reverse: true, limit: 1 }).all())[0][0]).toEqual(max);
    expect(await keys({ gt: almost })).toEqual(['ff×65535']); // no byte successor: the next key
    expect(await keys({ gt: max })).toEqual([]);
    expect(await keys({ lte: max, gt: below })).toHaveLength(2);
    expect(await keys({ lt: max, gt: below })).toHaveLength(1);
    expect(await keys({ lt: ff(70000) })).toHaveLength(4); // a bound longer than any key
    expect(await keys({ gte: ff(70000) })).toEqual([]);
    const it = db.keys({ gt: bytes(1), reverse: true });
    it.seek(almost);
    expect((await it.all()).map(hex)).toEqual(['ff×65535', 'ff×65534']);
    await db.clear({ gt: below });
    expect(await keys({})).toEqual(['01', 'ff×65534']);
    await db.close();
  });

  it('reads explicit and implicit snapshots', async () => {
    const db = new StrataLevel();
    await db.put('k', 'old');
    const snapshot = db.snapshot();
    const it = db.iterator();
    await db.put('k', 'new');
    await db.put('k2', 'added');
    expect(await db.get('k', { snapshot })).toBe('old');
    expect(db.getSync('k2', { snapshot })).toBeUndefined();
    expect(await db.keys({ snapshot }).all()).toEqual(['k']);
    expect(await it.all()).toEqual([['k', 'old']]);
    expect(await db.get('k')).toBe('new');
    await snapshot.close();
    await db.close();
  });

  it('clears a range in chunks, reversed with a limit, from a snapshot of its start', async () => {
    const db = new StrataLevel();
    const key = (i: number) => `k${String(i).padStart(5, '0')}`;
    await db.batch(Array.from({ length: 2500 }, (_, i) => ({ type: 'put' as const, key: key(i), value: 'v' })));
    const snapshot = db.snapshot();
    const clearing = db.clear({ gte: key(100), lt: key(2400), reverse: true, limit: 2000 }); // k00400…k02399
    await db.put(key(1000) + '!', 'written after clear began');
    await clearing;
    const left = await db.keys().all();
    expect(left).toHaveLength(501);
    expect(left.slice(398, 402)).toEqual([key(398), key(399), key(1000) + '!', key(2400)]);
    expect(await db.keys({ snapshot }).all()).toHaveLength(2500);
    await snapshot.close();
    await db.close();
  });

  it('close() on disk lets a chunked clear() in flight finish, in memory as on disk (as memory-level does)', async () => {
    const key = (i: number) => `k${String(i).padStart(5, '0')}`;
    for (const location of [join(freshDir(), 'db'), undefined]) {
      const db = new StrataLevel(location);
      await db.batch(Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: 'v' })));
      const clearing = db.clear({ limit: 4500 }); // 5 chunks, the event loop turning between them
      const closing = db.close();
      // Before the fix, on disk: the Store closed under it, and it failed (LEVEL_DATABASE_NOT_OPEN) after 1,000 keys.
      await expect(clearing).resolves.toBeUndefined();
      await closing;
      await db.open();
      expect(await db.keys().all()).toEqual(Array.from({ length: 500 }, (_, i) => key(4500 + i)));
      await db.close();
    }
  });

  it('keeps its data across close and reopen, and locks its directory while open', async () => {
    const location = join(freshDir(), 'db');
    const db = new StrataLevel(location);
    await db.batch([{ type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: '2' }]);
    await db.del('a');

    const second = new StrataLevel(location);
    const err = await second.open().then(() => undefined, (e) => e);
    expect([err?.code, err?.cause?.code]).toEqual(['LEVEL_DATABASE_NOT_OPEN', 'LEVEL_LOCKED']);
    await db.close();

    const again = new StrataLevel(location, { createIfMissing: false });
    expect(await again.iterator().all()).toEqual([['b', '2']]);
    await again.close();
    const refused = await new StrataLevel(location).open({ errorIfExists: true }).then(() => undefined, (e) => e);
    expect(refused?.cause?.message).toMatch(/exists/);
    const missing = await new StrataLevel(join(freshDir(), 'none')).open({ createIfMissing: false }).then(() => undefined, (e) => e);
    expect(missing?.cause?.message).toMatch(/does not exist/);
  });
});
