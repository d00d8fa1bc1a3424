// A Store with `path`: reopening gives back every acknowledged write with its version;
// damage to any file is CORRUPTION naming the file and offset, never a wrong answer; a torn
// log tail is dropped; a second open is LOCKED; and a writer opened with sync: true and
// killed with SIGKILL at random moments loses no acknowledged write and never shows half of
// one (the child is a real process; the kill is a real SIGKILL).
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, StrataError, codecs } from 'strata-kv';
import { applyBatches, batchFor } from './fixtures/crash-workload.mjs';
import { xxh64Low32 } from './support/xxhash64.js';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-durable-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const TINY = { memtableBytes: 4096, blockBytes: 512, level0CompactionTrigger: 2, levelBaseBytes: 16384 };
const open = (path: string, extra: object = {}) =>
  Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...TINY, ...extra });
const pad = (i: number) => `k${String(i).padStart(5, '0')}`;

async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try { await fn(); } catch (err) { if (err instanceof StrataError) return `${err.code}: ${err.message}`; throw err; }
  return 'no error';
}

/** Fills a store so that it has run files at several levels and a non-empty log. */
async function filled(dir: string): Promise<Map<string, [string, number]>> {
  const s = await open(dir);
  const expected = new Map<string, [string, number]>();
  for (let i = 0; i < 3000; i++) {
    const k = pad((i * 37) % 1000);
    if (i % 11 === 5) { s.delete(k); expected.delete(k); } else { s.put(k, `v${i}`); expected.set(k, [`v${i}`, i + 1]); }
  }
  await s.close();
  return expected;
}

describe('reopen', () => {
  it('gives back every key, value and version, and versions continue', async () => {
    const dir = freshDir();
    const expected = await filled(dir);
    const s = await open(dir);
    expect(s.stats().runs).toBeGreaterThan(1);
    for (const [k, [v, version]] of expected) expect(s.getVersioned(k)).toEqual({ value: v, version });
    expect([...s.all()].map(([k]) => k)).toEqual([...expected.keys()].sort());
    s.put('new', 'x');
    expect(s.getVersioned('new')!.version).toBe(3001);
    await s.close();
  });

  it('without sync, writes are durable once flush() resolves; close() flushes', async () => {
    const dir = freshDir();
    const s = await open(dir, { memtableBytes: 1 << 20 });
    s.putAll([['a', '1'], ['b', '2']]);
    await s.flush();
    s.put('c', '3');
    await s.close();
    const r = await open(dir);
    expect([...r.all()]).toEqual([['a', '1'], ['b', '2'], ['c', '3']]);
    await r.close();
  });

  it('a restore into an on-disk store survives reopen with its versions', async () => {
    const dir = freshDir();
    const s = await open(dir);
    const log = Array.from({ length: 500 }, (_, i) => ({ partition: 0, seq: 10 + 2 * i, key: new TextEncoder().encode(pad(i % 200)), value: i % 9 === 0 ? null : new TextEncoder().encode(`r${i}`) }));
    await s.restore(log);
    const before = [...s.all()].map(([k]) => [k, s.getVersioned(k)]);
    await s.close();
    const r = await open(dir);
    expect([...r.all()].map(([k]) => [k, r.getVersioned(k)])).toEqual(before);
    expect(r.stats().sequence).toBe(10 + 2 * 499);
    await r.close();
  });

  it('a second open of the same directory is LOCKED until the first closes', async () => {
    const dir = freshDir();
    const s = await open(dir);
    expect(await codeOf(() => open(dir))).toMatch(/^LOCKED/);
    await s.close();
    const again = await open(dir);
    await again.close();
  });
});

describe('format', () => {
  it('run files follow docs/FORMAT.md: footer magic, version 5, the low 32 bits of XXH64 on every block, each data block\'s hash index', async () => {
    const dir = freshDir();
    await filled(dir);
    expect(xxh64Low32(new Uint8Array(0))).toBe(0x51d8e999); // XXH64("") = 0xEF46DB3751D8E999
    const runs = readdirSync(dir).filter((n) => n.endsWith('.run'));
    expect(runs.length).toBeGreaterThan(0);
    for (const name of runs) {
      const b = readFileSync(join(dir, name));
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const f = b.length - 48;
      expect(v.getUint32(f + 44, true)).toBe(0x53524e31);
      expect(v.getUint16(f + 40, true)).toBe(5);
      const indexOffset = Number(v.getBigUint64(f, true));
      const indexLen = v.getUint32(f + 8, true);
      expect(v.getUint32(indexOffset + indexLen - 4, true)).toBe(xxh64Low32(b, indexOffset, indexOffset + indexLen - 4));
      const bloomOffset = Number(v.getBigUint64(f + 12, true));
      const bloomLen = v.getUint32(f + 20, true);
      expect(v.getUint32(bloomOffset + bloomLen - 4, true)).toBe(xxh64Low32(b, bloomOffset, bloomOffset + bloomLen - 4));
      const blocks = v.getUint32(indexOffset + indexLen - 8, true);
      let q = indexOffset;
      for (let i = 0; i < blocks; i++) {
        const off = Number(v.getBigUint64(q, true));
        const len = v.getUint32(q + 8, true);
        expect(v.getUint32(off + len - 4, true)).toBe(xxh64Low32(b, off, off + len - 4));
        // n's bit 31: a hash index of n + floor((n + 2) / 3) buckets, then their count (u16),
        // before the offsets; a bucket is an entry index, 254 (empty) or 255 (shared).
        const raw = v.getUint32(off + len - 8, true);
        const n = raw & 0x7fffffff;
        expect(raw >>> 31, `${name} block ${i}`).toBe(n <= 254 ? 1 : 0);
        if (n <= 254) {
          const offsets = off + len - 8 - 4 * n;
          const nb = n + Math.floor((n + 2) / 3);
          expect(v.getUint16(offsets - 2, true)).toBe(nb);
          const buckets = b.subarray(offsets - 2 - nb, offsets - 2);
          expect(buckets.every((x) => x < n || x === 254 || x === 255)).toBe(true);
          expect(buckets.some((x) => x < n)).toBe(true);
        }
        q += 24 + v.getUint32(q + 20, true);
      }
    }
  });
});

describe('run files in slices', () => {
  it('a flush writes its run file over the following calls; the manifest names it once it is durable', async () => {
    const dir = freshDir();
    // 64 KiB memtable: run files are written in 16 KiB slices, one per store call, on the
    // store's thread (without background work; background.test.ts has the file worker's).
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10, background: false });
    const runFiles = () => readdirSync(dir).filter((n) => n.endsWith('.run'));
    const listed = () => (JSON.parse(readFileSync(join(dir, 'MANIFEST'), 'utf8').split('\n')[1]).levels as number[][]).flat();
    let i = 0;
    const written: string[] = []; // key pad(j) holds written[j], at version j + 1
    const put = (v: string) => { s.put(pad(i++), v); written.push(v); };
    while (s.stats().counters.flushes === 0) put('v'.repeat(200) + i);
    // The call that flushed wrote nothing of the run: no file yet, the manifest without it.
    expect(runFiles()).toEqual([]);
    put('x');
    const [name] = runFiles();
    expect(name).toBeDefined();
    const partial = statSync(join(dir, name)).size;
    const id = Number(name.slice(0, 6));
    expect(listed()).not.toContain(id);
    let calls = 1;
    while (!listed().includes(id) && calls < 100) { put(`x${i}`); calls++; }
    expect(calls).toBeGreaterThan(2); // several slices
    expect(statSync(join(dir, name)).size).toBeGreaterThan(partial);
    expect(s.stats().fileBackedRuns).toBe(1);
    await s.close();
    const again = await open(dir);
    // Every write, read back from the run file written in slices (and the later runs).
    expect(again.stats().fileBackedRuns).toBeGreaterThan(0);
    for (let j = 0; j < i; j++) expect(again.getVersioned(pad(j)), pad(j)).toEqual({ value: written[j], version: j + 1 });
    expect([...again.all()].length).toBe(i);
    await again.close();
  });
});

describe('write-ahead logs under continuous writes', () => {
  // Run files written on this thread, or by the file worker: a log goes once a durable
  // manifest covers it, which the worker's lag delays by up to its bounds (2 memtables of
  // runs unwritten, 2 more in flight: file-tasks.ts), and its deletion is a task queued
  // behind those writes, so up to 8 memtables more may wait (14 seen on a loaded machine,
  // where 12 failed about one run in five): still a fraction of the 70 written.
  it.each([[false, 8], [true, 16]])('are retired and deleted as flushes (in slices) cover them, and reopen replays only what runs lack (background %s)', async (background, memtables) => {
    const dir = freshDir();
    const memtableBytes = 64 << 10;
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes, background });
    // A log the file worker deletes between the listing and its stat counts nothing.
    const logBytes = () => readdirSync(dir).filter((n) => n.endsWith('.wal')).reduce((sum, n) => sum + (statSync(join(dir, n), { throwIfNoEntry: false })?.size ?? 0), 0);
    let most = 0;
    const n = 20_000; // ~4.4 MB logged: about 70 memtables
    for (let i = 0; i < n; i++) {
      s.put(pad(i), `v${i}`.padEnd(200, '.'));
      if (i % 500 === 0) most = Math.max(most, logBytes());
    }
    // A log is retired after about a memtable of writes and deleted once a durable manifest
    // covers its last write: a few memtables' worth on disk at any time, not everything.
    expect(s.stats().counters.flushes).toBeGreaterThan(50);
    expect(most).toBeLessThan(memtables * memtableBytes);
    await s.close();
    const again = await open(dir);
    for (let i = 0; i < n; i += 37) expect(again.get(pad(i))).toBe(`v${i}`.padEnd(200, '.'));
    expect(again.stats().sequence).toBe(n);
    await again.close();
  });
});

describe('run files under large batches', () => {
  it('batches that each fill the memtable keep files, memory and the manifest moving', async () => {
    const dir = freshDir();
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 64 << 10 });
    const listed = () => (JSON.parse(readFileSync(join(dir, 'MANIFEST'), 'utf8').split('\n')[1]).levels as number[][]).flat();
    const manifests = new Set<string>();
    let maxFiles = 0, maxEngine = 0, n = 0;
    for (let b = 0; b < 150; b++) {
      const batch: [string, string][] = [];
      for (let j = 0; j < 100; j++, n++) batch.push([pad((n * 7919) % 20000) + '-' + n, 'v'.repeat(1000)]);
      s.putAll(batch); // ~100 KiB: more than the memtable each time
      manifests.add(listed().join(','));
      maxFiles = Math.max(maxFiles, readdirSync(dir).length);
      maxEngine = Math.max(maxEngine, s.stats().engineBytes);
    }
    // 15 MB written: the manifest moved on during the writes (not only at close), obsolete
    // files went as it did, and the runs left memory once written.
    expect(manifests.size).toBeGreaterThan(20);
    expect(maxFiles).toBeLessThan(200);
    expect(maxEngine).toBeLessThan(8 << 20);
    await s.close();
    const again = await open(dir);
    expect([...again.all()].length).toBe(n);
    await again.close();
  });
});

describe('damage', () => {
  it('a flipped byte in any run file is CORRUPTION naming the file and offset', async () => {
    const dir = freshDir();
    const expected = await filled(dir);
    const runs = readdirSync(dir).filter((n) => n.endsWith('.run'));
    expect(runs.length).toBeGreaterThan(1);
    for (const name of runs) {
      const file = join(dir, name);
      const original = readFileSync(file);
      for (const at of [0, Math.floor(original.length / 2), original.length - 30, original.length - 1]) {
        const damaged = Buffer.from(original);
        damaged[at] ^= 0x40;
        writeFileSync(file, damaged);
        // The footer, index, bloom and first block are checked at open; other data blocks
        // stay in the file and are checked when read: a scan and the gets must meet it.
        const scan = await codeOf(async () => {
          const s = await open(dir);
          try { [...s.all()]; } finally { await s.close(); }
        });
        expect(scan).toMatch(new RegExp(`^CORRUPTION: .*${name} at offset \\d+`));
        const gets = await codeOf(async () => {
          const s = await open(dir);
          try {
            // Never a wrong answer: every get returns the right value or throws.
            for (const [k, [v]] of expected) expect(s.get(k)).toBe(v);
          } finally { await s.close(); }
        });
        expect(gets).toMatch(new RegExp(`^(CORRUPTION: .*${name} at offset \\d+|no error)`));
      }
      writeFileSync(file, original);
    }
    const s = await open(dir); // repaired: opens again
    await s.close();
  });

  it('a damaged manifest or a missing run file is CORRUPTION, never an empty store', async () => {
    const dir = freshDir();
    await filled(dir);
    const manifest = join(dir, 'MANIFEST');
    const original = readFileSync(manifest);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 5] ^= 1;
    writeFileSync(manifest, damaged);
    expect(await codeOf(() => open(dir))).toMatch(/^CORRUPTION: .*MANIFEST at offset/);
    writeFileSync(manifest, original);
    const run = readdirSync(dir).find((n) => n.endsWith('.run'))!;
    const saved = readFileSync(join(dir, run));
    rmSync(join(dir, run));
    expect(await codeOf(() => open(dir))).toMatch(new RegExp(`^CORRUPTION: .*${run}: listed in the MANIFEST but missing`));
    writeFileSync(join(dir, run), saved);
    rmSync(manifest);
    expect(await codeOf(() => open(dir))).toMatch(/^CORRUPTION: .*but no MANIFEST/);
  });

  it('a torn log tail is dropped; a flipped byte inside the log is CORRUPTION', async () => {
    const dir = freshDir();
    const s = await open(dir, { memtableBytes: 1 << 20 });
    for (let i = 0; i < 100; i++) s.put(pad(i), `v${i}`);
    // Simulate a crash: the log is written (flush writes the buffer) but the memtable is not
    // turned into a run, so reopening must replay the log.
    const wal = readdirSync(dir).find((n) => n.endsWith('.wal'))!;
    (s as unknown as { disk: { wal: { flush(): void } } }).disk.wal.flush();
    const log = readFileSync(join(dir, wal));
    expect(log.length).toBeGreaterThan(1000);
    const copyDir = (bytes: Buffer) => {
      const d = freshDir();
      for (const n of readdirSync(dir)) if (n !== 'LOCK') writeFileSync(join(d, n), n === wal ? bytes : readFileSync(join(dir, n)));
      return d;
    };
    const whole = await open(copyDir(log));
    expect([...whole.all()].length).toBe(100);
    await whole.close();
    // Cut inside the last record: the last put is lost, the other 99 are there.
    const torn = await open(copyDir(log.subarray(0, log.length - 3)));
    expect([...torn.all()].length).toBe(99);
    expect(torn.has(pad(99))).toBe(false);
    await torn.close();
    const flipped = Buffer.from(log);
    flipped[40] ^= 0x10;
    expect(await codeOf(() => open(copyDir(flipped)))).toMatch(new RegExp(`^CORRUPTION: .*${wal} at offset 0`));
    await s.close();
  });
});

describe('crash safety', () => {
  const writer = fileURLToPath(new URL('./fixtures/sync-writer.mjs', import.meta.url));
  const iterations = Number(process.env.STRATA_CRASH_ITERATIONS ?? 20);

  /** What the writer was doing at its last acknowledged write: a flush or compaction half done. */
  const killedMid = { flush: 0, compaction: 0 };

  /** Starts the writer, kills it with SIGKILL after `delayMs` of writing; returns the last ack. */
  function runAndKill(dir: string, seed: number, start: number, delayMs: number, mode: Mode): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [writer, dir, String(seed), String(start), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      const started = setInterval(() => {
        if (out.startsWith('ready')) { clearInterval(started); setTimeout(() => child.kill('SIGKILL'), delayMs); }
      }, 5);
      child.on('exit', (code, signal) => {
        clearInterval(started);
        if (signal !== 'SIGKILL') { reject(new Error(`writer exited with ${code}: ${err}`)); return; }
        const acks = [...out.matchAll(/^ack (\d+) ([01]) ([01])$/gm)];
        const last = acks[acks.length - 1];
        if (last) { killedMid.flush += Number(last[2]); killedMid.compaction += Number(last[3]); }
        resolve(last ? Number(last[1]) : start - 1);
      });
    });
  }

  type Mode = 'slices' | 'background';
  // slices: flushes and compactions in slices on the writer's thread. background: compactions
  // on its worker thread, so kills land mid-merge in the worker, mid-write of a job's output
  // files, and between a job's end and its install (or inside it).
  it.each(['slices', 'background'] as Mode[])(`a sync writer (%s) killed ${iterations} times loses no acknowledged write and shows no partial one`, async (mode) => {
    killedMid.flush = 0;
    killedMid.compaction = 0;
    const dir = freshDir();
    const seed = 7;
    let applied = 0; // batches [0, applied) are in the store
    const state = new Map<string, string>();
    let kills = 0;
    for (let round = 0; round < iterations; round++) {
      const lastAck = await runAndKill(dir, seed, applied, 20 + ((round * 53) % 180), mode);
      kills++;
      const s = await open(dir);
      const got = new Map([...s.all()]);
      // Every acknowledged batch must be there; the batch in flight may be, whole or not at all.
      const merges = mode !== 'background'; // as the writer's workload (crash-workload.mjs)
      const acked = applyBatches(new Map(state), seed, applied, lastAck + 1, merges);
      const withNext = applyBatches(new Map(acked), seed, lastAck + 1, lastAck + 2, merges);
      const sameAs = (m: Map<string, string>) => got.size === m.size && [...m].every(([k, v]) => got.get(k) === v);
      // The sequence tells how many batches were applied (a batch in flight may leave the
      // state unchanged, e.g. deleting an absent key); the state must then match exactly.
      let ops = 0;
      for (let i = 0; i <= lastAck; i++) ops += batchFor(seed, i, merges).length;
      const seq = s.stats().sequence;
      if (seq === ops) { expect(sameAs(acked), `round ${round}: acknowledged batches missing`).toBe(true); applied = lastAck + 1; }
      else if (seq === ops + batchFor(seed, lastAck + 1, merges).length) { expect(sameAs(withNext), `round ${round}: in-flight batch half applied`).toBe(true); applied = lastAck + 2; }
      else throw new Error(`round ${round}: sequence ${seq} matches neither ${lastAck + 1} nor ${lastAck + 2} whole batches (${ops} ops acknowledged)`);
      state.clear();
      for (const [k, v] of (applied === lastAck + 1 ? acked : withNext)) state.set(k, v);
      await s.close();
    }
    expect(kills).toBe(iterations);
    expect(applied).toBeGreaterThan(iterations); // the writer got real work done between kills
    // Flushes and compactions run in slices across writes: some kills must have caught one
    // half done, or the property says nothing about them.
    expect(killedMid.flush, JSON.stringify(killedMid)).toBeGreaterThan(0);
    expect(killedMid.compaction, JSON.stringify(killedMid)).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });
});

