// deleteRange's change record (ChangeRecord.rangeEnd, docs/API.md) case by case: what
// listeners and sinks get on each write path, a sink's refusal, restore (memtable, bulk
// ingest, raw FileChangelog records, a ttl store, bad records), the FileChangelog segment
// bytes and their damage, compaction's rule, and a Standby following a range deletion. The
// model test (range-delete-changelog.model.test.ts) covers the interleavings.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, Standby, StrataError, MemoryChangelog, FileChangelog, type ChangeRecord, type ChangelogSink } from 'strata-kv';
import { crc32cModel, recordStarts, segments, plain } from './support/file-changelog.js';
import { CommitSink } from '../bindings/nats/tasks/commit-sink.js';

const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dirs: string[] = [];
const dir = () => { const d = mkdtempSync(join(scratch, 'strata-rangelog-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const b = (s: string) => new Uint8Array(Buffer.from(s));
const str = (u: Uint8Array) => Buffer.from(u).toString();
const keys = (s: { all(): Iterable<[Uint8Array, Uint8Array]> }) => [...s.all()].map(([k]) => str(k));
const shown = (r: ChangeRecord) => ({
  partition: r.partition, seq: r.seq, key: str(r.key), value: r.value === null ? null : str(r.value),
  ...(r.rangeEnd !== undefined ? { rangeEnd: str(r.rangeEnd) } : {}),
  ...(r.expiresAt !== undefined ? { expiresAt: 'set' } : {}),
});

async function codeOf(fn: () => unknown): Promise<string> {
  try { await fn(); } catch (err) { expect(err).toBeInstanceOf(StrataError); return (err as StrataError).code; }
  return 'no error';
}

describe('deleteRange: the change record', () => {
  // Each write path: the engine's own call (no sink, no log), the batch path (a sink, a
  // log, a ttl store's value prefix).
  for (const [name, opts] of [
    ['no sink', () => ({})],
    ['a sink', () => ({ changelog: new MemoryChangelog() })],
    ['a write-ahead log', () => ({ path: dir() })],
    ['ttlMs', () => ({ ttlMs: 60_000 })],
  ] as const) {
    it(`listeners get { key: from, value: null, rangeEnd: to } after it is applied (${name})`, async () => {
      const s = await Store.open({ ...opts(), partition: 3 });
      s.put(b('a'), b('1'));
      s.put(b('b'), b('2'));
      const heard: ChangeRecord[][] = [];
      s.onChange((records) => {
        heard.push(records);
        expect(keys(s)).toEqual(['a']); // told after apply
      });
      s.deleteRange(b('b'), b('c'));
      expect(heard.map((rs) => rs.map(shown))).toEqual([[{ partition: 3, seq: 3, key: 'b', value: null, rangeEnd: 'c' }]]);
      await s.close();
    });
  }

  it('sinks get the same record, through the write protocol', async () => {
    const log = new MemoryChangelog();
    const s = await Store.open({ changelog: log });
    s.putAll([[b('a'), b('1')], [b('b'), b('2')]]);
    s.deleteRange(b('a'), b('b'));
    expect([...log.read(0)].map(shown)).toEqual([
      { partition: 0, seq: 1, key: 'a', value: '1' }, { partition: 0, seq: 2, key: 'b', value: '2' },
      { partition: 0, seq: 3, key: 'a', value: null, rangeEnd: 'b' },
    ]);
    expect(keys(s)).toEqual(['b']);
    await s.close();
  });

  it('a sink refusing it leaves nothing applied: no keys gone, no sequence, no listener call', async () => {
    const refuse: ChangelogSink = {
      append: (records) => {
        if (records.some((r) => r.rangeEnd !== undefined)) throw new StrataError('INVALID_ARGUMENT', 'this sink keeps no range deletions');
      },
    };
    const path = dir();
    const s = await Store.open({ path, changelog: refuse });
    s.putAll([[b('a'), b('1')], [b('b'), b('2')], [b('c'), b('3')]]);
    let told = 0;
    s.onChange(() => { told++; });
    const seq = s.stats().sequence;
    expect(await codeOf(() => s.deleteRange(b('a'), b('c')))).toBe('INVALID_ARGUMENT');
    expect(keys(s)).toEqual(['a', 'b', 'c']);
    expect(s.stats().sequence).toBe(seq);
    expect(told).toBe(0);
    s.put(b('d'), b('4')); // the store goes on, and the refused write was not logged either
    expect(s.getVersioned(b('d'))!.version).toBe(seq + 1);
    await s.close();
    const again = await Store.open({ path });
    expect(keys(again)).toEqual(['a', 'b', 'c', 'd']);
    await again.close();
  });
});

describe('deleteRange: restore', () => {
  const owner = async (log: ChangelogSink, n: number) => {
    const s = await Store.open({ changelog: log });
    for (let i = 0; i < n; i++) s.put(b(`k${String(i).padStart(4, '0')}`), b(`v${i}`));
    s.deleteRange(b('k0010'), b('k0020'));
    s.put(b('k0015'), b('back'));
    return s;
  };

  it('memtable path and bulk ingest (a run carrying the tombstone) give the same store', async () => {
    for (const n of [30, 2000]) { // 30: memtable; 2000: one chunk ingested as a level-0 run
      const log = new MemoryChangelog();
      const s = await owner(log, n);
      const fresh = await Store.open({ memtableBytes: 4096 });
      await fresh.restore(log.read(0));
      expect(keys(fresh)).toEqual(keys(s));
      expect(fresh.has(b('k0012'))).toBe(false);
      expect(fresh.getVersioned(b('k0015'))!.version).toBe(n + 2);
      if (n === 2000) expect(fresh.stats().levels[0].runs).toBeGreaterThan(0); // ingested
      fresh.put(b('x'), b('y'));
      expect(fresh.getVersioned(b('x'))!.version).toBe(n + 3);
      await fresh.close();
      await s.close();
    }
  });

  it('a chunk of range deletions alone ingests as a run of tombstones only, which survives reopen', async () => {
    const log = new MemoryChangelog();
    const s = await Store.open({ changelog: log });
    for (let i = 0; i < 500; i++) s.put(b(`k${String(i).padStart(4, '0')}`), b('v'));
    const path = dir();
    const fresh = await Store.open({ path, memtableBytes: 4096 });
    await fresh.restore(log.read(0));
    for (let i = 0; i < 100; i++) s.deleteRange(b(`k${String(i * 5).padStart(4, '0')}`), b(`k${String(i * 5 + 2).padStart(4, '0')}`));
    await fresh.restore(log.read(0, 501));
    expect(keys(fresh)).toEqual(keys(s));
    expect(keys(fresh)).toHaveLength(300);
    await fresh.close();
    const reopened = await Store.open({ path });
    expect(keys(reopened)).toEqual(keys(s));
    await reopened.close();
    await s.close();
  });

  it('from a FileChangelog (raw records) and into a ttl store', async () => {
    const log = await FileChangelog.open(dir());
    const s = await owner(log, 300);
    await log.flush();
    for (const opts of [{}, { ttlMs: 60_000 }]) {
      const fresh = await Store.open(opts);
      await fresh.restore(log.read(0));
      expect(keys(fresh)).toEqual(keys(s));
      expect(fresh.get(b('k0015'))).toEqual(b('back'));
      await fresh.close();
    }
    await s.close();
  });

  it('refuses a malformed range record: INVALID_ARGUMENT or KEY_TOO_LARGE, nothing applied', async () => {
    const s = await Store.open();
    const rec = (over: Partial<ChangeRecord>): ChangeRecord => ({ partition: 0, seq: 1, key: b('b'), value: null, rangeEnd: b('c'), ...over });
    expect(await codeOf(() => s.restore([rec({ rangeEnd: b('b') })]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.restore([rec({ rangeEnd: b('a') })]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.restore([rec({ value: b('v') })]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.restore([rec({ rangeEnd: new Uint8Array(65536).fill(0x63) })]))).toBe('KEY_TOO_LARGE');
    expect(s.stats().sequence).toBe(0);
    const log = new MemoryChangelog();
    expect(await codeOf(() => log.append([rec({ rangeEnd: b('a') })]))).toBe('INVALID_ARGUMENT');
    await s.close();
  });
});

describe('deleteRange: FileChangelog segments', () => {
  it('writes flag 8 with the end key as the value; a damaged flag or range is CORRUPTION', async () => {
    const d = dir();
    const log = await FileChangelog.open(d);
    log.append([{ partition: 0, seq: 1, key: b('a'), value: null, rangeEnd: b('m') },
      { partition: 0, seq: 2, key: b('z'), value: b('v') }]);
    await log.close();
    const [file] = segments(d, 0);
    const bytes = readFileSync(file);
    const at = recordStarts(bytes)[0];
    expect(bytes[at + 24]).toBe(8);
    expect(str(bytes.subarray(at + 29, at + 31))).toBe('am');
    const again = await FileChangelog.open(d);
    expect([...again.read(0)].map(plain)).toEqual([
      { partition: 0, seq: 1, key: b('a'), value: null, rangeEnd: b('m') }, { partition: 0, seq: 2, key: b('z'), value: b('v') }]);
    await again.close();
    // Intact records (checksum recomputed) that break the format: read as CORRUPTION.
    for (const [what, edit] of [
      ['flags 8 | 1', (f: Buffer) => { f[at + 24] = 9; }],
      ['flags 16', (f: Buffer) => { f[at + 24] = 16; }],
      ['an end before its start', (f: Buffer) => { f[at + 30] = 0x61; }],
    ] as const) {
      const f = Buffer.from(bytes);
      edit(f);
      const len = f.readUInt32LE(at);
      f.writeUInt32LE(crc32cModel(f.subarray(at + 12, at + 12 + len)), at + 8);
      writeFileSync(file, f);
      let err: unknown;
      try {
        const log2 = await FileChangelog.open(d); // open reads the last segment to its end
        try { [...log2.read(0)]; } finally { await log2.close(); }
      } catch (e) { err = e; }
      expect(err, what).toBeInstanceOf(StrataError);
      expect((err as StrataError).code, what).toBe('CORRUPTION');
      expect((err as Error).message, what).toContain(`${file} at byte offset ${at}`);
    }
  });

  it('compaction drops what later ranges cover and keeps a range until later ones cover it', async () => {
    for (const make of [() => new MemoryChangelog(), async () => FileChangelog.open(dir(), { segmentBytes: 256 })]) {
      const log = await make();
      const s = await Store.open({ changelog: log });
      const follower = await Store.open();
      s.putAll([[b('a'), b('1')], [b('c'), b('2')], [b('e'), b('3')]]);
      await log.flush();
      await follower.restore(log.read(0)); // a checkpoint holding a, c, e
      s.deleteRange(b('b'), b('d'));       // covers c: c's put goes, the range must stay
      s.deleteRange(b('x'), b('y'));       // covered later by [w, z): goes
      s.deleteRange(b('w'), b('z'));
      s.put(b('b'), b('4'));
      await log.flush();
      const { before, after } = await log.compact(0);
      expect([before, after]).toEqual([7, 5]);
      expect([...log.read(0)].map(shown).map((r) => `${r.seq}:${r.key}${r.rangeEnd ? `..${r.rangeEnd}` : ''}`))
        .toEqual(['1:a', '3:e', '4:b..d', '6:w..z', '7:b']);
      await follower.restore(log.read(0));
      expect(keys(follower)).toEqual(['a', 'b', 'e']); // the kept range deleted its c
      const fresh = await Store.open();
      await fresh.restore(log.read(0));
      expect(keys(fresh)).toEqual(keys(s));
      await Promise.all([fresh.close(), follower.close(), s.close()]);
    }
  });
});

describe('deleteRange: Standby', () => {
  it('a standby applies the range record as a range tombstone', async () => {
    const log = new MemoryChangelog();
    const owner = await Store.open({ changelog: log });
    for (let i = 0; i < 100; i++) owner.put(b(`k${String(i).padStart(3, '0')}`), b('v'));
    const standby = await Standby.follow({ source: log, partition: 0, pollMs: 5 });
    owner.deleteRange(b('k010'), b('k090'));
    const deadline = Date.now() + 5000;
    while (standby.lag() !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(standby.lag()).toBe(0);
    expect(keys(standby.store)).toEqual(keys(owner));
    expect(keys(standby.store)).toHaveLength(20);
    await standby.close();
    await owner.close();
  });
});

describe('deleteRange: StreamTasks\' CommitSink', () => {
  it('holds a range record whole, rangeEnd included, as its own copy', () => {
    const sink = new CommitSink();
    const end = b('m');
    sink.append([{ partition: 0, seq: 1, key: b('a'), value: null, rangeEnd: end }]);
    end[0] = 0x7a; // the store may reuse its arrays
    expect(sink.take().map(shown)).toEqual([{ partition: 0, seq: 1, key: 'a', value: null, rangeEnd: 'm' }]);
  });
});
