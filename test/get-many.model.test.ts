// getAll against a sorted-Map model (fc.commands). In memory, getAll takes the interleaved
// lookups of assembly/batch-lookup.ts (these stores never delete a range, so every batch
// goes through them). With a directory, over file-backed runs whose blocks a 4 KiB block
// cache holds only some of, it takes lookup() key by key, and its read bound may end a call
// early. Tiny memtables, blocks and runs spread the keys over both memtables, level 0 and
// deeper levels, many blocks a run; half the keys share their first 8 bytes (the block
// index's prefix ties); overwrites, deletes and merge operands give keys several versions,
// and open snapshots keep old ones for batches read at them.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Store, codecs, type Snapshot } from 'strata-kv';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TakeSnapshot, DropSnapshot } from './support/snapshot-commands.js';

const TINY = { memtableBytes: 1024, blockBytes: 256, runTargetBytes: 2048, levelBaseBytes: 4096, level0CompactionTrigger: 2, background: false };
const KEYS = 160;
/** Keys 0..79 share 'sharedpf' (8 bytes); the rest are short, the first of them empty. */
const keyOf = (i: number) => (i < 80 ? `sharedpf${i}` : i === 80 ? '' : `k${i}`);

type Model = { now: Map<string, number>; snaps: { at: Map<string, number>; snap: Snapshot<string, number> }[] };
type Real = { s: Store<string, number> };

class PutMany implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pairs: [number, number][]) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    r.s.putAll(this.pairs.map(([k, v]) => [keyOf(k), v]));
    for (const [k, v] of this.pairs) m.now.set(keyOf(k), v);
  }
  toString() { return `putAll(${JSON.stringify(this.pairs)})`; }
}
class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number) {}
  check() { return true; }
  async run(m: Model, r: Real) { r.s.delete(keyOf(this.k)); m.now.delete(keyOf(this.k)); }
  toString() { return `delete(${this.k})`; }
}
class Merge implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number, readonly n: number) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    r.s.merge(keyOf(this.k), this.n, 'add');
    m.now.set(keyOf(this.k), (m.now.get(keyOf(this.k)) ?? 0) + this.n);
  }
  toString() { return `merge(${this.k}, ${this.n})`; }
}
class Compact implements fc.AsyncCommand<Model, Real> {
  check() { return true; }
  async run(_m: Model, r: Real) { await r.s.compact(); }
  toString() { return 'compact()'; }
}
class GetAll implements fc.AsyncCommand<Model, Real> {
  /** at: -1 reads now, else snapshot at % open snapshots. */
  constructor(readonly ks: number[], readonly at: number) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    const asked = this.ks.map(keyOf);
    const from = this.at < 0 || m.snaps.length === 0 ? { map: m.now, reader: r.s } : (() => { const x = m.snaps[this.at % m.snaps.length]; return { map: x.at, reader: x.snap }; })();
    expect(from.reader.getAll(asked)).toEqual(asked.map((k) => from.map.get(k)));
  }
  toString() { return `getAll(${JSON.stringify(this.ks)}, ${this.at})`; }
}

const keyArb = fc.nat(KEYS - 1);
const commands = [
  fc.array(fc.tuple(keyArb, fc.integer({ min: -1000, max: 1000 })), { minLength: 1, maxLength: 200 }).map((p) => new PutMany(p)),
  keyArb.map((k) => new Delete(k)),
  fc.tuple(keyArb, fc.integer({ min: 1, max: 9 })).map(([k, n]) => new Merge(k, n)),
  fc.constant(new TakeSnapshot<Model, Real>()),
  fc.nat().map((i) => new DropSnapshot<Model, Real>(i)),
  fc.constant(new Compact()),
  // Batches longer than a group (16 keys), with repeats.
  fc.tuple(fc.array(keyArb, { maxLength: 70 }), fc.integer({ min: -1, max: 5 })).map(([ks, at]) => new GetAll(ks, at)),
];

describe('getAll (interleaved lookups) against a sorted Map model', () => {
  const modes = [
    { name: 'in memory', dir: false, numRuns: 60 },
    { name: 'file-backed runs, a block cache of 4 KiB', dir: true, numRuns: 25 },
  ];
  for (const mode of modes) {
    it(`answers every batch as the model does, now and at open snapshots (${mode.name})`, async () => {
      await fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 120, size: 'large' }), async (cmds) => {
        const dir = mode.dir ? mkdtempSync(join(tmpdir(), 'strata-getall-model-')) : undefined;
        const s = await Store.open<string, number>({
          keyCodec: codecs.utf8, valueCodec: codecs.json, ...TINY,
          ...(dir === undefined ? {} : { path: dir, blockCacheBytes: 4096 }),
        });
        const model: Model = { now: new Map(), snaps: [] };
        try {
          await fc.asyncModelRun(() => ({ model, real: { s } }), cmds);
          // The last word: every key, now and at each snapshot still open.
          const all = Array.from({ length: KEYS }, (_, i) => keyOf(i));
          expect(s.getAll(all)).toEqual(all.map((k) => model.now.get(k)));
          for (const x of model.snaps) expect(x.snap.getAll(all)).toEqual(all.map((k) => x.at.get(k)));
        } finally {
          for (const x of model.snaps) x.snap.close();
          await s.close();
          if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        }
      }), { numRuns: mode.numRuns });
    }, 240_000);
  }
});
