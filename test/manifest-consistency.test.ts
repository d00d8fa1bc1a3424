// A MANIFEST whose checksum holds but whose run lists cannot be what a store wrote: a run
// listed twice, a run number past the u32 the engine keys runs by, more levels than the
// engine has. The checksum cannot tell (a bad writer computed it), so the manifest's reader
// must: open is CORRUPTION naming the MANIFEST, and `strata verify` reports it (status 1),
// rather than a store that opens and then fails its compactions with IO_ERROR, or reads
// another run file than the one listed.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, cpSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, codecs } from 'strata-kv';
import { encodeManifest, decodeManifest, type Manifest } from '../bindings/storage/manifest-format.js';
import { main } from '../bindings/cli/cli.js';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-manifest-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const open = (path: string) => Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
const runFile = (dir: string, id: number) => join(dir, `${String(id).padStart(6, '0')}.run`);

let base: string;
let sound: Manifest;
beforeAll(async () => {
  base = freshDir();
  const s = await Store.open<string, string>({ path: base, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096, level0CompactionTrigger: 2 });
  for (let i = 0; i < 3000; i++) s.put(`key${String(i).padStart(5, '0')}`, 'v'.repeat(i % 40));
  await s.close();
  sound = decodeManifest(readFileSync(join(base, 'MANIFEST'), 'utf8'), 'MANIFEST');
});

/** A copy of the base store whose manifest `edit` changed, its checksum recomputed. */
function crafted(edit: (m: Manifest, dir: string) => void): string {
  const dir = freshDir();
  cpSync(base, dir, { recursive: true });
  const m = structuredClone(sound);
  edit(m, dir);
  writeFileSync(join(dir, 'MANIFEST'), encodeManifest(m));
  return dir;
}

async function verify(dir: string): Promise<{ status: number; out: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { out.push(a.join(' ')); });
  try {
    return { status: await main(['verify', dir]), out: out.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

async function expectRefused(dir: string, why: RegExp): Promise<void> {
  const err = await open(dir).then(async (s) => { await s.close(); return undefined; }, (e: unknown) => e as { code: string; message: string });
  expect(err?.code, String(err?.message)).toBe('CORRUPTION');
  expect(err?.message).toContain(join(dir, 'MANIFEST'));
  expect(err?.message).toMatch(why);
  const v = await verify(dir);
  expect(v.status, v.out).toBe(1);
  expect(v.out).toMatch(why);
}

describe('a MANIFEST with a sound checksum over impossible run lists', () => {
  it('the base store, its manifest rewritten as it was, opens and verifies', async () => {
    expect(sound.levels.flat().length).toBeGreaterThan(3);
    const dir = crafted(() => {}); // the checksum recomputed over the same JSON
    expect((await verify(dir)).status).toBe(0);
    const s = await open(dir);
    expect([...s.all()].length).toBe(3000);
    await s.close();
  });

  it('a run listed in two levels', async () => {
    const deepest = sound.levels.reduce((d, l, i) => (l.length > 0 ? i : d), 0);
    const dir = crafted((m) => { m.levels[0] = [...m.levels[0], m.levels[deepest][0]]; });
    await expectRefused(dir, /run \d+ listed twice/);
  });

  it('a run listed twice in one level', async () => {
    const dir = crafted((m) => { m.levels[0] = [m.levels[0][0], ...m.levels[0]]; });
    await expectRefused(dir, /run \d+ listed twice/);
  });

  it('a run number past 2^32 - 1', async () => {
    const id = sound.levels[0][0];
    const dir = crafted((m, d) => {
      copyFileSync(runFile(d, id), runFile(d, 2 ** 32 + id));
      m.levels[0] = [2 ** 32 + id, ...m.levels[0].slice(1)];
    });
    await expectRefused(dir, /run number 4294967\d+ out of range/);
  });

  it('more levels than the engine has', async () => {
    const dir = crafted((m) => {
      const id = m.levels[0].shift()!;
      m.levels = [...m.levels, [], [], [], [], [id]];
    });
    await expectRefused(dir, /12 levels/);
  });
});
