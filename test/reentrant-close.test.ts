// Regression (found reviewing #14): re-entrancy holes through close().
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, PartitionedStore, WindowStore, StrataError, codecs, type ChangeRecord, type ChangelogSink, type Codec } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = fs.mkdtempSync(join(tmpdir(), 'strata-review-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describe('close() re-entering a write', () => {
  it('a key codec that closes the store: the put must not be acknowledged (or, if it is, must survive reopen)', async () => {
    const path = freshDir();
    let store!: Store<string, string>;
    let closing: Promise<void> | undefined;
    const keyCodec: Codec<string> = {
      encode: (k) => { if (k === 'boom' && !closing) closing = store.close(); return codecs.utf8.encode(k); },
      decode: (b) => codecs.utf8.decode(b),
    };
    store = await Store.open<string, string>({ path, keyCodec, valueCodec: codecs.utf8 });
    store.put('a', '1');
    let threw: unknown;
    try { store.put('boom', 'x'); } catch (err) { threw = err; }
    await closing;
    const again = await Store.open<string, string>({ path, valueCodec: codecs.utf8, keyCodec: codecs.utf8 });
    const got = again.get('boom');
    await again.close();
    // Either the put was refused (CLOSED) or it was acknowledged and is durable.
    if (threw === undefined) expect(got).toBe('x'); // before the fix: put returned, the write is lost
    else expect(threw).toBeInstanceOf(StrataError);
  });

  it('a sink that closes the store and then refuses the write: the refused write must not come back on reopen', async () => {
    const path = freshDir();
    let store!: Store<string, string>;
    let closing: Promise<void> | undefined;
    const sink: ChangelogSink = {
      append(records: ChangeRecord[]) {
        if (new TextDecoder().decode(records[0].key) === 'boom') {
          closing = store.close();
          throw new StrataError('IO_ERROR', 'sink refuses');
        }
      },
    };
    store = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: sink, restoreFrom: false });
    store.put('a', '1');
    expect(() => store.put('boom', 'x')).toThrow(StrataError); // refused: no listener, no sink holds it
    await closing?.catch(() => {});
    await store.close().catch(() => {}); // (with the fix the sink's close() was refused)
    const again = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    const got = again.get('boom');
    await again.close();
    expect(got).toBeUndefined(); // before the fix: the refused write is back after reopen
  });
});

describe('close() from a key codec during a read', () => {
  // Regression: the point reads encoded the key after checking the store open, so a key codec
  // that closed it sent the lookup to run files already closed: IO_ERROR "read failed"
  // naming a run file, as if the disk had failed.
  const reads: [string, (s: Store<string, string>) => unknown][] = [
    ['get', (s) => s.get('k01234')],
    ['has', (s) => s.has('k01234')],
    ['getVersioned', (s) => s.getVersioned('k01234')],
    ['getAll', (s) => s.getAll(['k00001', 'k01234', 'k02000'])],
    ['snapshot get', (s) => s.snapshot().get('k01234')],
    ['putIfAbsent', (s) => s.putIfAbsent('k01234', 'x')],
    ['getAndDelete', (s) => s.getAndDelete('k01234')],
  ];
  for (const [name, read] of reads) {
    it(`${name}: CLOSED, and the directory reopens whole`, async () => {
      const path = freshDir();
      let store!: Store<string, string>;
      let armed = false;
      let closing: Promise<void> | undefined;
      const keyCodec: Codec<string> = {
        encode: (k) => { if (armed && k === 'k01234') closing ??= store.close(); return codecs.utf8.encode(k); },
        decode: (b) => codecs.utf8.decode(b),
      };
      store = await Store.open<string, string>({ path, keyCodec, valueCodec: codecs.utf8, memtableBytes: 64 << 10, blockCacheBytes: 4096 });
      for (let i = 0; i < 3000; i++) store.put('k' + String(i).padStart(5, '0'), 'v'.repeat(40) + i);
      await store.compact(); // every block read from its run file, through a 4 KiB cache
      expect(store.stats().fileBackedRuns).toBeGreaterThan(0);
      armed = true;
      expect(() => read(store)).toThrow(expect.objectContaining({ code: 'CLOSED' })); // IO_ERROR before the fix
      await closing;
      const again = await Store.open<string, string>({ path, keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
      expect(again.get('k01234')).toBe('v'.repeat(40) + 1234);
      await again.close();
    });
  }
});

describe('close() from a key codec during iteration', () => {
  // Regression: next() decoded the value after the key, from linear memory; a key codec that
  // closed the store released the iterator's pins and the close's flush reused the memory, so
  // the entry came back with another entry's bytes (or zeros, or a JSON error) as its value.
  for (const flushed of [false, true]) {
    for (const [name, valueCodec] of [['utf8', codecs.utf8], ['json', codecs.json]] as const) {
      it(`${flushed ? 'runs and a memtable' : 'a memtable'}, ${name} values: every entry yielded is right, then CLOSED`, async () => {
        const path = freshDir();
        let store!: Store<string, unknown>;
        let armed = false;
        let closing: Promise<void> | undefined;
        const keyCodec: Codec<string> = {
          encode: (k) => codecs.utf8.encode(k),
          decode: (b) => { const k = codecs.utf8.decode(b); if (armed && k === 'k00500') closing ??= store.close(); return k; },
        };
        store = await Store.open<string, unknown>({ path, keyCodec, valueCodec: valueCodec as Codec<unknown>, memtableBytes: 256 << 10 });
        const expected = (i: number) => 'v'.repeat(100) + i;
        for (let i = 0; i < 1000; i++) store.put('k' + String(i).padStart(5, '0'), expected(i));
        if (flushed) {
          await store.compact();
          for (let i = 1000; i < 3000; i++) store.put('k' + String(i).padStart(5, '0'), 'w'.repeat(100) + i); // a memtable over the freed memory
        }
        armed = true;
        let seen = 0;
        let error: unknown;
        try {
          for (const [k, v] of store.all()) {
            expect(v, k).toBe(expected(Number(k.slice(1))));
            seen++;
          }
        } catch (err) { error = err; }
        await closing;
        expect(error).toMatchObject({ code: 'CLOSED' }); // before the fix: a wrong value, or INVALID_ARGUMENT from JSON
        expect(seen).toBe(500);
      });
    }
  }
});

describe('close() from a merge operator', () => {
  // Regression: close() was not refused inside a fold, as every other call is. On a store with
  // a directory the fold then read its chain from memory the close's flush had moved (get,
  // getAll, iteration: a raw TypeError on a detached ArrayBuffer), a compaction's fold closed
  // the run files under the compaction (IO_ERROR), and after getAll the reopened store held
  // a value that was not JSON.
  const reads: [string, (s: Store<string, number>) => unknown][] = [
    ['get', (s) => s.get('k0007')],
    ['getAll', (s) => s.getAll(['k0000', 'k0007', 'k0014'])],
    ['iteration', (s) => [...s.all()].length],
    ['compact', (s) => s.compact()],
  ];
  const want = (i: number) => (i % 7 === 0 ? i + 5000 : i);
  for (const [name, read] of reads) {
    it(`during ${name}: close() is INVALID_ARGUMENT, the call answers, and the directory reopens whole`, async () => {
      const path = freshDir();
      let store!: Store<string, number>;
      let armed = false;
      let refused: Promise<unknown> | undefined;
      const sum = (a: number | undefined, b: number) => {
        if (armed) refused ??= store.close().then(() => 'closed', (err) => err);
        return (a ?? 0) + b;
      };
      store = await Store.open<string, number>({ path, keyCodec: codecs.utf8, valueCodec: codecs.json, mergeOperators: { sum }, autoCompaction: false });
      for (let i = 0; i < 200; i++) store.put('k' + String(i).padStart(4, '0'), i);
      for (let j = 0; j < 5; j++) for (let i = 0; i < 200; i += 7) store.merge('k' + String(i).padStart(4, '0'), 1000);
      armed = true;
      await read(store);
      expect(await refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
      armed = false;
      expect(store.getAll(['k0000', 'k0007', 'k0014'])).toEqual([5000, 5007, 5014]);
      await store.close();
      const again = await Store.open<string, number>({ path, keyCodec: codecs.utf8, valueCodec: codecs.json, mergeOperators: { sum } });
      for (const [k, v] of again.all()) expect(v, k).toBe(want(Number(k.slice(1))));
      await again.close();
    });
  }
});

describe('a value codec that calls the store from a merge\'s decode', () => {
  // Found by a bug hunt: on a store with a listener (or sinks) a merge folds the key's value
  // and the operand at write time to report the merged value, decoding both with the value
  // codec, outside the guard that refuses store calls during a fold. A put from that decode
  // was applied before the merge's own write: the caller's writes landed out of order.
  for (const what of ['the operand', 'the existing value'] as const) {
    it(`decoding ${what}: the call is refused, the merge fails whole, the store is unchanged`, async () => {
      let store!: Store<string, number>;
      let armed = false;
      let inner: unknown;
      const json = codecs.json as Codec<number>;
      const valueCodec: Codec<number> = {
        encode: (v) => json.encode(v),
        decode: (b) => {
          const v = json.decode(b);
          // The operand is 1; the existing value is 10.
          if (armed && (what === 'the operand' ? v === 1 : v === 10)) {
            try { store.put('side', 99); inner = 'applied'; } catch (err) { inner = err; throw err; }
          }
          return v;
        },
      };
      const sum = (a: number | undefined, b: number) => (a ?? 0) + b;
      store = await Store.open<string, number>({ keyCodec: codecs.utf8, valueCodec, mergeOperators: { sum } });
      const seen: string[] = [];
      store.onChange((records) => { for (const r of records) seen.push(Buffer.from(r.key).toString()); });
      store.put('k', 10);
      armed = true;
      const err = (() => { try { store.merge('k', 1); return undefined; } catch (e) { return e; } })();
      armed = false;
      expect(inner).toBeInstanceOf(StrataError);
      expect((inner as StrataError).code).toBe('INVALID_ARGUMENT');
      expect(err).toBeInstanceOf(StrataError);
      expect(store.get('side')).toBeUndefined();
      expect(store.get('k')).toBe(10);
      expect(seen).toEqual(['k']); // the first put only
      store.merge('k', 1); // the store goes on
      expect(store.get('k')).toBe(11);
      await store.close();
    });
  }
});

describe('a refused close() of a store built on Stores', () => {
  // Regression: PartitionedStore and WindowStore kept the promise of a close() a partition
  // refused (from a merge operator, or a sink's append) as their close: every later close()
  // returned that rejection, the refusing partition was never closed, and its directory
  // stayed LOCKED for the rest of the process.
  it('PartitionedStore.close() from a merge operator is refused; a later close() closes every partition', async () => {
    const path = freshDir();
    let ps!: PartitionedStore<string, number>;
    let armed = false;
    let refused: Promise<unknown> | undefined;
    const sum = (a: number | undefined, b: number) => {
      if (armed) refused ??= ps.close().then(() => 'closed', (err) => err);
      return (a ?? 0) + b;
    };
    const options = { path, partitions: 3, keyCodec: codecs.utf8, valueCodec: codecs.json, mergeOperators: { sum } };
    ps = await PartitionedStore.open<string, number>(options);
    for (let i = 0; i < 30; i++) { ps.put(`k${i}`, i); ps.merge(`k${i}`, 1000, 'sum'); }
    armed = true;
    expect(ps.get('k7')).toBe(1007);
    armed = false;
    expect(await refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(ps.get('k8')).toBe(1008); // still open
    await ps.close(); // before the fix: the same INVALID_ARGUMENT
    const again = await PartitionedStore.open<string, number>(options); // before the fix: LOCKED
    expect(again.get('k29')).toBe(1029);
    await again.close();
  });

  it('WindowStore.close() from a changelog sink\'s append is refused; a later close() closes', async () => {
    const path = freshDir();
    let w!: WindowStore<string, string>;
    let refused: Promise<unknown> | undefined;
    const sink: ChangelogSink = {
      append(records: ChangeRecord[]) {
        if (new TextDecoder().decode(records[0].key).includes('boom')) refused ??= w.close().then(() => 'closed', (err) => err);
      },
    };
    const options = { path, windowMs: 10, retentionMs: 100, segmentMs: 50, keyCodec: codecs.utf8, valueCodec: codecs.utf8, changelog: sink, restoreFrom: false as const };
    w = await WindowStore.open<string, string>(options);
    w.put('a', 10, 'x');
    w.put('boom', 10, 'y'); // the sink's append calls close(), which is refused
    expect(await refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(w.fetch('a', 10)).toBe('x');
    await w.close(); // before the fix: the same INVALID_ARGUMENT, the Store never closed
    const again = await WindowStore.open<string, string>(options); // before the fix: LOCKED
    expect(again.fetch('a', 10)).toBe('x');
    await again.close();
  });
});
