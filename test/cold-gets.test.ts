// Gets on a cold store (docs/PERFORMANCE.md, "Cold gets"): while the block cache has room, a
// point read's miss reads the window of blocks around its block with one host read
// (run.ts acquireWindow), and the first such read grows linear memory once for the whole
// cache (block-cache.ts reserveCacheRoom). Counted through the host's read hook
// (engine.files.readBlock, env.read_block) and the Wasm memory's size, not timed.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, statSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, codecs } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-cold-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const SMALL = { memtableBytes: 64 << 10, blockBytes: 1024, levelBaseBytes: 256 << 10, runTargetBytes: 128 << 10 };
const key = (i: number) => `k${String(i).padStart(7, '0')}`;
const value = (i: number, bytes = 200) => `value-${i}-`.padEnd(bytes, String.fromCharCode(97 + (i % 26)));
type S = Store<string, string>;
const open = (path: string, extra: object = {}) =>
  Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, ...SMALL, ...extra });

async function fill(path: string, n: number, bytes = 200, extra: object = {}): Promise<void> {
  const s = await open(path, extra);
  for (let i = 0; i < n; i += 500) s.putAll(Array.from({ length: Math.min(500, n - i) }, (_, j) => [key(i + j), value(i + j, bytes)] as [string, string]));
  await s.close();
}

interface Internals { engine: { files: { readBlock: (run: number, offset: number, len: number, dst: number) => number }; x: { memory: WebAssembly.Memory } } }
const internals = (s: S) => s as unknown as Internals;

/** Counts the host reads of run-file blocks (env.read_block) until `stop()`. */
function countReads(s: S) {
  const files = internals(s).engine.files;
  const real = files.readBlock.bind(files);
  const lens: number[] = [];
  files.readBlock = (run, offset, len, dst) => { lens.push(len); return real(run, offset, len, dst); };
  return { lens, stop: () => { files.readBlock = real; } };
}

/** 0 … n-1 in a fixed pseudo-random order. */
function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let x = 12345;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const runBytes = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.run')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

describe('cold gets', () => {
  it('read the run files a window of blocks per host read while the cache has room, each block once', async () => {
    const dir = freshDir();
    const n = 20_000;
    await fill(dir, n);
    const s = await open(dir); // the default cache: sized from the run files, far above them here
    const st = s.stats();
    expect(st.fileBackedRuns).toBe(st.runs);
    expect(st.blockCache.capacity).toBeGreaterThan(runBytes(dir));
    const reads = countReads(s);
    for (const i of shuffled(n)) expect(s.get(key(i))).toBe(value(i));
    reads.stop();
    const blocks = s.stats().blockCache.bytes / 1024; // about one block per KiB (blockBytes 1024)
    console.log(`cold gets: ${n} gets, ~${Math.round(blocks)} blocks cached, ${reads.lens.length} host reads of ${reads.lens.reduce((a, b) => a + b, 0)} bytes (run files ${runBytes(dir)} bytes)`);
    // A read per block would be thousands (one per miss): a window holds a hundred or more.
    expect(blocks).toBeGreaterThan(3000);
    expect(reads.lens.length).toBeLessThan(n / 50);
    // No block is read twice: the window skips cached blocks, and nothing was evicted.
    expect(reads.lens.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(runBytes(dir));
    await s.close();
  });

  it('a full cache reads only the block a get needs', async () => {
    const dir = freshDir();
    const n = 5000;
    await fill(dir, n);
    const s = await open(dir, { blockCacheBytes: 64 << 10 }); // less than a window
    const reads = countReads(s);
    const misses = s.stats().blockCache.misses;
    for (const i of shuffled(n)) expect(s.get(key(i))).toBe(value(i));
    reads.stop();
    expect(reads.lens.length).toBe(s.stats().blockCache.misses - misses);
    expect(Math.max(...reads.lens)).toBeLessThan(2 * 1024); // a block: 1 KiB and the entry that passed it
    await s.close();
  });

  it('a damaged block read with a window fails only the gets of its own keys', async () => {
    const dir = freshDir();
    const n = 5000;
    await fill(dir, n);
    // Flip a byte a third into the largest run file: a data block, not the first (which open
    // reads, to check the file) nor the index and bloom at its tail.
    const file = readdirSync(dir).filter((f) => f.endsWith('.run')).map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const fd = openSync(file, 'r+');
    const b = Buffer.alloc(1);
    const at = Math.floor(statSync(file).size / 3);
    readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    const s = await open(dir);
    const failed: number[] = [];
    // Keys in descending order: the windows are read by gets of undamaged blocks first.
    for (let i = n - 1; i >= 0; i--) {
      try {
        expect(s.get(key(i))).toBe(value(i));
      } catch (err) {
        expect(err).toBeInstanceOf(StrataError);
        expect((err as StrataError).code).toBe('CORRUPTION');
        expect((err as StrataError).message).toContain(file.slice(file.lastIndexOf('/') + 1));
        failed.push(i);
      }
    }
    // One block's keys: a 1 KiB block holds four or five 200-byte values.
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThanOrEqual(6);
    expect(failed[0] - failed[failed.length - 1]).toBe(failed.length - 1);
    await s.close();
  });

  it('the first get that fills the cache grows linear memory for all of it, and the gets after it grow it no more', async () => {
    const dir = freshDir();
    const n = 40_000;
    await fill(dir, n, 1000, { blockBytes: 4096 }); // ~40 MB of run files
    const s = await open(dir, { blockBytes: 4096 });
    const memory = internals(s).engine.x.memory;
    let size = memory.buffer.byteLength;
    const growths: number[] = [];
    for (const i of shuffled(n)) {
      expect(s.get(key(i))).toBe(value(i, 1000));
      if (memory.buffer.byteLength !== size) { size = memory.buffer.byteLength; growths.push(size); }
    }
    const st = s.stats();
    expect(st.blockCache.bytes).toBeGreaterThan(30 << 20);
    // Grown a block at a time, memory doubles several times while the gets fill the cache,
    // and in Node each growth of 64 MiB or more costs the host a full V8 GC.
    expect(growths).toHaveLength(1);
    expect(growths[0]).toBeGreaterThan(st.blockCache.bytes);
    await s.close();
  });
});
