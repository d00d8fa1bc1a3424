// FileChangelog key compaction: checked against a Map model and against MemoryChangelog
// (metamorphic), appends after it, a read under way across it, and a crash at either side of
// its rename.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { FileChangelog, MemoryChangelog, type ChangeRecord } from 'strata-kv';
import { tempDirs, rec, plain, readAll, segments, replay, latestPerKey } from './support/file-changelog.js';

const tmpDir = tempDirs('strata-fcl-');

describe('FileChangelog compaction', () => {
  const opArb = fc.oneof(
    { weight: 8, arbitrary: fc.record({
      type: fc.constant('append' as const),
      records: fc.array(fc.record({
        partition: fc.integer({ min: 0, max: 1 }),
        key: fc.integer({ min: 0, max: 9 }),
        value: fc.option(fc.string({ maxLength: 30 }), { nil: null, freq: 4 }),
      }), { minLength: 1, maxLength: 5 }),
    }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('compact' as const), partition: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }) }) },
    { weight: 1, arbitrary: fc.constant({ type: 'reopen' as const }) },
  );

  it('keeps exactly the latest record per key; replaying it gives the full log’s state (models: Map, MemoryChangelog)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), fc.constantFrom(64, 256, 4096), async (ops, segmentBytes) => {
      const dir = tmpDir();
      let log = await FileChangelog.open(dir, { segmentBytes });
      const mem = new MemoryChangelog();
      const full: ChangeRecord[][] = [[], []];
      const seq = [0, 0];
      try {
        for (const op of ops) {
          if (op.type === 'append') {
            const records = op.records.map((r) => rec(r.partition, ++seq[r.partition] * 2, `k${r.key}`, r.value));
            log.append(records);
            mem.append(records);
            for (const r of records) full[r.partition].push(r);
          } else if (op.type === 'compact') {
            await log.compact(op.partition);
            await mem.compact(op.partition);
          } else {
            await log.close();
            log = await FileChangelog.open(dir, { segmentBytes });
          }
          for (let p = 0; p < 2; p++) {
            const got = readAll(log, p);
            expect(got).toEqual(readAll(mem, p));                       // same records as the memory log
            expect(replay(got)).toEqual(replay(full[p]));              // same final state and versions
            for (const r of got) expect(r).toEqual(full[p].find((f) => f.seq === r.seq)); // only real records
          }
        }
        await log.compact();
        for (let p = 0; p < 2; p++) {
          expect(readAll(log, p)).toEqual(latestPerKey(full[p]));
          if (full[p].length > 0) expect(segments(dir, p).length).toBe(1);
          expect(log.lastSeq(p)).toBe(seq[p] * 2);
        }
        await log.close();
        log = await FileChangelog.open(dir, { segmentBytes });
        for (let p = 0; p < 2; p++) expect(readAll(log, p)).toEqual(latestPerKey(full[p]));
      } finally {
        await log.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }), { numRuns: 40 });
  });

  it('shrinks the log to its live keys, and appends continue after it', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir, { segmentBytes: 4096 });
    for (let s = 1; s <= 2000; s++) log.append([rec(0, s, `key${s % 50}`, `value-${s}`.padEnd(64, '.'))]);
    await log.flush();
    const bytes = () => segments(dir, 0).reduce((n, f) => n + fs.statSync(f).size, 0);
    const before = bytes();
    expect(await log.compact()).toEqual({ before: 2000, after: 50 });
    expect(bytes()).toBeLessThan(before / 30);
    expect(await log.compact()).toEqual({ before: 50, after: 50 }); // already compact
    log.append([rec(0, 2001, 'key1', 'new')]);
    expect(readAll(log, 0).length).toBe(51);
    expect(readAll(log, 0, 2001)).toEqual([rec(0, 2001, 'key1', 'new')]);
    await log.close();
  });

  it('a read in progress neither loses nor repeats records across a compaction', async () => {
    for (const stopAt of [0, 1, 50, 150, 299]) {
      const log = await FileChangelog.open(tmpDir(), { segmentBytes: 512 });
      const all: ChangeRecord[] = [];
      for (let s = 1; s <= 300; s++) { const r = rec(0, s, `k${s % 7}`, `v${s}`); all.push(r); log.append([r]); }
      const it = log.read(0)[Symbol.iterator]();
      const seen: ChangeRecord[] = [];
      for (let i = 0; i < stopAt; i++) seen.push(plain(it.next().value!));
      await log.compact();
      for (let r = it.next(); !r.done; r = it.next()) seen.push(plain(r.value));
      const seqs = seen.map((r) => r.seq);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(replay(seen)).toEqual(replay(all));
      expect(seen.slice(0, stopAt)).toEqual(all.slice(0, stopAt));
      await log.close();
    }
  });

  it('recovers from a crash in the middle of a compaction, at either side of the rename', async () => {
    const dir = tmpDir();
    let log = await FileChangelog.open(dir, { segmentBytes: 512 });
    const all: ChangeRecord[] = [];
    for (let s = 1; s <= 200; s++) { const r = rec(0, s, `k${s % 9}`, `v${s}`); all.push(r); log.append([r]); }
    await log.close();
    const inputs = segments(dir, 0).map((f) => [f, fs.readFileSync(f)] as const);
    expect(inputs.length).toBeGreaterThan(3);

    // Before the rename: the inputs are intact beside a half-written .tmp.
    fs.writeFileSync(`${inputs[0][0]}.tmp`, 'half a compaction');
    log = await FileChangelog.open(dir, { segmentBytes: 512 });
    expect(readAll(log, 0)).toEqual(all);
    expect(fs.existsSync(`${inputs[0][0]}.tmp`)).toBe(false);
    await log.compact();
    await log.close();

    // After the rename, before the deletes: the replaced inputs are back beside the output.
    for (const [f, b] of inputs.slice(1)) fs.writeFileSync(f, b);
    log = await FileChangelog.open(dir, { segmentBytes: 512 });
    expect(readAll(log, 0)).toEqual(latestPerKey(all));
    expect(segments(dir, 0)).toEqual([inputs[0][0]]);
    log.append([rec(0, 201, 'k1', 'later')]);
    await log.close();
    log = await FileChangelog.open(dir, { segmentBytes: 512 });
    expect(replay(readAll(log, 0))).toEqual(replay([...all, rec(0, 201, 'k1', 'later')]));
    await log.close();
  });
});
