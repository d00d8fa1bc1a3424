// A store's linear memory grows once, ahead, when its engine has allocated 8 MiB: to a quarter
// of maxMemoryBytes, at most 1 GiB (bindings/engine/memory-reserve.ts, assembly/memory-budget.ts),
// so V8's full GC at each memory.grow is paid seldom; a store that stays small never grows
// that far. The GCs saved are measured in bench/memory/grow-gc.mjs.
import { describe, it, expect } from 'vitest';
import { Store, codecs } from 'strata-kv';
import { memoryReserveBytes, MEMORY_RESERVE_MAX } from '../bindings/engine/memory-reserve.js';

const MiB = 2 ** 20;

describe('linear memory grown once, ahead', () => {
  it('is a quarter of the cap, at most 1 GiB', () => {
    expect(memoryReserveBytes(3584 * MiB)).toBe(896 * MiB); // the default cap: 3.5 GiB
    expect(memoryReserveBytes(16 * 2 ** 30)).toBe(MEMORY_RESERVE_MAX);
    expect(memoryReserveBytes(64 * MiB)).toBe(16 * MiB);
  });

  it('a store that passes 8 MiB grows its memory to the reservation in one step, and past it as it needs', async () => {
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, maxMemoryBytes: 512 * MiB, memtableBytes: MiB });
    const start = s.stats().memoryBytes;
    expect(start).toBeLessThan(8 * MiB);
    for (let i = 0; i < 12; i++) s.put(`k${i}`, new Uint8Array(MiB).fill(i));
    const reserved = s.stats().memoryBytes;
    expect(reserved).toBeGreaterThanOrEqual(128 * MiB); // 512 MiB / 4
    expect(reserved).toBeLessThan(160 * MiB);
    for (let i = 12; i < 160; i++) s.put(`k${i}`, new Uint8Array(MiB).fill(i));
    expect(s.stats().memoryBytes).toBeGreaterThan(reserved);
    for (let i = 0; i < 160; i += 7) expect(s.get(`k${i}`)![777]).toBe(i);
    await s.close();
  });

  it('a store that stays under 8 MiB keeps a small memory', async () => {
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    for (let i = 0; i < 20_000; i++) s.put(`k${i}`, `v${i}`);
    expect(s.stats().engineBytes).toBeLessThan(8 * MiB);
    expect(s.stats().memoryBytes).toBeLessThanOrEqual(16 * MiB);
    await s.close();
  });
});
