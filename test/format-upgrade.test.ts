// Run files of older format versions next to new ones (5 and 6: XXH64 checksums, data blocks
// with a hash index; docs/FORMAT.md, "Run file"): a store written by an old build opens and
// reads right, takes new writes in the new format beside its old files, `strata verify`
// passes it at every step, damage in an old file is still found, and a full compaction
// leaves only new files. Two old builds' stores (test/fixtures/make-crc-store.mjs):
// crc-store/, from before XXH64 block checksums (versions 1 and 2, CRC-32C), and xxh-store/,
// from before the hash index (versions 3 and 4).
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, StrataError, codecs } from 'strata-kv';
import { model, key } from './fixtures/crc-store-workload.mjs';

const bin = fileURLToPath(new URL('../bin/strata.mjs', import.meta.url));
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function copyOfFixture(name: string): string {
  const d = mkdtempSync(join(tmpdir(), 'strata-upgrade-'));
  dirs.push(d);
  cpSync(fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url)), d, { recursive: true });
  return d;
}

/** The old builds' stores: each one's files' versions, and its checksum's name. */
const FIXTURES = [
  { name: 'crc-store', versions: [1, 1, 2], checksum: 'CRC-32C', what: 'with CRC-32C block checksums' },
  { name: 'xxh-store', versions: [3, 3, 4], checksum: 'XXH64', what: 'with XXH64 block checksums and no hash index in its blocks' },
];

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

describe.each(FIXTURES)('a store written $what', (fixture) => {
  it('opens and reads right, mixes in new files, verifies, and compacts into version 5 files', async () => {
    const dir = copyOfFixture(fixture.name);
    const [v2, v3, v4] = fixture.versions;
    expect(versions(dir)).toEqual({ '000002.run': v2, '000003.run': v3, '000004.run': v4 });
    expectVerifies(dir);
    const inspect = strata('inspect', dir);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout.match(new RegExp(`format [${v2}${v4}] \\(${fixture.checksum}\\)`, 'g'))).toHaveLength(3);

    const expected = model();
    const s = await open(dir);
    expectContent(s, expected);
    // New writes land in new files beside the old ones.
    for (let i = 0; i < 300; i++) { s.put(key(i * 4), { again: i }); expected.set(key(i * 4), { again: i }); }
    s.deleteRange(key(1000), key(1010));
    for (let i = 1000; i < 1010; i++) expected.delete(key(i));
    await s.flush();
    const mixed = Object.values(versions(dir));
    expect(mixed.filter((v) => v <= 4)).toHaveLength(3);
    expect(mixed.filter((v) => v >= 5)).toEqual([6]); // the new flush: a hash index, a range-del block
    expectContent(s, expected);
    await s.close();
    expectVerifies(dir);

    // Reopened (file-backed, blocks read on demand through both checksums), then compacted
    // whole: every old file is rewritten in the new format.
    const r = await open(dir);
    expectContent(r, expected);
    await r.compact();
    expect(Object.values(versions(dir))).toEqual([5]);
    expectContent(r, expected);
    await r.close();
    expectVerifies(dir);
    expect(strata('inspect', dir).stdout).toMatch(/format 5 \(XXH64\)/);
    const again = await open(dir);
    expectContent(again, expected);
    await again.close();
  });

  it('a flipped byte in an old file is still CORRUPTION naming the file and offset', async () => {
    const dir = copyOfFixture(fixture.name);
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
