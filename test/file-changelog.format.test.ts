// FileChangelog, the bytes and the basics: segments written exactly as docs/CHANGELOG-FORMAT.md
// specifies (checked with a bitwise CRC-32C model), sealing with an end record and the link
// to the next segment, round trips across partitions and a reopen, fromSeq across segments,
// typed errors for bad input, and a store restored from a reopened log.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileChangelog, Store, type ChangeRecord } from 'strata-kv';
import { tempDirs, enc, dec, rec, readAll, HEADER, FRAME, FIXED, END, segments, codeOf, endRecordModel, crc32cModel } from './support/file-changelog.js';

const tmpDir = tempDirs('strata-fcl-');

describe('FileChangelog format', () => {
  it('writes segments exactly as docs/CHANGELOG-FORMAT.md specifies', async () => {
    expect(crc32cModel(enc('123456789'))).toBe(0xe3069283);
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    log.append([rec(2, 5, 'ab', 'xyz'), rec(2, 2 ** 40 + 7, 'ab', null)]);
    await log.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['p-2']);
    const [file] = segments(dir, 2);
    expect(path.basename(file)).toBe('0000000000000005.log');
    const b = fs.readFileSync(file);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    expect(b.subarray(0, 8).toString('latin1')).toBe('STRATACL');
    expect([b[8], b[9], dv.getUint16(10, true), dv.getUint32(12, true)]).toEqual([2, 0, 0, 2]);
    expect([dv.getUint32(16, true), dv.getUint32(20, true), dv.getUint32(24, true), dv.getUint32(28, true)]).toEqual([5, 0, 5, 0]);
    expect([dv.getUint32(32, true), dv.getUint32(36, true)]).toEqual([0xffffffff, 0xffffffff]); // first segment: no predecessor
    expect(dv.getUint32(40, true)).toBe(crc32cModel(b.subarray(0, 40)));
    // record 1: a put
    let o = HEADER;
    expect(dv.getUint32(o, true)).toBe(FIXED + 5);
    expect(dv.getUint32(o + 4, true)).toBe(((FIXED + 5) ^ 0xffffffff) >>> 0);
    expect(dv.getUint32(o + 8, true)).toBe(crc32cModel(b.subarray(o + 12, o + 12 + FIXED + 5)));
    o += FRAME;
    expect([dv.getUint32(o, true), dv.getUint32(o + 4, true), dv.getUint32(o + 8, true), b[o + 12], dv.getUint32(o + 13, true)]).toEqual([2, 5, 0, 0, 2]);
    expect(b.subarray(o + 17, o + 22).toString('latin1')).toBe('abxyz');
    o += FIXED + 5;
    // record 2: a tombstone with a seq above 2^32
    expect(dv.getUint32(o, true)).toBe(FIXED + 2);
    expect(dv.getUint32(o + 8, true)).toBe(crc32cModel(b.subarray(o + 12, o + 12 + FIXED + 2)));
    o += FRAME;
    expect([dv.getUint32(o, true), dv.getUint32(o + 4, true), dv.getUint32(o + 8, true), b[o + 12], dv.getUint32(o + 13, true)]).toEqual([2, 7, 256, 1, 2]);
    expect(o + FIXED + 2).toBe(b.length); // the last segment is not sealed: no end record
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false); // close released it
  });

  it('seals a segment with an end record and links the next one to it, as specified', async () => {
    const dir = tmpDir();
    // 200 bytes: three 34-byte records and the end record fit after the header, not four.
    const log = await FileChangelog.open(dir, { segmentBytes: 200 });
    log.append([rec(1, 5, 'ab', 'xyz'), rec(1, 6, 'ab', 'xyz'), rec(1, 7, 'ab', null), rec(1, 9, 'ab', 'xyz')]);
    await log.close();
    const [first, second] = segments(dir, 1);
    expect(path.basename(second)).toBe('0000000000000009.log');
    const b = fs.readFileSync(first);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    const crcs: number[] = [];
    let o = HEADER;
    for (let i = 0; i < 3; i++) { crcs.push(dv.getUint32(o + 8, true)); o += FRAME + dv.getUint32(o, true); }
    expect(b.length).toBe(o + END);
    expect(b.length).toBeLessThanOrEqual(200);
    expect([dv.getUint32(o, true), dv.getUint32(o + 4, true)]).toEqual([29, (29 ^ 0xffffffff) >>> 0]);
    expect(dv.getUint32(o + 8, true)).toBe(crc32cModel(b.subarray(o + FRAME, o + END)));
    const q = o + FRAME;
    const chain = endRecordModel(1, 5, 7, crcs).readUInt32LE(37);
    expect(b.subarray(o).equals(endRecordModel(1, 5, 7, crcs))).toBe(true);
    // partition, lastSeq (lo, hi), flags, count, firstSeq (lo, hi), recordsChain
    expect([dv.getUint32(q, true), dv.getUint32(q + 4, true), dv.getUint32(q + 8, true), b[q + 12], dv.getUint32(q + 13, true),
      dv.getUint32(q + 17, true), dv.getUint32(q + 21, true), dv.getUint32(q + 25, true)]).toEqual([1, 7, 0, 4, 3, 5, 0, chain]);
    const n = fs.readFileSync(second);
    const nv = new DataView(n.buffer, n.byteOffset, n.length);
    expect([n[8], nv.getUint32(16, true), nv.getUint32(32, true), nv.getUint32(36, true)]).toEqual([2, 9, 7, 0]); // prevLastSeq 7
    expect(nv.getUint32(40, true)).toBe(crc32cModel(n.subarray(0, 40)));
    expect(n.length).toBe(HEADER + FRAME + FIXED + 5); // the last segment: not sealed
  });
});

describe('FileChangelog reads and writes', () => {
  it('round-trips records across partitions and a reopen; reads see buffered appends', async () => {
    const dir = tmpDir();
    const written = [
      rec(0, 1, 'a', '1'), rec(0, 2, '', ''), rec(0, 3, 'a', null), rec(0, 4, 'b', 'v'.repeat(3000)),
      rec(3, 10, 'x', 'y'), rec(3, 11, 'x', null),
    ];
    const log = new FileChangelog(dir);
    log.append(written.slice(0, 2));
    log.append([written[4]]);
    log.append(written.slice(2, 4));
    log.append([written[5]]);
    expect(readAll(log, 0)).toEqual(written.slice(0, 4));
    expect(readAll(log, 3)).toEqual(written.slice(4));
    await log.close();
    expect(await codeOf(() => log.append([rec(0, 5, 'b', 'c')]))).toBe('CLOSED');
    expect(readAll(log, 0)).toEqual(written.slice(0, 4)); // readable after close

    const again = await FileChangelog.open({ path: dir });
    expect(again.partitions()).toEqual([0, 3]);
    expect([again.lastSeq(0), again.lastSeq(3), again.lastSeq(1)]).toEqual([4, 11, 0]);
    expect(readAll(again, 0)).toEqual(written.slice(0, 4));
    expect(readAll(again, 3, 11)).toEqual(written.slice(5));
    expect(readAll(again, 1)).toEqual([]);
    expect(await codeOf(() => again.append([rec(0, 4, 'b', 'c')]))).toBe('INVALID_ARGUMENT');
    again.append([rec(0, 5, 'b', 'c')]);
    await again.close();
    const third = new FileChangelog(dir);
    expect(readAll(third, 0).at(-1)).toEqual(rec(0, 5, 'b', 'c'));
    await third.close();
  });

  it('carries records larger than a read chunk and a segment', async () => {
    const dir = tmpDir();
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) >>> 3;
    const log = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
    log.append([rec(0, 1, 'small', 'x'), { partition: 0, seq: 2, key: enc('big'), value: big }, rec(0, 3, 'small', 'y')]);
    await log.close();
    const again = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
    const got = [...again.read(0)];
    expect(got.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(Buffer.from(got[1].value!).equals(big)).toBe(true); // toEqual walks 3M bytes one by one: too slow
    expect(segments(dir, 0).length).toBe(3);
    await again.close();
  });

  it('rolls segments at segmentBytes, and fromSeq reads start in the right one', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir, { segmentBytes: 300 });
    const all: ChangeRecord[] = [];
    for (let s = 1; s <= 200; s++) {
      const r = rec(0, s * 3, `key${s % 17}`, s % 5 === 0 ? null : `value-${s}`);
      all.push(r);
      log.append([r]);
    }
    await log.flush();
    const files = segments(dir, 0);
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(300);
    // Each file is named by its first record's seq.
    for (const f of files) {
      const b = fs.readFileSync(f);
      const first = new DataView(b.buffer, b.byteOffset).getUint32(HEADER + FRAME + 4, true);
      expect(path.basename(f)).toBe(`${String(first).padStart(16, '0')}.log`);
    }
    for (const from of [0, 1, 3, 4, 150, 299, 300, 301, 598, 600, 601, 10_000]) {
      expect(readAll(log, 0, from)).toEqual(all.filter((r) => r.seq >= from));
    }
    await log.close();
    const again = await FileChangelog.open(dir, { segmentBytes: 300 });
    expect(readAll(again, 0, 301)).toEqual(all.filter((r) => r.seq >= 301));
    await again.close();
  });

  it('refuses bad input with typed errors and changes nothing', async () => {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    log.append([rec(0, 5, 'a', '1')]);
    expect(await codeOf(() => log.append([rec(0, 6, 'b', '2'), rec(0, 6, 'c', '3')]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => log.append([{ partition: 0, seq: 7, key: 'k', value: null } as unknown as ChangeRecord]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => log.read(0, NaN))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => new FileChangelog(tmpDir(), { segmentBytes: 0 }))).toBe('INVALID_ARGUMENT');
    expect(readAll(log, 0)).toEqual([rec(0, 5, 'a', '1')]);
    await log.close();
  });
});

describe('FileChangelog as a Store’s changelog', () => {
  it('a store restored from the reopened log has the same keys, values and versions', async () => {
    const dir = tmpDir();
    const store = await Store.open({ changelog: await FileChangelog.open(dir, { sync: true, segmentBytes: 4096 }) });
    for (let i = 0; i < 500; i++) store.put(enc(`k${i % 60}`), enc(`v${i}`));
    store.deleteAll([enc('k1'), enc('k2')]);
    store.write([{ type: 'put', key: enc('k1'), value: enc('') }, { type: 'del', key: enc('k3') }]);
    const want = [...store.all()].map(([k, v]) => [dec(k), dec(v), store.getVersioned(k)!.version]);
    await store.close(); // flushes and closes its sinks
    const log = await FileChangelog.open(dir);
    await log.compact();
    for (const source of [log.read(0), readAll(log, 0)]) {
      const restored = await Store.open();
      await restored.restore(source);
      expect([...restored.all()].map(([k, v]) => [dec(k), dec(v), restored.getVersioned(k)!.version])).toEqual(want);
      await restored.close();
    }
    await log.close();
  });
});
