// Model-based test of range deletions through a changelog (docs/API.md, ChangeRecord's
// `rangeEnd`): random puts, deletes and deleteRanges on a store whose sink is a
// MemoryChangelog or a FileChangelog, with key compaction of that changelog at random
// points, against SortedModel. Checked at every step a command asks for:
//   - a fresh store restored from the whole log reads as the model (keys, values,
//     versions) and continues its sequence (the log's last seq survived compaction);
//   - a follower that restored an earlier state (a checkpoint, a standby) and then reads
//     the log from there, compacted since or not, reads as the model too: the range
//     records it needs survived compaction;
//   - a listener that applies its records to a model of its own, honouring rangeEnd, ends
//     equal to the store.
// A fresh restore of a log of 64 records or more takes the engine's bulk-ingest path (a
// level-0 run that carries the range tombstones), a shorter one the memtable's: a second,
// never compacted MemoryChangelog sink gives the long logs.
// A FileChangelog restore goes through the raw-record path.
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, MemoryChangelog, FileChangelog, type ChangeRecord, type StoreOptions } from 'strata-kv';
import { SortedModel, hex } from './support/model.js';
import { expectStoreMatches } from './support/expect-model.js';

type Log = MemoryChangelog | FileChangelog;
interface Real {
  store: Store;
  log: Log;
  /** A second sink, never compacted: its restores are long, so they take bulk ingest. */
  full: MemoryChangelog;
  /** A store that restored the log some time ago and catches up now and then. */
  follower: Store;
  /** What the onChange listener rebuilt from its records. */
  heard: SortedModel;
}
type Cmd = fc.AsyncCommand<SortedModel, Real>;

const seen = { rangeDeletes: 0, compactions: 0, dropped: 0, freshRestores: 0, catchUps: 0, ingests: 0 };

const HEX_KEYS = ['', '00', '61', '6161', '616100', '6162', '62', '6261', 'ff', 'ffff',
  ...Array.from({ length: 20 }, (_, i) => (0x70 + i).toString(16))];
const KEYS = HEX_KEYS.sort().map((h) => new Uint8Array(Buffer.from(h, 'hex')));
const keyArb = fc.constantFrom(...KEYS);
const valueArb = fc.uint8Array({ maxLength: 24 });

const TINY: StoreOptions<Uint8Array, Uint8Array> = {
  memtableBytes: 256, blockBytes: 64, runTargetBytes: 512, levelBaseBytes: 1024,
  levelSizeMultiplier: 2, level0CompactionTrigger: 2,
};

const cmd = (name: string, run: (m: SortedModel, r: Real) => void | Promise<void>): Cmd => ({
  check: () => true, run: async (m, r) => { await run(m, r); }, toString: () => name,
});

function commands(): fc.Arbitrary<Cmd>[] {
  return [
    fc.tuple(keyArb, valueArb).map(([k, v]) => cmd(`put(${hex(k)})`, (m, r) => { r.store.put(k, v); m.put(k, v); })),
    fc.array(fc.tuple(keyArb, valueArb), { maxLength: 6 }).map((es) => cmd(`putAll(${es.length})`, (m, r) => {
      r.store.putAll(es);
      for (const [k, v] of es) m.put(k, v);
    })),
    keyArb.map((k) => cmd(`delete(${hex(k)})`, (m, r) => { r.store.delete(k); m.delete(k); })),
    ...[0, 1].map(() => fc.tuple(keyArb, keyArb).map(([a, b]) => cmd(`deleteRange(${hex(a)}, ${hex(b)})`, (m, r) => {
      const c = Buffer.compare(a, b);
      if (c > 0) {
        expect(() => r.store.deleteRange(a, b)).toThrow(StrataError);
        return;
      }
      r.store.deleteRange(a, b);
      if (c < 0) { m.deleteRange(a, b); seen.rangeDeletes++; }
    }))),
    fc.constant(cmd('flush', async (_m, r) => { await r.store.flush(); })),
    fc.constant(cmd('compactLog', async (_m, r) => {
      await r.log.flush();
      const { before, after } = await r.log.compact(0);
      seen.compactions++;
      seen.dropped += before - after;
    })),
    fc.constant(cmd('catchUp', async (m, r) => {
      await r.log.flush();
      await r.follower.restore(r.log.read(0));
      seen.catchUps++;
      expectStoreMatches(r.follower, m, KEYS);
    })),
    fc.constant(cmd('restoreFresh', async (m, r) => freshRestore(m, r))),
  ];
}

async function freshRestore(m: SortedModel, r: Real, log: Log = r.log): Promise<void> {
  await log.flush();
  const fresh = await Store.open(TINY);
  try {
    await fresh.restore(log.read(0));
    seen.freshRestores++;
    expectStoreMatches(fresh, m, KEYS);
    // The log's last seq survived: the next write continues the store's sequence.
    fresh.put(KEYS[0], new Uint8Array([1]));
    expect(fresh.getVersioned(KEYS[0])!.version).toBe(m.seq + 1);
  } finally {
    await fresh.close();
  }
}

const dirs: string[] = [];
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  // The runs must have exercised what they claim: range records, and compactions dropping.
  expect(seen.rangeDeletes).toBeGreaterThan(200);
  expect(seen.compactions).toBeGreaterThan(50);
  expect(seen.dropped).toBeGreaterThan(200);
  expect(seen.catchUps).toBeGreaterThan(50);
  expect(seen.ingests).toBeGreaterThan(50);
});

async function run(open: () => Promise<Log>, numRuns: number): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.commands(commands(), { maxCommands: 200, size: 'max' }), async (cmds) => {
    const log = await open();
    const m = new SortedModel();
    const heard = new SortedModel();
    const full = new MemoryChangelog();
    const store = await Store.open({ ...TINY, changelog: [full, log] });
    store.onChange((records: ChangeRecord[]) => heard.restore(records));
    const r: Real = { store, log, full, follower: await Store.open(TINY), heard };
    try {
      await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
      expectStoreMatches(store, m, KEYS);
      expect([...heard.map.entries()].map(([k, e]) => [k, hex(e.value), e.version]).sort())
        .toEqual([...m.map.entries()].map(([k, e]) => [k, hex(e.value), e.version]).sort());
      await freshRestore(m, r, full);
      if (full.size(0) >= 64) seen.ingests++;
      await freshRestore(m, r);
      await r.log.compact(0);
      await freshRestore(m, r);
      await r.follower.restore(r.log.read(0));
      expectStoreMatches(r.follower, m, KEYS);
    } finally {
      await r.follower.close();
      await r.store.close(); // closes the log too
    }
  }), { numRuns });
}

describe('deleteRange through a changelog, against a sorted-map model', () => {
  it('MemoryChangelog: restores, followers and compaction', async () => {
    await run(async () => new MemoryChangelog(), 120);
  }, 180_000);

  it('FileChangelog: restores (raw records), followers and compaction', async () => {
    await run(async () => {
      const dir = mkdtempSync(join(scratch, 'strata-rangelog-'));
      dirs.push(dir);
      return FileChangelog.open(dir, { segmentBytes: 512 });
    }, 60);
  }, 180_000);
});
