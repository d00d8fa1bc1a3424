// Run files written before XXH64 block checksums (format versions 1 and 2, CRC-32C) next to
// new ones (3 and 4, XXH64; docs/FORMAT.md, "Run file"): a store written by the old build
// (test/fixtures/crc-store/, made by test/fixtures/make-crc-store.mjs) opens and reads right,
// takes new writes in the new format beside its old files, `strata verify` passes it at
// every step, damage in an old file is still found, and a full compaction leaves only new
// files.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, StrataError, codecs } from 'strata-kv';
import { model, key } from './fixtures/crc-store-workload.mjs';

const fixture = fileURLToPath(new URL('./fixtures/crc-store/', import.meta.url));
const bin = fileURLToPath(new URL('../bin/strata.mjs', import.meta.url));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function copyOfFixture(): string {
  const d = mkdtempSync(join(tmpdir(), 'strata-upgrade-'));
  dirs.push(d);
  cpSync(fixture, d, { recursive: true });
  return d;
}

const strata = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const open = (path: string) => Store.open<string, unknown>({ path, keyCodec: codecs.utf8, valueCodec: codecs.json, blockBytes: 1024 });

/** Each run file's format version, by file name. */
function versions(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of readdirSync(dir).filter((f) => f.endsWith('.run')).sort()) {
    const b = readFileSync(join(dir, n));
    out[n] = b.readUInt16LE(b.length - 48 + 40);
  }
  return out;
}

/** The store reads `expected` key by key and by a full scan. */
function expectContent(s: Store<string, unknown>, expected: Map<string, unknown>): void {
  for (const [k, v] of expected) expect(s.get(k), k).toEqual(v);
  expect([...s.all()]).toEqual([...expected].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function expectVerifies(dir: string): void {
  const out = strata('verify', dir);
  expect(out.stdout + out.stderr).toMatch(/verified: every run file and log checks out/);
  expect(out.status).toBe(0);
}

describe('a store written with CRC-32C block checksums', () => {
  it('opens and reads right, mixes in new files, verifies, and compacts into XXH64 files', async () => {
    const dir = copyOfFixture();
    expect(versions(dir)).toEqual({ '000002.run': 1, '000003.run': 1, '000004.run': 2 });
    expectVerifies(dir);
    const inspect = strata('inspect', dir);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout.match(/format [12] \(CRC-32C\)/g)).toHaveLength(3);

    const expected = model();
    const s = await open(dir);
    expectContent(s, expected);
    // New writes land in new files beside the old ones.
    for (let i = 0; i < 300; i++) { s.put(key(i * 4), { again: i }); expected.set(key(i * 4), { again: i }); }
    s.deleteRange(key(1000), key(1010));
    for (let i = 1000; i < 1010; i++) expected.delete(key(i));
    await s.flush();
    const mixed = Object.values(versions(dir));
    expect(mixed.filter((v) => v <= 2)).toHaveLength(3);
    expect(mixed.filter((v) => v >= 3)).toEqual([4]); // the new flush: XXH64, with its range-del block
    expectContent(s, expected);
    await s.close();
    expectVerifies(dir);

    // Reopened (file-backed, blocks read on demand through both checksums), then compacted
    // whole: every old file is rewritten in the new format.
    const r = await open(dir);
    expectContent(r, expected);
    await r.compact();
    expect(Object.values(versions(dir))).toEqual([3]);
    expectContent(r, expected);
    await r.close();
    expectVerifies(dir);
    expect(strata('inspect', dir).stdout).toMatch(/format 3 \(XXH64\)/);
    const again = await open(dir);
    expectContent(again, expected);
    await again.close();
  });

  it('a flipped byte in an old file is still CORRUPTION naming the file and offset', async () => {
    const dir = copyOfFixture();
    const file = join(dir, '000002.run');
    const bytes = readFileSync(file);
    bytes[3000] ^= 0x10; // inside a data block of 1 KiB blocks: the block at offset < 3000
    writeFileSync(file, bytes);
    const verify = strata('verify', dir);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toMatch(new RegExp(`${file.replace(/[/.]/g, '\\$&')} at offset \\d+: bad data block`));
    const s = await open(dir);
    let corrupt: StrataError | undefined;
    for (const k of model().keys()) {
      try { s.get(k); } catch (err) { corrupt = err as StrataError; break; }
    }
    expect(corrupt?.code).toBe('CORRUPTION');
    expect(corrupt?.message).toMatch(/000002\.run at offset \d+/);
    await s.close();
  });
});
