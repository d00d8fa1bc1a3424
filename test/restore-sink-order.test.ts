// Regression (found reviewing #14): "a call that throws changed nothing ... (store, log, sinks, listeners, and
// after a reopen)" (docs/LSM.md). With the changelog as the log and two sinks, the restore
// source first, a refusal by the second sink leaves the write in the first one; the call
// throws, and the reopen restores the refused write from it.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StrataError, MemoryChangelog, codecs, type ChangelogSink } from 'strata-kv';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describe('two sinks, the changelog as the log', () => {
  it('a write refused by the second sink is not there after a reopen', async () => {
    const path = fs.mkdtempSync(join(tmpdir(), 'strata-review-sinks-')); dirs.push(path);
    const log = new MemoryChangelog();
    let refuse = false;
    const mirror: ChangelogSink = { append: () => { if (refuse) throw new StrataError('IO_ERROR', 'mirror down'); } };
    const s = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: [log, mirror] });
    s.put('a', '1');
    refuse = true;
    expect(() => s.put('b', '2')).toThrow(StrataError);
    expect(s.get('b')).toBeUndefined();
    await s.close().catch(() => {});
    const again = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: log });
    const b = again.get('b');
    await again.close();
    expect(b).toBeUndefined(); // before the fix: the refused write is restored from the first sink
  });
});
