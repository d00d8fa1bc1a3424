// A store's engine starts with linear memory reserved up front (bindings/engine/memory-reserve.ts:
// a quarter of maxMemoryBytes, at most 1 GiB), so V8's full GC at each memory.grow is paid
// seldom; a host that refuses so large a memory gets a smaller one, and one that refuses any
// gets OUT_OF_MEMORY, not a RangeError. The GCs saved are measured in bench/memory/grow-gc.mjs.
import { describe, it, expect, afterEach } from 'vitest';
import { Store, StrataError, codecs } from 'strata-kv';
import { initialMemoryBytes, MEMORY_RESERVE_MAX } from '../bindings/engine/memory-reserve.js';

const RealMemory = WebAssembly.Memory;
afterEach(() => { WebAssembly.Memory = RealMemory; });

/** Makes the host refuse (RangeError, as V8 does when it cannot map the pages) every memory
 *  of more than `maxPages` initial pages; returns the sizes asked for. */
function refuseAbove(maxPages: number): number[] {
  const asked: number[] = [];
  WebAssembly.Memory = function Memory(d: WebAssembly.MemoryDescriptor) {
    asked.push(d.initial);
    if (d.initial > maxPages) throw new RangeError('WebAssembly.Memory(): could not allocate memory');
    return new RealMemory(d);
  } as unknown as typeof WebAssembly.Memory;
  return asked;
}

describe('linear memory reserved up front', () => {
  it('a quarter of the cap, at most 1 GiB, and the store grows past it', async () => {
    expect(initialMemoryBytes(3584 * 2 ** 20)).toBe(896 * 2 ** 20);
    expect(initialMemoryBytes(16 * 2 ** 30)).toBe(MEMORY_RESERVE_MAX);
    const d = await Store.open();
    expect(d.stats().memoryBytes).toBe(896 * 2 ** 20); // the default cap: 3.5 GiB
    await d.close();
    const s = await Store.open<string, Uint8Array>({ keyCodec: codecs.utf8, valueCodec: codecs.bytes, maxMemoryBytes: 64 << 20, memtableBytes: 1 << 20 });
    expect(s.stats().memoryBytes).toBe(16 << 20);
    for (let i = 0; i < 24; i++) s.put(`k${i}`, new Uint8Array(1 << 20).fill(i));
    expect(s.stats().memoryBytes).toBeGreaterThan(16 << 20);
    for (let i = 0; i < 24; i++) expect(s.get(`k${i}`)![777]).toBe(i);
    await s.close();
  });

  it('a host that refuses so large a memory gets half as much, then half again', async () => {
    const asked = refuseAbove(2048);
    const s = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    expect(asked).toEqual([14336, 7168, 3584, 1792]);
    expect(s.stats().memoryBytes).toBe(1792 * 65536);
    for (let i = 0; i < 20_000; i++) s.put(`k${i}`, `v${i}`.repeat(10));
    await s.compact();
    expect(s.get('k12345')).toBe('v12345'.repeat(10));
    expect([...s.all()].length).toBe(20_000);
    await s.close();
  });

  it('a host that refuses every memory: OUT_OF_MEMORY, not a RangeError', async () => {
    refuseAbove(0);
    const err = await Store.open().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('OUT_OF_MEMORY');
    expect((err as StrataError).message).toMatch(/linear memory/);
  });
});
