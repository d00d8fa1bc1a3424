// A store whose changelog is its log, killed while its open restores the changelog's records
// after the directory's checkpoint (before the open's own checkpoint). Regression: the
// recovery at open wrote a MANIFEST marked `logged` (docs/FORMAT.md, MANIFEST) naming a
// write-ahead log such a store never writes, so every later open of the directory failed
// with CORRUPTION ("named by the MANIFEST but missing") until the open's checkpoint
// rewrote it; a crash or an I/O error in between left the directory unopenable.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, FileChangelog, codecs } from 'strata-kv';
import { copyCrashImage } from './support/crash-image.js';

const dirs: string[] = [];
const freshDir = () => { const d = fs.mkdtempSync(join(tmpdir(), 'strata-clopen-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
const utf8 = { keyCodec: codecs.utf8, valueCodec: codecs.utf8 };

describe('a crash while a store on its changelog opens', () => {
  it('the directory the interrupted open left reopens with the checkpoint and the changelog after it', async () => {
    const sdir = freshDir(), ldir = freshDir();
    const log = new FileChangelog(ldir, { sync: true });
    const s = await Store.open<string, string>({ path: sdir, changelog: log, ...utf8 });
    const want = new Map<string, string>();
    for (let i = 0; i < 50; i++) { s.put(`a${i}`, `v${i}`); want.set(`a${i}`, `v${i}`); }
    await s.checkpoint();
    // Records only the changelog holds: the next open restores them.
    for (let i = 0; i < 50; i++) { s.put(`b${i}`, `w${i}`); want.set(`b${i}`, `w${i}`); }
    await log.flush();
    const simage = freshDir(), limage = freshDir();
    copyCrashImage(sdir, simage);
    copyCrashImage(ldir, limage);
    await s.close();

    // Open the image; while it restores, take a crash image of the directory.
    const killedAt = freshDir();
    const log2 = new FileChangelog(limage);
    const t = await Store.open<string, string>({
      path: simage, changelog: log2, ...utf8,
      onRestoreProgress: () => copyCrashImage(simage, killedAt),
    });
    await t.close();
    expect(fs.readdirSync(killedAt)).toContain('MANIFEST');

    const log3 = new FileChangelog(limage);
    const r = await Store.open<string, string>({ path: killedAt, changelog: log3, ...utf8 }); // CORRUPTION before the fix
    try {
      expect(new Map(r.all())).toEqual(want);
    } finally {
      await r.close();
    }
  });
});
