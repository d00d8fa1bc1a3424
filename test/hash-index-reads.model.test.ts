// Point reads of data blocks that carry a hash index (run format versions 5 and 6,
// assembly/block.ts bucketAt and BlockCursor.seek, assembly/batch-lookup.ts) against a Map
// model (fc.commands). get-many.model.test.ts reads blocks of a few entries; here blocks are
// large (4 KiB: about a hundred entries, many buckets shared) and larger than any hash index
// covers (16 KiB: over 254 entries, none), a few hot keys take dozens of versions (a key's
// versions then span blocks), and reads are get, getVersioned and getAll, now and at open
// snapshots, with merge operands, tombstones and range tombstones (which take getAll off
// the interleaved path), and, with a directory, after reopening from the run files.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Store, codecs, type Snapshot } from 'strata-kv';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TakeSnapshot, DropSnapshot } from './support/snapshot-commands.js';

const KEYS = 600;
const keyOf = (i: number) => `key${String(i).padStart(4, '0')}`;
const HOT = [7, 300, 301, 599];

interface Entry { value: number; version: number }
type Snap = { at: Map<string, Entry>; snap: Snapshot<string, number> };
/** snaps: taken and dropped by commands; pinned: taken at the start, kept until a reopen. */
type Model = { now: Map<string, Entry>; seq: number; snaps: Snap[]; pinned: Snap[] };
type Real = { s: Store<string, number>; reopen: (() => Promise<Store<string, number>>) | undefined };

const put = (m: Model, k: string, v: number) => { m.now.set(k, { value: v, version: ++m.seq }); };

class PutMany implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pairs: [number, number][]) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    r.s.putAll(this.pairs.map(([k, v]) => [keyOf(k), v]));
    for (const [k, v] of this.pairs) put(m, keyOf(k), v);
  }
  toString() { return `putAll(${JSON.stringify(this.pairs)})`; }
}
class HotWrites implements fc.AsyncCommand<Model, Real> {
  constructor(readonly h: number, readonly n: number, readonly merge: boolean) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    const k = keyOf(HOT[this.h]);
    for (let i = 0; i < this.n; i++) {
      if (this.merge) {
        r.s.merge(k, 1, 'add');
        m.now.set(k, { value: (m.now.get(k)?.value ?? 0) + 1, version: ++m.seq });
      } else {
        r.s.put(k, i);
        put(m, k, i);
      }
    }
  }
  toString() { return `hot(${this.h}, ${this.n}, ${this.merge ? 'merge' : 'put'})`; }
}
class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number) {}
  check() { return true; }
  async run(m: Model, r: Real) { r.s.delete(keyOf(this.k)); m.now.delete(keyOf(this.k)); m.seq++; }
  toString() { return `delete(${this.k})`; }
}
class DeleteRange implements fc.AsyncCommand<Model, Real> {
  constructor(readonly a: number, readonly n: number) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    const from = keyOf(this.a), to = keyOf(this.a + this.n);
    r.s.deleteRange(from, to);
    for (const k of [...m.now.keys()]) if (k >= from && k < to) m.now.delete(k);
    m.seq++;
  }
  toString() { return `deleteRange(${this.a}, +${this.n})`; }
}
class Maintain implements fc.AsyncCommand<Model, Real> {
  constructor(readonly what: 'flush' | 'compact' | 'reopen') {}
  check() { return true; }
  async run(m: Model, r: Real) {
    if (this.what === 'flush') await r.s.flush();
    else if (this.what === 'compact') await r.s.compact();
    else if (r.reopen !== undefined) {
      for (const x of [...m.snaps.splice(0), ...m.pinned.splice(0)]) x.snap.close();
      await r.s.close();
      r.s = await r.reopen();
    }
  }
  toString() { return `${this.what}()`; }
}
/** Reads every key of `ks` with get, getVersioned and getAll, now (at -1) or at a snapshot. */
class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ks: number[], readonly at: number) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    const asked = this.ks.map(keyOf);
    const open = [...m.snaps, ...m.pinned];
    if (this.at < 0 || open.length === 0) {
      expect(r.s.getAll(asked), 'getAll now').toEqual(asked.map((k) => m.now.get(k)?.value));
      for (const k of asked) {
        expect(r.s.get(k), `get(${k})`).toBe(m.now.get(k)?.value);
        const e = m.now.get(k);
        expect(r.s.getVersioned(k), `getVersioned(${k})`).toEqual(e === undefined ? undefined : { value: e.value, version: e.version });
      }
      return;
    }
    const x = open[(this.at * 37) % open.length];
    expect(x.snap.getAll(asked), 'getAll at a snapshot').toEqual(asked.map((k) => x.at.get(k)?.value));
    for (const k of asked) expect(x.snap.get(k), `snapshot get(${k})`).toBe(x.at.get(k)?.value);
  }
  toString() { return `read(${JSON.stringify(this.ks)}, ${this.at})`; }
}

const keyArb = fc.nat(KEYS - 1);
const readKeys = fc.array(fc.oneof(keyArb, fc.constantFrom(...HOT)), { maxLength: 40 });
const commands = [
  fc.array(fc.tuple(keyArb, fc.integer({ min: -1000, max: 1000 })), { minLength: 1, maxLength: 300 }).map((p) => new PutMany(p)),
  fc.tuple(fc.nat(HOT.length - 1), fc.integer({ min: 1, max: 60 }), fc.boolean()).map(([h, n, mg]) => new HotWrites(h, n, mg)),
  keyArb.map((k) => new Delete(k)),
  fc.tuple(keyArb, fc.integer({ min: 1, max: 20 })).map(([a, n]) => new DeleteRange(a, n)),
  fc.constant(new TakeSnapshot<Model, Real>()),
  fc.nat().map((i) => new DropSnapshot<Model, Real>(i)),
  fc.constantFrom('flush', 'compact', 'reopen').map((w) => new Maintain(w as 'flush' | 'compact' | 'reopen')),
  fc.tuple(readKeys, fc.integer({ min: -1, max: 200 })).map(([ks, at]) => new Read(ks, at)),
];

describe('point reads of blocks with a hash index, against a Map model', () => {
  const modes = [
    { name: '4 KiB blocks, in memory', blockBytes: 4096, dir: false, numRuns: 15 },
    { name: '4 KiB blocks, a directory (file-backed runs, reopened)', blockBytes: 4096, dir: true, numRuns: 10 },
    { name: '16 KiB blocks (over 254 entries: no hash index), a directory', blockBytes: 16384, dir: true, numRuns: 5 },
  ];
  for (const mode of modes) {
    it(`get, getVersioned and getAll answer as the model does, now and at snapshots (${mode.name})`, async () => {
      await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'large' }), async (cmds) => {
        const dir = mode.dir ? mkdtempSync(join(tmpdir(), 'strata-hashidx-')) : undefined;
        const options = {
          keyCodec: codecs.utf8, valueCodec: codecs.json, memtableBytes: 32 << 10, blockBytes: mode.blockBytes,
          runTargetBytes: 64 << 10, levelBaseBytes: 128 << 10, level0CompactionTrigger: 2, background: false,
          ...(dir === undefined ? {} : { path: dir, blockCacheBytes: 16 << 10 }),
        };
        const real: Real = { s: await Store.open<string, number>(options), reopen: dir === undefined ? undefined : () => Store.open<string, number>(options) };
        const model: Model = { now: new Map(), seq: 0, snaps: [], pinned: [] };
        // Full blocks from the start: every key, then dozens of versions of the hot keys.
        real.s.putAll(Array.from({ length: KEYS }, (_, i) => [keyOf(i), i] as [string, number]));
        for (let i = 0; i < KEYS; i++) put(model, keyOf(i), i);
        // A snapshot after each hot write keeps every version in the runs flushed under it:
        // a hot key's 150 versions fill more than a block.
        for (let i = 0; i < 150; i++) {
          await new HotWrites(0, 1, false).run(model, real);
          await new HotWrites(2, 1, true).run(model, real);
          model.pinned.push({ at: new Map(model.now), snap: real.s.snapshot() });
        }
        await real.s.flush();
        try {
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          const all = Array.from({ length: KEYS }, (_, i) => keyOf(i));
          expect(real.s.getAll(all)).toEqual(all.map((k) => model.now.get(k)?.value));
          for (const x of [...model.snaps, ...model.pinned]) expect(x.snap.getAll(all)).toEqual(all.map((k) => x.at.get(k)?.value));
        } finally {
          for (const x of [...model.snaps, ...model.pinned]) x.snap.close();
          await real.s.close();
          if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        }
      }), { numRuns: mode.numRuns });
    }, 120_000);
  }
});
