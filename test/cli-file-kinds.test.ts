// `strata verify` on a directory where a file the manifest lists cannot be read as a file
// (here: a directory in its place): a problem naming that file, exit status 1, and the rest of
// the report still given, not an abort with Node's bare error (status 2, no file named).
import { describe, it, expect, afterAll, vi } from 'vitest';
import { mkdtempSync, rmSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, FileChangelog, codecs } from 'strata-kv';
import { main } from '../bindings/cli/cli.js';

const dirs: string[] = [];
const freshDir = () => { const d = mkdtempSync(join(tmpdir(), 'strata-cli-kinds-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function run(...args: string[]): Promise<{ status: number; out: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { out.push(a.join(' ')); });
  try {
    return { status: await main(args), out: out.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('strata verify: a listed file that is not a file', () => {
  it('a run file replaced by a directory is a problem naming it; the other runs are still reported', async () => {
    const dir = freshDir();
    const s = await Store.open<string, string>({ path: dir, keyCodec: codecs.utf8, valueCodec: codecs.utf8, memtableBytes: 4096, level0CompactionTrigger: 2 });
    for (let i = 0; i < 2000; i++) s.put(`key${String(i).padStart(5, '0')}`, 'v'.repeat(i % 40));
    await s.close();
    const runs = readdirSync(dir).filter((n) => n.endsWith('.run'));
    expect(runs.length).toBeGreaterThan(1);
    const victim = join(dir, runs[0]);
    rmSync(victim);
    mkdirSync(victim);
    for (const command of ['inspect', 'verify']) {
      const { status, out } = await run(command, dir, '--json');
      expect(status, out).toBe(1);
      const report = JSON.parse(out);
      expect(report.problems.join('\n')).toContain(victim);
      expect(report.runs.length).toBe(runs.length - 1);
    }
  });
});

describe('strata verify: a directory that holds no store', () => {
  it("a FileChangelog's directory, or any other, is refused (status 2) rather than 'verified'", async () => {
    const dir = freshDir();
    const log = await FileChangelog.open({ path: dir });
    const s = await Store.open({ changelog: log });
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    await s.close(); // closes the changelog too
    const other = freshDir();
    writeFileSync(join(other, 'notes.txt'), 'hello');
    for (const d of [dir, join(dir, readdirSync(dir)[0]), other, freshDir()]) {
      for (const command of ['inspect', 'verify']) {
        const { status, out } = await run(command, d);
        expect(status, `${command} ${d}: ${out}`).toBe(2);
        expect(out).toContain(`${d} holds no store`);
      }
    }
  });
});
