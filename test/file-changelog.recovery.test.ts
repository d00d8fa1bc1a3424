// FileChangelog recovery and the chain of segments: torn tails forgiven, damage reported as
// CORRUPTION with file and offset, sealed segments' end records and the chain between them (a
// cut or lost segment is CORRUPTION; properties over segment and offset), the last segment's
// torn write told from a cut, and version 1 segments still read.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileChangelog, Store, StrataError, type ChangeRecord } from 'strata-kv';
import { tempDirs, rec, plain, readAll, HEADER, FRAME, FIXED, END, frameBytes, segments, errorOf, endRecordModel, recordStarts, crc32cModel } from './support/file-changelog.js';

const tmpDir = tempDirs('strata-fcl-');

describe('FileChangelog recovery', () => {
  /** A log of `n` records (fixed sizes) in one segment, closed; returns its file. */
  async function oneSegment(n: number): Promise<{ dir: string; file: string; size: number; all: ChangeRecord[] }> {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir);
    const all = Array.from({ length: n }, (_, i) => rec(0, i + 1, `key-${String(i).padStart(4, '0')}`, `value-${String(i).padStart(6, '0')}`));
    log.append(all);
    await log.close();
    return { dir, file: segments(dir, 0)[0], size: frameBytes(8, 12), all };
  }

  it('forgives a torn final record at any cut, truncates it, and appends after it', async () => {
    const { dir, file, size, all } = await oneSegment(20);
    const pristine = fs.readFileSync(file);
    const lastStart = HEADER + 19 * size;
    expect(pristine.length).toBe(lastStart + size);
    await fc.assert(fc.asyncProperty(fc.integer({ min: lastStart, max: lastStart + size - 1 }), async (cut) => {
      fs.writeFileSync(file, pristine.subarray(0, cut));
      const log = await FileChangelog.open(dir);
      expect(readAll(log, 0)).toEqual(all.slice(0, 19));
      expect(log.lastSeq(0)).toBe(19);
      log.append([rec(0, 20, 'after', 'crash')]);
      await log.close();
      expect(fs.statSync(file).size).toBe(lastStart + frameBytes(5, 5));
      const again = await FileChangelog.open(dir);
      expect(readAll(again, 0)).toEqual([...all.slice(0, 19), rec(0, 20, 'after', 'crash')]);
      await again.close();
    }), { numRuns: 40 });
  });

  it('forgives zero-filled space after the last record, and a torn header of a new last segment', async () => {
    const { dir, file, all } = await oneSegment(5);
    fs.appendFileSync(file, Buffer.alloc(4096));
    let log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(all);
    await log.close();
    // A crash right after a new segment's creation: its predecessor is sealed (the end
    // record is written and fsynced first), the new file holds a few header bytes.
    log = await FileChangelog.open(dir, { segmentBytes: 64 });
    log.append([rec(0, 6, 'k', 'v')]); // past 64 bytes: seals the first segment, starts 6
    await log.close();
    const torn = path.join(dir, 'p-0', `${String(6).padStart(16, '0')}.log`);
    const header = fs.readFileSync(torn).subarray(0, HEADER);
    expect(fs.statSync(file).size).toBe(HEADER + 5 * frameBytes(8, 12) + END); // sealed
    for (const cut of [5, HEADER - 4]) {
      fs.writeFileSync(torn, header.subarray(0, cut));
      log = await FileChangelog.open(dir);
      expect(readAll(log, 0)).toEqual(all);
      expect(fs.existsSync(torn)).toBe(false);
      // The sealed segment is not appended to: the next record starts a new one.
      log.append([rec(0, 6, 'k', 'v')]);
      expect(readAll(log, 0).length).toBe(6);
      await log.close();
      expect(segments(dir, 0)).toEqual([file, torn]);
      log = await FileChangelog.open(dir);
      expect(readAll(log, 0)).toEqual([...all, rec(0, 6, 'k', 'v')]);
      await log.close();
    }
  });

  it('reports a flipped byte in the middle as CORRUPTION naming the file and the record offset', async () => {
    const { dir, file, size } = await oneSegment(20);
    const pristine = fs.readFileSync(file);
    for (const [record, at, what] of [[7, FRAME + FIXED + 3, 'a key byte'], [7, FRAME + FIXED + 8 + 5, 'a value byte'], [3, 1, 'the length'], [12, 9, 'the checksum'], [0, FRAME + 5, 'the seq']] as const) {
      const damaged = Buffer.from(pristine);
      const offset = HEADER + record * size;
      damaged[offset + at] ^= 0x10;
      fs.writeFileSync(file, damaged);
      // The last segment is scanned on open, so the open itself reports it.
      const err = await errorOf(() => new FileChangelog(dir));
      expect(err.code, what).toBe('CORRUPTION');
      expect(err.message).toContain(file);
      expect(err.message).toContain(`offset ${offset}`);
    }
    // A damaged header too.
    const damaged = Buffer.from(pristine);
    damaged[13] ^= 1;
    fs.writeFileSync(file, damaged);
    const err = await errorOf(() => new FileChangelog(dir));
    expect([err.code, err.message.includes(`${file} at byte offset 0`)]).toEqual(['CORRUPTION', true]);
    fs.writeFileSync(file, pristine);
    const log = new FileChangelog(dir);
    expect(readAll(log, 0).length).toBe(20);
    await log.close();
  });

  it('reports damage in a sealed segment when a read reaches it, at its offset', async () => {
    const dir = tmpDir();
    let log = await FileChangelog.open(dir, { segmentBytes: 1024 });
    for (let s = 1; s <= 100; s++) log.append([rec(0, s, `k${s % 10}`, 'x'.repeat(40))]);
    await log.close();
    const files = segments(dir, 0);
    expect(files.length).toBeGreaterThan(3);
    const victim = files[1];
    const b = fs.readFileSync(victim);
    const offset = HEADER + 2 * frameBytes(2, 40); // keys k0..k9 are 2 bytes
    b[offset + FRAME + FIXED + 10] ^= 0xff;
    fs.writeFileSync(victim, b);
    log = await FileChangelog.open(dir, { segmentBytes: 1024 });
    const it = log.read(0)[Symbol.iterator](); // records before the damage still read
    for (let i = 0; i < 15; i++) expect(it.next().value!.seq).toBe(i + 1);
    it.return!();
    const err = await errorOf(() => [...log.read(0)]);
    expect(err.code).toBe('CORRUPTION');
    expect(err.message).toContain(`${victim} at byte offset ${offset}`);
    // Even a torn-looking end is damage in a sealed segment.
    fs.writeFileSync(victim, fs.readFileSync(victim).subarray(0, offset + 5));
    expect((await errorOf(() => [...log.read(0)])).message).toContain(`${victim} at byte offset ${offset}`);
    await log.close();
  });

  it('drops a damaged final record like a torn one (documented: the two cannot be told apart)', async () => {
    const { dir, file, size, all } = await oneSegment(10);
    const b = fs.readFileSync(file);
    b[HEADER + 9 * size + FRAME + 20] ^= 1;
    fs.writeFileSync(file, b);
    const log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(all.slice(0, 9));
    await log.close();
  });
});

describe('FileChangelog sealed segments and their chain', () => {
  /** A closed log of 120 records over several sealed segments and an unsealed last one. */
  async function manySegments(): Promise<{ dir: string; files: string[]; all: ChangeRecord[] }> {
    const dir = tmpDir();
    const log = await FileChangelog.open(dir, { segmentBytes: 600 });
    const all = Array.from({ length: 120 }, (_, i) => rec(0, 3 * i + 2, `k${i % 13}`, i % 10 === 9 ? null : `v${i}`.padEnd(20, '.')));
    log.append(all);
    await log.close();
    const files = segments(dir, 0);
    expect(files.length).toBeGreaterThan(5);
    return { dir, files, all };
  }

  /** Opens the log and reads it whole, then restores a store from it: the first error. */
  async function openAndRead(dir: string): Promise<StrataError | null> {
    try {
      const log = await FileChangelog.open(dir, { segmentBytes: 600 });
      try {
        [...log.read(0)];
        const store = await Store.open();
        try { await store.restore(log.read(0)); } finally { await store.close(); }
      } finally {
        await log.close();
      }
    } catch (err) {
      if (err instanceof StrataError) return err;
      throw err;
    }
    return null;
  }

  it('a sealed segment cut at a record boundary is CORRUPTION naming it and the cut, at open and in a read already under way', async () => {
    const { dir, files, all } = await manySegments();
    const victim = files[2];
    const pristine = fs.readFileSync(victim);
    let cut = HEADER; // the start of the last record: drop it and the end record
    for (let o = HEADER; o < pristine.length - END; o += FRAME + pristine.readUInt32LE(o)) cut = o;
    const log = await FileChangelog.open(dir, { segmentBytes: 600 }); // opened before the damage
    fs.writeFileSync(victim, pristine.subarray(0, cut));
    // The open log: a read reports it when it gets there, the raw path (restore) too.
    const readErr = await errorOf(() => [...log.read(0)]);
    expect([readErr.code, readErr.message.includes(`${victim} at byte offset ${cut}`)]).toEqual(['CORRUPTION', true]);
    const store = await Store.open();
    const restoreErr = await errorOf(() => store.restore(log.read(0)));
    expect([restoreErr.code, restoreErr.message.includes(victim)]).toEqual(['CORRUPTION', true]);
    await store.close();
    // Records before the damage still read, up to it.
    const it = log.read(0)[Symbol.iterator]();
    expect(plain(it.next().value!)).toEqual(all[0]);
    it.return!();
    await log.close();
    // A new open checks the chain before any read.
    const err = await errorOf(() => new FileChangelog(dir));
    expect(err.code).toBe('CORRUPTION');
    expect(err.message).toContain(`${victim} at byte offset ${cut}`);
    fs.writeFileSync(victim, pristine);
    expect(await openAndRead(dir)).toBeNull();
  });

  it('a lost middle or first segment is CORRUPTION naming the segment after the gap', async () => {
    const { dir, files } = await manySegments();
    for (const [i, what] of [[3, 'between them is missing'], [0, 'earlier segments are missing']] as const) {
      const bytes = fs.readFileSync(files[i]);
      fs.unlinkSync(files[i]);
      const err = await openAndRead(dir);
      expect(err?.code).toBe('CORRUPTION');
      expect(err?.message).toContain(`${files[i + 1]} at byte offset 32`);
      expect(err?.message).toContain(what);
      if (i > 0) expect(err?.message).toContain(files[i - 1]);
      fs.writeFileSync(files[i], bytes);
      expect(await openAndRead(dir)).toBeNull();
    }
  });

  it('a segment replaced by a shorter whole one while the log is open breaks the chain for a read walking through it', async () => {
    const { dir, files, all } = await manySegments();
    const log = await FileChangelog.open(dir, { segmentBytes: 600 });
    // Segment 3 keeps its header and first record and gets a valid end record for them: every
    // file checks out on its own, but the rest of segment 3's records are gone.
    const b = fs.readFileSync(files[3]);
    const [first, second] = recordStarts(b);
    const firstSeq = b.readUInt32LE(first + FRAME + 4);
    fs.writeFileSync(files[3], Buffer.concat([b.subarray(0, second), endRecordModel(0, firstSeq, firstSeq, [b.readUInt32LE(first + 8)])]));
    const err = await errorOf(() => [...log.read(0)]);
    expect(err.code).toBe('CORRUPTION');
    expect(err.message).toContain(`${files[4]} at byte offset 32`);
    expect(err.message).toContain(`${files[3]}, ends at seq ${firstSeq}`);
    expect(readAll(log, 0, all.at(-1)!.seq)).toEqual([all.at(-1)]); // reads that start after it still work
    await log.close();
    expect((await openAndRead(dir))?.message).toContain(`${files[4]} at byte offset 32`);
  });

  it('a flipped byte anywhere in a sealed segment (header, record, end record) is CORRUPTION naming it', async () => {
    const { dir, files } = await manySegments();
    const pristine = files.map((f) => fs.readFileSync(f));
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: files.length - 2 }), fc.nat(), fc.integer({ min: 1, max: 255 }),
      async (i, at, xor) => {
        const damaged = Buffer.from(pristine[i]);
        const offset = at % damaged.length;
        damaged[offset] ^= xor;
        fs.writeFileSync(files[i], damaged);
        try {
          const err = await openAndRead(dir);
          expect(err?.code, `byte ${offset} of segment ${i}`).toBe('CORRUPTION');
          expect(err?.message).toContain(files[i]);
        } finally {
          fs.writeFileSync(files[i], pristine[i]);
        }
      }), { numRuns: 60 });
    // Each region once, explicitly: header, a record, the end record.
    for (const offset of [13, HEADER + 20, pristine[1].length - 10]) {
      const damaged = Buffer.from(pristine[1]);
      damaged[offset] ^= 1;
      fs.writeFileSync(files[1], damaged);
      expect((await openAndRead(dir))?.message).toContain(files[1]);
      fs.writeFileSync(files[1], pristine[1]);
    }
    expect(await openAndRead(dir)).toBeNull();
  });

  it('a sealed segment cut anywhere is CORRUPTION naming it (property over segment and cut)', async () => {
    const { dir, files } = await manySegments();
    const pristine = files.map((f) => fs.readFileSync(f));
    // Half the cuts at a record boundary (the end record and whole records lost: no damaged
    // record to see), half anywhere.
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: files.length - 2 }), fc.nat(), fc.boolean(), async (i, at, boundary) => {
      const starts = recordStarts(pristine[i]);
      const cut = boundary ? [...starts, pristine[i].length - END][at % (starts.length + 1)] : at % pristine[i].length;
      fs.writeFileSync(files[i], pristine[i].subarray(0, cut));
      try {
        const err = await openAndRead(dir);
        expect(err?.code, `segment ${i} cut at ${cut}`).toBe('CORRUPTION');
        expect(err?.message).toContain(files[i]);
      } finally {
        fs.writeFileSync(files[i], pristine[i]);
      }
    }), { numRuns: 60 });
  });

  it('the last segment: a cut mid-record is a torn write; a cut end record unseals it; a compacted one is never torn', async () => {
    const { dir, files, all } = await manySegments();
    const last = files.at(-1)!;
    const lastPristine = fs.readFileSync(last);
    // A torn final record of the unsealed last segment: dropped, as documented.
    fs.writeFileSync(last, lastPristine.subarray(0, lastPristine.length - 3));
    let log = await FileChangelog.open(dir, { segmentBytes: 600 });
    expect(readAll(log, 0)).toEqual(all.slice(0, -1));
    await log.close();
    fs.writeFileSync(last, lastPristine);
    // A sealed last segment (a crash after the seal, before its successor was durable) whose
    // end record is torn: a crash while sealing; the segment is appended to again.
    fs.unlinkSync(last);
    const sealed = files.at(-2)!;
    const sealedBytes = fs.readFileSync(sealed);
    const kept = all.filter((r) => r.seq < Number(path.basename(last, '.log')));
    for (const cut of [1, 20, END - 1]) {
      fs.writeFileSync(sealed, sealedBytes.subarray(0, sealedBytes.length - cut));
      log = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
      expect(readAll(log, 0)).toEqual(kept);
      log.append([rec(0, 1000, 'after', 'crash')]);
      await log.close();
      expect(segments(dir, 0).at(-1)).toBe(sealed); // appended to it, no new segment
      log = await FileChangelog.open(dir, { segmentBytes: 1 << 20 });
      expect(readAll(log, 0)).toEqual([...kept, rec(0, 1000, 'after', 'crash')]);
      await log.close();
    }
    // A compaction's output is written whole, end record included: any cut is CORRUPTION.
    log = await FileChangelog.open(dir);
    await log.compact();
    await log.close();
    const [compacted] = segments(dir, 0);
    const c = fs.readFileSync(compacted);
    for (const cut of [1, END, END + frameBytes(5, 5)]) {
      fs.writeFileSync(compacted, c.subarray(0, c.length - cut));
      const err = await openAndRead(dir);
      expect([err?.code, err?.message.includes(compacted)]).toEqual(['CORRUPTION', true]);
    }
    fs.writeFileSync(compacted, c);
    expect(await openAndRead(dir)).toBeNull();
  });

  it('a read under way sees the records appended to its segment before the writer sealed it', async () => {
    const log = await FileChangelog.open(tmpDir(), { segmentBytes: 4096 });
    const all = Array.from({ length: 200 }, (_, i) => rec(0, i + 1, `k${i}`, 'v'.repeat(30)));
    log.append(all.slice(0, 5));
    const it = log.read(0)[Symbol.iterator]();
    const seen = [plain(it.next().value!)]; // the reader has read its segment to its end
    log.append(all.slice(5)); // fills the segment, seals it, goes on in new ones
    await log.flush();
    for (let r = it.next(); !r.done; r = it.next()) seen.push(plain(r.value));
    expect(seen).toEqual(all);
    await log.close();
  });

  it('reads version 1 segments (no end record), then continues in version 2', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'p-0'));
    // A version 1 segment written by hand per docs/CHANGELOG-FORMAT.md: 36-byte header.
    const v1 = [rec(0, 3, 'a', '1'), rec(0, 4, 'b', null), rec(0, 8, 'a', '2')];
    const parts: Buffer[] = [];
    const h = Buffer.alloc(36);
    h.write('STRATACL', 0, 'latin1');
    h[8] = 1;
    h.writeUInt32LE(3, 16);
    h.writeUInt32LE(3, 24);
    h.writeUInt32LE(crc32cModel(h.subarray(0, 32)), 32);
    parts.push(h);
    for (const r of v1) {
      const value = r.value ?? new Uint8Array(0);
      const payload = Buffer.alloc(FIXED + r.key.length + value.length);
      payload.writeUInt32LE(r.seq, 4);
      payload[12] = r.value === null ? 1 : 0;
      payload.writeUInt32LE(r.key.length, 13);
      payload.set(r.key, FIXED);
      payload.set(value, FIXED + r.key.length);
      const frame = Buffer.alloc(FRAME);
      frame.writeUInt32LE(payload.length, 0);
      frame.writeUInt32LE((payload.length ^ 0xffffffff) >>> 0, 4);
      frame.writeUInt32LE(crc32cModel(payload), 8);
      parts.push(frame, payload);
    }
    const v1File = path.join(dir, 'p-0', '0000000000000003.log');
    fs.writeFileSync(v1File, Buffer.concat(parts));
    let log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual(v1);
    expect(log.lastSeq(0)).toBe(8);
    log.append([rec(0, 9, 'c', '3')]);
    await log.close();
    expect(fs.readFileSync(v1File).equals(Buffer.concat(parts))).toBe(true); // never written to
    const files = segments(dir, 0);
    expect(files.map((f) => path.basename(f))).toEqual(['0000000000000003.log', '0000000000000009.log']);
    expect(fs.readFileSync(files[1])[8]).toBe(2);
    log = await FileChangelog.open(dir);
    expect(readAll(log, 0)).toEqual([...v1, rec(0, 9, 'c', '3')]);
    await log.compact();
    expect(fs.readFileSync(segments(dir, 0)[0])[8]).toBe(2); // compaction writes version 2
    expect(readAll(log, 0)).toEqual([v1[1], v1[2], rec(0, 9, 'c', '3')]);
    await log.close();
  });
});
