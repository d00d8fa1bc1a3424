// Store.deleteRange (docs/LSM.md, "Range deletions") case by case: its arguments, the run
// file's format version (3 without tombstones, 4 with a range-del block) and its damage, and
// tombstones surviving a crash through the write-ahead log. The model test
// (range-delete.model.test.ts) covers the interleavings; range-delete-changelog*.test.ts
// its change record.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError } from 'strata-kv';
import { copyCrashImage } from './support/crash-image.js';

const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dirs: string[] = [];
const dir = () => { const d = mkdtempSync(join(scratch, 'strata-rangedel-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const b = (s: string) => new Uint8Array(Buffer.from(s));
const keys = (s: Store) => [...s.all()].map(([k]) => Buffer.from(k).toString());

/** The format version in each run file's footer (+40 from the footer's start, 48 from the end). */
function runVersions(path: string): number[] {
  return readdirSync(path).filter((n) => n.endsWith('.run')).sort().map((n) => {
    const f = readFileSync(join(path, n));
    return f.readUInt16LE(f.length - 48 + 40);
  });
}

function code(fn: () => unknown): string {
  try { fn(); } catch (err) { expect(err).toBeInstanceOf(StrataError); return (err as StrataError).code + ': ' + (err as Error).message; }
  return 'no error';
}

describe('Store.deleteRange', () => {
  it('deletes [from, to): from included, to excluded; one sequence number', async () => {
    const s = await Store.open();
    for (const k of ['a', 'b', 'ba', 'c', 'd']) s.put(b(k), b(k));
    const seq = s.stats().sequence;
    s.deleteRange(b('b'), b('d'));
    expect(s.stats().sequence).toBe(seq + 1);
    expect(keys(s)).toEqual(['a', 'd']);
    expect(s.get(b('b'))).toBeUndefined();
    expect(s.getVersioned(b('ba'))).toBeUndefined();
    s.put(b('c'), b('c2')); // a write after the tombstone is not hidden
    expect(keys(s)).toEqual(['a', 'c', 'd']);
    await s.close();
  });

  it('from = to deletes nothing and takes no sequence; from after to is INVALID_ARGUMENT', async () => {
    const s = await Store.open();
    s.put(b('k'), b('v'));
    const seq = s.stats().sequence;
    s.deleteRange(b('k'), b('k'));
    expect(code(() => s.deleteRange(b('z'), b('a')))).toMatch(/^INVALID_ARGUMENT: deleteRange: from must not come after to/);
    expect(s.stats().sequence).toBe(seq);
    expect(keys(s)).toEqual(['k']);
    await s.close();
  });

  // The model test's counterexample: a run of one tombstone with an empty `from` has the
  // smallest range-del block there is (25 bytes), which the footer check refused at first.
  it('a tombstone from the empty key, alone in its run, survives reopen', async () => {
    const path = dir();
    const s = await Store.open({ path });
    s.put(b('a'), b('1'));
    await s.flush();
    s.deleteRange(new Uint8Array(0), new Uint8Array([0x88]));
    await s.close();
    const r = await Store.open({ path });
    expect(keys(r)).toEqual([]);
    expect(r.get(b('a'))).toBeUndefined();
    await r.close();
  });

  it('run files are format version 5 without range tombstones, version 6 with', async () => {
    const path = dir();
    const s = await Store.open({ path });
    for (let i = 0; i < 50; i++) s.put(b(`k${i}`), b('v'));
    await s.flush();
    expect(runVersions(path)).toEqual([5]);
    s.deleteRange(b('k1'), b('k3'));
    await s.flush();
    expect(runVersions(path).sort()).toEqual([5, 6]);
    await s.compact();
    expect(runVersions(path)).toEqual([5]); // at the bottom with no snapshot: the tombstone is gone
    expect(keys(s).length).toBe(50 - 22); // k1, k10..k19, k2, k20..k29
    await s.close();
  });

  it('a damaged range-del block is CORRUPTION naming the file and the block', async () => {
    const path = dir();
    const s = await Store.open({ path });
    s.put(b('a'), b('1'));
    s.deleteRange(b('b'), b('c'));
    await s.close();
    const [name] = readdirSync(path).filter((n) => n.endsWith('.run'));
    const f = readFileSync(join(path, name));
    f[f.length - 48 - 12] ^= 0xff; // inside the range-del block (26 bytes, just before the footer)
    writeFileSync(join(path, name), f);
    await expect(Store.open({ path })).rejects.toThrow(/bad range-del block/);
  });

  it('a crash after deleteRange replays it from the write-ahead log', async () => {
    const path = dir();
    const s = await Store.open({ path, sync: true });
    for (const k of ['a', 'b', 'c']) s.put(b(k), b(k));
    await s.flush();
    s.deleteRange(b('a'), b('c'));
    const copy = dir();
    copyCrashImage(path, copy);
    await s.close();
    const r = await Store.open({ path: copy });
    expect(keys(r)).toEqual(['c']);
    await r.close();
  });
});
