// Damage to a closed store's files: every key reads its right value or throws CORRUPTION,
// before and after a compaction, and a compaction that meets damage fails and keeps its
// inputs (issue #14, item 1).
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, cpSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Store, codecs, StrataError } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-damage-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const key = (i: number) => `key${String(i).padStart(6, '0')}`;
const value = (i: number) => `value-${i}-${'x'.repeat(i % 23)}`;
const openIn = (dir: string, background = true) => Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, blockBytes: 1024, background });
const open = (dir: string) => openIn(dir);

/** The keys the store was given and their values, in the order written. */
type Expected = Map<string, string>;
const firstKeys = (n: number): Expected => new Map(Array.from({ length: n }, (_, i) => [key(i), value(i)]));

/** Reads every expected key: how many read right, threw CORRUPTION, read undefined, read wrong. */
function readAll(s: Store<string, string>, expected: Expected) {
  const r = { right: 0, corrupt: 0, missing: 0, wrong: 0 };
  for (const [k, v] of expected) {
    try {
      const got = s.get(k);
      if (got === v) r.right++;
      else if (got === undefined) r.missing++;
      else r.wrong++;
    } catch (err) {
      if (err instanceof StrataError && err.code === 'CORRUPTION') r.corrupt++;
      else throw err;
    }
  }
  return r;
}

/** A closed store of `n` keys with byte 1500 of its oldest run file flipped (the case). */
async function damagedStore(n: number): Promise<{ dir: string; run: string }> {
  const dir = freshDir();
  const s = await open(dir);
  for (let i = 0; i < n; i++) s.put(key(i), value(i));
  await s.close();
  const run = readdirSync(dir).filter((f) => f.endsWith('.run')).sort()[0];
  const bytes = readFileSync(join(dir, run));
  bytes[1500] ^= 0x40;
  writeFileSync(join(dir, run), bytes);
  return { dir, run };
}

/** The error `fn` throws or rejects with ('none' when it does not). */
async function errorOf(fn: () => unknown): Promise<string> {
  try { await fn(); return 'none'; } catch (err) { return String(err); }
}

// Each case twice: compactions merged on the background worker (the default: the worker
// meets the damage, the store latches it at the job's install), and in slices here.
for (const background of [true, false]) describe(`a compaction ${background ? 'on the background worker' : 'in slices'} that meets a damaged run`, () => {
  const open = (dir: string) => openIn(dir, background);
  it('compact() rejects with CORRUPTION naming the file, and keeps its inputs: no key is lost', async () => {
    const { dir, run } = await damagedStore(3000);
    const s = await open(dir);
    const before = readAll(s, firstKeys(3000));
    expect(before.corrupt).toBeGreaterThan(0);
    expect(before).toEqual({ right: 3000 - before.corrupt, corrupt: before.corrupt, missing: 0, wrong: 0 });
    expect(await errorOf(() => s.compact())).toMatch(new RegExp(`^StrataError \\[CORRUPTION\\]: .*${run} at offset \\d+: bad data block`));
    expect(readAll(s, firstKeys(3000))).toEqual(before);
    await s.close().catch(() => {});
    const again = await open(dir);
    expect(readAll(again, firstKeys(3000))).toEqual(before);
    await again.close().catch(() => {});
  });

  it('automatic compactions over 20,000 more puts lose no key', async () => {
    const { dir } = await damagedStore(3000);
    const s = await open(dir);
    const acked = firstKeys(3000);
    // New keys between the old ones, so compactions must merge the damaged run's range.
    for (let i = 0; i < 20000; i++) {
      const k = `${key(i % 3000)}-${i}`;
      try { s.put(k, value(i)); } catch (err) {
        expect((err as StrataError).code).toBe('CORRUPTION'); // refused, so not acknowledged
        continue;
      }
      acked.set(k, value(i));
    }
    const check = (t: Store<string, string>) => {
      const r = readAll(t, acked);
      expect([r.missing, r.wrong, r.right + r.corrupt]).toEqual([0, 0, acked.size]);
    };
    check(s);
    await s.close().catch(() => {});
    const again = await open(dir);
    check(again);
    await again.close().catch(() => {});
  });

  it('an automatic compaction that meets damage latches a background error: writes, flush, checkpoint and compact refused, reads go on', async () => {
    const { dir, run } = await damagedStore(3000);
    const s = await open(dir);
    expect(s.stats().backgroundError).toBeUndefined();
    const acked = firstKeys(3000);
    let latchedBy: string | undefined;
    for (let i = 0; i < 20000 && !latchedBy; i++) {
      const k = `${key(i % 3000)}-${i}`;
      s.put(k, value(i)); // the write whose slice meets the damage is applied and returns
      acked.set(k, value(i));
      if (s.stats().backgroundError) latchedBy = k;
    }
    expect(latchedBy).toBeDefined();
    expect(s.get(latchedBy!)).toBe(acked.get(latchedBy!));
    const bg = s.stats().backgroundError!;
    expect(bg.code).toBe('CORRUPTION');
    expect(bg.message).toMatch(new RegExp(`${run} at offset \\d+: bad data block`));
    const seq = s.stats().sequence;
    const refused = new RegExp(`^StrataError \\[CORRUPTION\\]: .*refused: .*${run} at offset \\d+`);
    expect(await errorOf(() => s.put('refused', 'x'))).toMatch(refused);
    expect(await errorOf(() => s.putAll([['refused', 'x'], ['refused2', 'y']]))).toMatch(refused);
    expect(await errorOf(() => s.delete(key(1)))).toMatch(refused);
    expect(await errorOf(() => s.putIfVersion('refused', 'x', 0))).toMatch(refused);
    expect(await errorOf(() => s.flush())).toMatch(refused);
    expect(await errorOf(() => s.checkpoint())).toMatch(refused);
    expect(await errorOf(() => s.compact())).toMatch(refused);
    // Refused before anything changed; reads answer (a damaged block's keys throw).
    expect(s.stats().sequence).toBe(seq);
    expect(s.get('refused')).toBeUndefined();
    const r = readAll(s, acked);
    expect([r.missing, r.wrong, r.right + r.corrupt]).toEqual([0, 0, acked.size]);
    await s.close().catch(() => {});
    // Reopened: the latch is gone, every acknowledged write is there.
    const again = await open(dir);
    expect(again.stats().backgroundError).toBeUndefined();
    const r2 = readAll(again, acked);
    expect([r2.missing, r2.wrong, r2.right + r2.corrupt]).toEqual([0, 0, acked.size]);
    await again.close().catch(() => {});
  });

  it('a log replayed at open whose compaction meets the damage still opens, with every logged write', async () => {
    const { dir } = await damagedStore(3000);
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, blockBytes: 1024, autoCompaction: false, background });
    const acked = firstKeys(3000);
    for (let i = 0; i < 1400; i++) { s.put(`${key(i * 2)}-${i}`, value(i)); acked.set(`${key(i * 2)}-${i}`, value(i)); }
    // A crash: the log's buffer is written, nothing else; the copy is what it leaves.
    (s as unknown as { disk: { wal: { flush(): void } } }).disk.wal.flush();
    const crash = freshDir();
    for (const n of readdirSync(dir)) if (n !== 'LOCK') writeFileSync(join(crash, n), readFileSync(join(dir, n)));
    await s.close();
    // Replay flushes the memtable, level 0 is over its trigger, and the replayed writes would
    // step a compaction through the damaged run: they must all be applied all the same.
    // (A smaller memtable now, so the replayed writes fill several.)
    const t = await Store.open<string, string>({ path: crash, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 2048, blockBytes: 1024, level0CompactionTrigger: 1, background });
    const r = readAll(t, acked);
    expect([r.missing, r.wrong, r.right + r.corrupt]).toEqual([0, 0, acked.size]);
    await t.close().catch(() => {});
  });

  it('a scan over the damaged block throws CORRUPTION rather than ending early', async () => {
    const { dir, run } = await damagedStore(3000);
    const s = await open(dir);
    for (const reverse of [false, true]) {
      expect(await errorOf(() => [...s.all({ reverse })])).toMatch(new RegExp(`\\[CORRUPTION\\]: .*${run} at offset \\d+`));
      expect(await errorOf(() => [...s.range(key(0), key(3000), { reverse })])).toMatch(new RegExp(`\\[CORRUPTION\\]: .*${run} at offset \\d+`));
    }
    await s.close();
  });
});

describe('an in-memory store', () => {
  it('compact() at the memory cap keeps every run and value, and is not latched', async () => {
    // Writes leave an in-memory store room for compact() (docs/LSM.md, "Memory cap"), so at
    // the cap it must succeed; were it refused, it must have changed nothing.
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, maxMemoryBytes: 2 << 20, autoCompaction: false });
    const expected: Expected = new Map();
    for (let i = 0; ; i++) {
      const k = key(i), v = value(i).repeat(8);
      try { s.put(k, v); } catch (err) { expect((err as StrataError).code).toBe('OUT_OF_MEMORY'); break; }
      expected.set(k, v);
    }
    await s.flush();
    const runs = s.stats().runs;
    const err = await errorOf(() => s.compact());
    if (err !== 'none') {
      expect(err).toMatch(/^StrataError: OUT_OF_MEMORY/);
      expect(s.stats().runs).toBe(runs);
    }
    expect(err).toBe('none');
    expect(s.stats().backgroundError).toBeUndefined(); // memory is never latched
    expect(readAll(s, expected)).toEqual({ right: expected.size, corrupt: 0, missing: 0, wrong: 0 });
    expect([...s.all()].length).toBe(expected.size);
    s.delete(key(0)); // deletes go on
    await s.close();
  });
});

// ---- the damage test --------------------------------------------------------------------
// For each file kind of a `path` store and each class of damage, on a copy of one closed
// (crashed, for the log) store: open (CORRUPTION naming the file is an acceptable outcome),
// read every key and scan, compact, reopen and read again. Every key must read its value
// (undefined for a deleted one) or throw CORRUPTION: never a wrong value, never a silent
// undefined for an acknowledged write. The only writes that may go are those a cut of the
// log removes whole: a log's tail cut off (mid-record: a torn append; at a record boundary:
// indistinguishable from appends that never happened, docs/FORMAT.md). And `strata verify`
// names the damaged file with exit status 1, except where FORMAT.md says damage cannot be
// told from a crash (the newest log cut short, its last record garbled).

const bin = fileURLToPath(new URL('../bin/strata.mjs', import.meta.url));
const verify = (dir: string) => spawnSync(process.execPath, [bin, 'verify', dir], { encoding: 'utf8' });

interface Base {
  dir: string;
  /** Every acknowledged write's key → the value it must read (undefined: deleted). */
  expected: Map<string, string | undefined>;
  /** The keys written only to the log, in log order, one record each. */
  logKeys: string[];
  runs: string[];
  wal: string;
}

/** Runs over two levels with overwrites and tombstones, then 200 synced puts that are only
 *  in the log when the process "crashes" (the directory is copied with the store open). */
async function makeBase(): Promise<Base> {
  const dir = freshDir();
  const expected = new Map<string, string | undefined>();
  const s = await open(dir);
  for (let i = 0; i < 3000; i++) { s.put(key(i), value(i)); expected.set(key(i), value(i)); }
  for (let i = 0; i < 3000; i += 7) { s.put(key(i), `new-${i}`); expected.set(key(i), `new-${i}`); }
  for (let i = 3; i < 3000; i += 11) { s.delete(key(i)); expected.set(key(i), undefined); }
  await s.close();
  const t = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 32 << 10, blockBytes: 1024, sync: true });
  const logKeys: string[] = [];
  for (let i = 0; i < 200; i++) {
    const k = `${key(i * 13)}-log`;
    t.put(k, `log-${i}`);
    expected.set(k, `log-${i}`);
    logKeys.push(k);
  }
  const crash = freshDir();
  for (const n of readdirSync(dir)) if (n !== 'LOCK') cpSync(join(dir, n), join(crash, n));
  await t.close();
  const names = readdirSync(crash);
  const wals = names.filter((n) => n.endsWith('.wal'));
  expect(wals.length).toBe(1);
  return { dir: crash, expected, logKeys, runs: names.filter((n) => n.endsWith('.run')).sort(), wal: wals[0] };
}

/** What one case did to the directory, and what it may legitimately lose. */
interface Damage {
  file: string;
  /** Log keys from this index on may be gone (undefined), nothing else. */
  logLossFrom: number;
  /** `strata verify` cannot tell this from a crash's leftovers: exit 0 allowed. */
  looksLikeCrash: boolean;
}

const RUN_CLASSES = ['first block', 'middle block', 'index', 'bloom', 'footer', 'truncation', 'missing'] as const;
const LOG_CLASSES = ['flip in the middle', 'torn tail', 'flip at a record boundary', 'cut at a record boundary', 'truncation', 'missing'] as const;
const MANIFEST_CLASSES = ['flip', 'truncation', 'missing'] as const;

const flip = (file: string, at: number) => { const b = readFileSync(file); b[at] ^= 0x20; writeFileSync(file, b); };

/** Byte ranges of a run file (docs/FORMAT.md): blocks, index, bloom, footer. */
function runLayout(b: Buffer) {
  const f = b.length - 48;
  const indexOffset = Number(b.readBigUInt64LE(f)), indexLength = b.readUInt32LE(f + 8);
  const bloomOffset = Number(b.readBigUInt64LE(f + 12)), bloomLength = b.readUInt32LE(f + 20);
  const blocks: [number, number][] = [];
  for (let p = indexOffset, i = 0, n = b.readUInt32LE(indexOffset + indexLength - 8); i < n; i++) {
    blocks.push([Number(b.readBigUInt64LE(p)), b.readUInt32LE(p + 8)]);
    p += 24 + b.readUInt32LE(p + 20);
  }
  return { blocks, index: [indexOffset, indexLength], bloom: [bloomOffset, bloomLength], footer: [f, 48] };
}

/** Record boundaries of a log: [start, end) of each record. */
function logRecords(b: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let off = 0; off + 12 <= b.length; off += 12 + b.readUInt32LE(off + 4)) out.push([off, off + 12 + b.readUInt32LE(off + 4)]);
  return out;
}

/** Applies damage of `cls` to a file of `kind`; `pick` (any natural number) chooses the run,
 *  record and offset. */
function damage(base: Base, dir: string, kind: 'run' | 'log' | 'manifest', cls: string, pick: number[]): Damage {
  const none = base.logKeys.length;
  const at = (i: number, [start, len]: number[]) => start + (pick[i] % len);
  if (kind === 'run') {
    const name = base.runs[pick[0] % base.runs.length];
    const file = join(dir, name);
    const b = readFileSync(file);
    const l = runLayout(b);
    const d = { file: name, logLossFrom: none, looksLikeCrash: false };
    switch (cls) {
      case 'first block': flip(file, at(1, l.blocks[0])); break;
      case 'middle block': flip(file, at(2, l.blocks[Math.floor(l.blocks.length / 2)])); break;
      case 'index': flip(file, at(1, l.index)); break;
      case 'bloom': flip(file, at(1, l.bloom)); break;
      case 'footer': flip(file, at(1, l.footer)); break;
      case 'truncation': truncateSync(file, pick[1] % b.length); break;
      case 'missing': rmSync(file); break;
    }
    return d;
  }
  if (kind === 'manifest') {
    const file = join(dir, 'MANIFEST');
    const size = readFileSync(file).length;
    if (cls === 'flip') flip(file, pick[1] % size);
    else if (cls === 'truncation') truncateSync(file, pick[1] % size);
    else rmSync(file);
    return { file: 'MANIFEST', logLossFrom: none, looksLikeCrash: false };
  }
  const file = join(dir, base.wal);
  const b = readFileSync(file);
  const recs = logRecords(b);
  expect(recs.length).toBe(none); // one record per put
  const last = recs.length - 1;
  switch (cls) {
    case 'flip in the middle': { // any record but the last
      const r = recs[pick[1] % last];
      flip(file, at(2, [r[0], r[1] - r[0]]));
      return { file: base.wal, logLossFrom: none, looksLikeCrash: false };
    }
    case 'torn tail': { // cut inside the last record: only it may go
      truncateSync(file, recs[last][0] + 1 + (pick[1] % (recs[last][1] - recs[last][0] - 1)));
      return { file: base.wal, logLossFrom: last, looksLikeCrash: true };
    }
    case 'flip at a record boundary': { // the first byte of a record (its checksum)
      const r = pick[1] % recs.length;
      flip(file, recs[r][0]);
      return { file: base.wal, logLossFrom: r === last ? last : none, looksLikeCrash: r === last };
    }
    case 'cut at a record boundary': {
      const r = pick[1] % recs.length;
      truncateSync(file, recs[r][0]);
      return { file: base.wal, logLossFrom: r, looksLikeCrash: true };
    }
    case 'truncation': {
      const cut = pick[1] % b.length;
      truncateSync(file, cut);
      return { file: base.wal, logLossFrom: recs.findIndex(([, end]) => end > cut), looksLikeCrash: true };
    }
    default:
      rmSync(file);
      return { file: base.wal, logLossFrom: none, looksLikeCrash: false };
  }
}

/** Opens the damaged store: the store, or undefined after CORRUPTION naming the file. */
async function openDamaged(dir: string, d: Damage): Promise<Store<string, string> | undefined> {
  try {
    return await open(dir);
  } catch (err) {
    expect((err as StrataError).code, String(err)).toBe('CORRUPTION');
    expect(String(err)).toContain(d.file);
    return undefined;
  }
}

/** Every key reads its value or throws CORRUPTION; only log keys from d.logLossFrom on may
 *  read undefined. A scan that completes yields exactly what the gets would. */
function checkReads(s: Store<string, string>, base: Base, d: Damage, when: string): void {
  const lost = new Set(base.logKeys.slice(d.logLossFrom));
  const visible = new Map<string, string>();
  for (const [k, v] of base.expected) {
    let got: string | undefined;
    try { got = s.get(k); } catch (err) {
      expect((err as StrataError).code, `${when}: get ${k}: ${err}`).toBe('CORRUPTION');
      continue;
    }
    if (lost.has(k) && got === undefined) continue;
    expect(got, `${when}: get ${k}`).toBe(v);
    if (v !== undefined) visible.set(k, v);
  }
  let scanned: Map<string, string>;
  try { scanned = new Map(s.all()); } catch (err) {
    expect((err as StrataError).code, `${when}: scan: ${err}`).toBe('CORRUPTION');
    return;
  }
  for (const [k, v] of visible) expect(scanned.get(k), `${when}: scan ${k}`).toBe(v);
  for (const [k, v] of scanned) expect(base.expected.get(k), `${when}: scan yields ${k}`).toBe(v);
}

async function runCase(base: Base, kind: 'run' | 'log' | 'manifest', cls: string, pick: number[]): Promise<void> {
  const dir = freshDir();
  cpSync(base.dir, dir, { recursive: true });
  const d = damage(base, dir, kind, cls, pick);
  const v = verify(dir);
  if (!d.looksLikeCrash) {
    expect(v.status, `verify of ${kind} ${cls}: ${v.stdout}${v.stderr}`).toBe(1);
    expect(v.stdout).toContain(d.file);
  } else {
    expect(v.status, v.stdout + v.stderr).toBeLessThan(2);
  }
  const s = await openDamaged(dir, d);
  if (!s) return;
  checkReads(s, base, d, 'after open');
  try { await s.compact(); } catch (err) {
    expect((err as StrataError).code, String(err)).toBe('CORRUPTION');
    expect(String(err)).toContain(d.file);
  }
  checkReads(s, base, d, 'after compact');
  await s.close();
  const again = await openDamaged(dir, d);
  if (!again) return;
  checkReads(again, base, d, 'after reopen');
  await again.close();
}

describe('damage to each file of a closed store', () => {
  let base: Base;
  beforeAll(async () => { base = await makeBase(); }, 30_000);

  // Counterexamples fast-check found before the fixes, kept as they were.
  it('run footer: a flipped entry count (not checksummed) is found by verify', () => runCase(base, 'run', 'footer', [0, 24, 0]));
  it('run footer: a flipped flags field (bits beyond the operand flag) is CORRUPTION at open', () => runCase(base, 'run', 'footer', [1, 42, 0]));
  it('log: a deleted log is CORRUPTION at open, never its writes silently gone', () => runCase(base, 'log', 'missing', [0, 0, 0]));

  const pick = fc.array(fc.nat(), { minLength: 3, maxLength: 3 });
  const classes: ['run' | 'log' | 'manifest', readonly string[]][] = [['run', RUN_CLASSES], ['log', LOG_CLASSES], ['manifest', MANIFEST_CLASSES]];
  for (const [kind, list] of classes) {
    for (const cls of list) {
      it(`${kind}: ${cls}`, async () => {
        const runs = cls === 'missing' ? 1 : 3;
        // Unseeded: each run damages other places; a failure prints its seed (kept as a case above).
        await fc.assert(fc.asyncProperty(pick, (p) => runCase(base, kind, cls, p)), { numRuns: runs, endOnFailure: true });
      }, 60_000);
    }
  }
});
