// The block cache's default capacity (bindings/storage/cache-size.ts, docs/API.md
// blockCacheBytes): sized from the store's run files between 64 MiB and an eighth of the
// machine, kept in step as data is written and compacted away, and at reopen; a given
// blockCacheBytes is kept as given.
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from 'strata-kv';
import { defaultCacheBytes, MIN_DEFAULT_CACHE_BYTES } from '../bindings/storage/cache-size.js';

const MiB = 1 << 20;
const dirs: string[] = [];
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const fresh = () => { const d = mkdtempSync(join(scratch, 'strata-cache-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('the default block cache capacity', () => {
  it('is the data, at least 64 MiB, at most an eighth of the machine', () => {
    expect(defaultCacheBytes(0, 16 * 1024 * MiB)).toBe(MIN_DEFAULT_CACHE_BYTES);
    expect(defaultCacheBytes(200 * MiB, 16 * 1024 * MiB)).toBe(200 * MiB);
    expect(defaultCacheBytes(4096 * MiB, 16 * 1024 * MiB)).toBe(2048 * MiB);
    expect(defaultCacheBytes(4096 * MiB, 256 * MiB)).toBe(MIN_DEFAULT_CACHE_BYTES);
  });

  it('follows the run files as they grow, shrink, and at reopen; a given one stays', async () => {
    const path = fresh();
    const value = new Uint8Array(MiB).fill(7);
    let s = await Store.open({ path });
    expect(s.stats().blockCache.capacity).toBe(64 * MiB);
    const key = (i: number) => new Uint8Array([i]);
    for (let i = 0; i < 96; i++) s.put(key(i), value);
    await s.flush();
    await s.compact();
    const grown = s.stats().blockCache.capacity;
    expect(grown).toBeGreaterThan(96 * MiB);
    expect(grown).toBeLessThan(100 * MiB);
    await s.close();
    s = await Store.open({ path });
    expect(s.stats().blockCache.capacity).toBe(grown);
    s.deleteRange(key(0), key(90));
    await s.compact();
    expect(s.stats().blockCache.capacity).toBe(64 * MiB); // 6 MiB of data left: the floor
    await s.close();
    s = await Store.open({ path, blockCacheBytes: 8 * MiB });
    expect(s.stats().blockCache.capacity).toBe(8 * MiB);
    for (let i = 0; i < 96; i++) s.put(key(i), value);
    await s.compact();
    expect(s.stats().blockCache.capacity).toBe(8 * MiB);
    await s.close();
  }, 60_000);
});
