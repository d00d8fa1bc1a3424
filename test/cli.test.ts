// The `strata` command (bin/strata.mjs → bindings/cli/cli.ts) run as a real process against
// store directories: what it reports, its exit status on damage, and that it writes nothing.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, statSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, codecs } from 'strata-kv';
import { xxh64 } from './support/xxhash64.js';

const bin = fileURLToPath(new URL('../bin/strata.mjs', import.meta.url));
const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-cli-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const strata = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const snapshotOf = (dir: string) => readdirSync(dir).sort().map((n) => [n, statSync(join(dir, n)).size, statSync(join(dir, n)).mtimeMs]);

async function makeStore(): Promise<string> {
  const dir = freshDir();
  const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096, level0CompactionTrigger: 2 });
  for (let i = 0; i < 3000; i++) s.put(`key${String(i).padStart(5, '0')}`, 'v'.repeat(i % 40));
  for (let i = 0; i < 300; i++) s.delete(`key${String(i * 7).padStart(5, '0')}`);
  await s.close();
  return dir;
}

describe('strata inspect / verify', () => {
  it('describes a sound store and verifies it, writing nothing', async () => {
    const dir = await makeStore();
    const before = snapshotOf(dir);
    const inspect = strata('inspect', dir);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toMatch(/manifest: flushedSeq 3300/);
    expect(inspect.stdout).toMatch(/level \d+: \d+ run\(s\)/);
    expect(inspect.stdout).toMatch(/"key0\d{4}" … "key0\d{4}"/);
    const verify = strata('verify', dir);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/verified: every run file and log checks out/);
    const json = JSON.parse(strata('verify', dir, '--json').stdout);
    const entries = json.runs.reduce((n: number, r: { entries: number }) => n + r.entries, 0);
    expect(entries).toBeGreaterThanOrEqual(2700); // live keys, plus versions and tombstones not yet dropped
    expect(json.problems).toEqual([]);
    expect(snapshotOf(dir)).toEqual(before);
  });

  it('finds a flipped byte in a data block: exit status 1, naming the file and offset', async () => {
    const dir = await makeStore();
    const run = readdirSync(dir).find((n) => n.endsWith('.run'))!;
    const file = join(dir, run);
    const bytes = readFileSync(file);
    bytes[20] ^= 0x40; // inside data block 0
    writeFileSync(file, bytes);
    expect(strata('inspect', dir).status).toBe(0); // inspect reads structure only
    const verify = strata('verify', dir);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`${file} at offset 0: bad data block`);
  });

  it('inspect checks the footer of a run file as the engine does: magic, version, the index and bloom in place', async () => {
    const dir = await makeStore();
    const run = readdirSync(dir).find((n) => n.endsWith('.run'))!;
    const file = join(dir, run);
    const sound = readFileSync(file);
    const footerAt = sound.length - 48;
    // Each damage is one the engine refuses at open (docs/FORMAT.md, "Footer").
    const damages: [string, (v: DataView) => void][] = [
      ['magic', (v) => v.setUint32(footerAt + 44, 0x53524e32, true)],
      ['version', (v) => v.setUint16(footerAt + 40, 6, true)], // 6 says a range-del block, and there is none
      ['an unknown version', (v) => v.setUint16(footerAt + 40, 7, true)],
      ['an unknown flag', (v) => v.setUint16(footerAt + 42, 2, true)],
      ['a bloom that does not end at the footer', (v) => v.setUint32(footerAt + 20, v.getUint32(footerAt + 20, true) - 1, true)],
      ['an index that does not end at the bloom', (v) => v.setUint32(footerAt + 8, v.getUint32(footerAt + 8, true) + 1, true)],
    ];
    for (const [what, damage] of damages) {
      const bytes = Buffer.from(sound);
      damage(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      writeFileSync(file, bytes);
      const out = strata('inspect', dir);
      expect(out.status, what).toBe(1);
      expect(out.stdout, what).toContain(`${file} at offset ${footerAt}: bad footer`);
    }
    writeFileSync(file, sound);
    expect(strata('inspect', dir).status).toBe(0);
    // The operand flag is a known bit, so the footer alone passes; a run claiming operands
    // it does not hold fails the whole-file check.
    const flagged = Buffer.from(sound);
    flagged.writeUInt16LE(1, footerAt + 42);
    writeFileSync(file, flagged);
    expect(strata('verify', dir).status).toBe(1);
    // Version 3 predates the data blocks' hash index: a file saying 3 over blocks that carry
    // one passes the footer alone and fails the whole-file check at its first block.
    const older = Buffer.from(sound);
    expect(older.readUInt16LE(footerAt + 40)).toBe(5);
    older.writeUInt16LE(3, footerAt + 40);
    writeFileSync(file, older);
    const verify = strata('verify', dir);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`${file} at offset 0: bad data block`);
    writeFileSync(file, sound);
  });

  it('a hash index that is not the one its entries give, under a checksum that matches, fails the whole-file check', async () => {
    const dir = await makeStore();
    const run = readdirSync(dir).find((n) => n.endsWith('.run'))!;
    const file = join(dir, run);
    const bytes = Buffer.from(readFileSync(file));
    // The first data block: at 0, its length in the index block's first entry.
    const indexOffset = Number(bytes.readBigUInt64LE(bytes.length - 48));
    const len = bytes.readUInt32LE(indexOffset + 8);
    const raw = bytes.readUInt32LE(len - 8);
    expect(raw >>> 31).toBe(1); // it has a hash index
    const n = raw & 0x7fffffff;
    const buckets = n + Math.floor((n + 2) / 3);
    const first = len - 8 - 4 * n - 2 - buckets;
    // A bucket naming an entry moved to name another entry (still in bounds), or a marker
    // swapped: each a wrong answer for some key, not an out-of-bounds read.
    const at = [...bytes.subarray(first, first + buckets)].findIndex((b) => b < n);
    bytes[first + at] = (bytes[first + at] + 1) % n;
    bytes.writeUInt32LE(Number(xxh64(bytes, 0n, 0, len - 4) & 0xffffffffn), len - 4);
    writeFileSync(file, bytes);
    const verify = strata('verify', dir);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain(`${file} at offset 0: bad data block`);
    // A store reads such a block on demand, its checksum and bounds checked, not its index
    // rebuilt (docs/FORMAT.md): every lookup through it stays inside the block.
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    for (let i = 0; i < 3000; i += 3) s.get(`key${String(i).padStart(5, '0')}`);
    await s.close();
    // A bucket past the block's entries (and no marker) fails the bounds check every read of
    // the block makes: here already at open, which reads a run's first block (its smallest key).
    bytes[first + at] = n;
    bytes.writeUInt32LE(Number(xxh64(bytes, 0n, 0, len - 4) & 0xffffffffn), len - 4);
    writeFileSync(file, bytes);
    const err = await Store.open({ path: dir }).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(err?.code).toBe('CORRUPTION');
    expect(err?.message).toContain(`${run} at offset 0: bad data block`);
  });

  it('reports a torn log tail and files the manifest does not list', async () => {
    const dir = freshDir();
    const s = await Store.open({ path: dir, sync: true });
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    s.put(new Uint8Array([3]), new Uint8Array([4]));
    // Copy the directory as a crash would leave it, then tear the log's last record.
    const crash = freshDir();
    for (const n of readdirSync(dir)) writeFileSync(join(crash, n), readFileSync(join(dir, n)));
    await s.close();
    const wal = readdirSync(crash).find((n) => n.endsWith('.wal'))!;
    appendFileSync(join(crash, wal), new Uint8Array([9, 9, 9]));
    writeFileSync(join(crash, '999999.run'), new Uint8Array(10));
    const out = strata('verify', crash);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/2 records, seq 1 … 2, torn tail/);
    expect(out.stdout).toMatch(/not in the manifest.*999999\.run/);
  });

  it('refuses bad usage with status 2', () => {
    expect(strata().status).toBe(2);
    expect(strata('inspect').status).toBe(2);
    expect(strata('inspect', join(tmpdir(), 'no-such-strata-dir')).status).toBe(2);
  });
});
