// The write protocol (docs/LSM.md, "The write protocol"): validate -> log -> apply -> notify.
// Each test here is a reproduction from issue #14 that failed before the protocol was written
// down: a write that fails changes nothing (not in the store, not in the log, not seen by a
// listener, not after reopen), a write that returns is everywhere, and close() says when it
// could not keep that promise.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, PartitionedStore, FileChangelog, MemoryChangelog, StrataError, codecs, type ChangeRecord, type ChangelogSink, type Codec } from 'strata-kv';

const dirs: string[] = [];
const freshDir = () => { const d = fs.mkdtempSync(join(tmpdir(), 'strata-protocol-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

const utf8 = { keyCodec: codecs.utf8, valueCodec: codecs.utf8 };
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (err) { if (err instanceof StrataError) return err.code; return `not a StrataError: ${String(err)}`; }
  return 'no error';
}
async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (err) { if (err instanceof StrataError) return err.code; return `not a StrataError: ${String(err)}`; }
  return 'no error';
}

describe('a changelog sink is part of the log: a write it refuses is not applied', () => {
  it('FileChangelog closed under the store: put throws CLOSED and changes nothing, also after reopen (#14.4)', async () => {
    const d1 = freshDir(), d2 = freshDir();
    const fc = new FileChangelog(d1);
    const s = await Store.open<string, string>({ path: d2, changelog: fc, ...utf8 });
    s.put('a', '1');
    await fc.close();
    expect(codeOf(() => s.put('b', '2'))).toBe('CLOSED');
    expect(s.get('b')).toBeUndefined();
    expect(s.stats().sequence).toBe(1);
    // The checkpoint records only what the changelog holds (it recorded seq 2 before).
    expect((await s.checkpoint()).seq).toBe(1);
    await s.close().catch(() => {});
    const fc2 = new FileChangelog(d1);
    expect([...fc2.read(0)].map((r) => dec(r.key))).toEqual(['a']);
    const r = await Store.open<string, string>({ path: d2, changelog: fc2, ...utf8 });
    expect(r.get('a')).toBe('1');
    expect(r.get('b')).toBeUndefined();
    await r.close();
  });

  it('a sink that refuses a write as bad input: the write fails with its StrataError and is not applied; the store goes on (#14.5)', async () => {
    let refuse = false;
    const taken: ChangeRecord[] = [];
    const sink: ChangelogSink = {
      append(records) { if (refuse) throw new StrataError('VALUE_TOO_LARGE', 'too large for this sink'); taken.push(...records); },
    };
    const s = await Store.open<string, string>({ changelog: sink, ...utf8 });
    const seen: string[] = [];
    s.onChange((rs) => seen.push(...rs.map((r) => dec(r.key))));
    s.put('a', '1');
    refuse = true;
    for (const write of [() => s.put('b', '2'), () => s.putAll([['c', '3']]), () => s.delete('a'),
      () => s.putIfVersion('d', '4', 0), () => s.deleteIfVersion('a', 1), () => s.write([{ type: 'put', key: 'e', value: '5' }])]) {
      expect(codeOf(write)).toBe('VALUE_TOO_LARGE');
    }
    expect([...s.all()]).toEqual([['a', '1']]);
    expect(seen).toEqual(['a']);
    refuse = false;
    s.put('b', '2'); // nothing was half-done: the store takes writes again, with the next sequence
    expect(taken.map((r) => [dec(r.key), r.seq])).toEqual([['a', 1], ['b', 2]]);
    expect(s.getVersioned('b')?.version).toBe(2);
    await s.close();
  });

  it('a sink whose append throws anything else (it may have lost what it buffered): refused, and the store stops (#14.5)', async () => {
    let refuse = false;
    const sink: ChangelogSink = { append() { if (refuse) throw new Error('sink down'); } };
    const s = await Store.open<string, string>({ changelog: sink, ...utf8 });
    s.put('a', '1');
    refuse = true;
    expect(codeOf(() => s.put('b', '2'))).toBe('IO_ERROR');
    refuse = false;
    expect(codeOf(() => s.put('c', '3'))).toBe('IO_ERROR');
    expect([...s.all()]).toEqual([['a', '1']]);
    expect(await codeOfAsync(s.close())).toBe('IO_ERROR');
  });

  it('a second sink that throws after the first took the write: refused, and the store stops writing', async () => {
    const first = new MemoryChangelog();
    let refuse = false;
    const second: ChangelogSink = { append() { if (refuse) throw new Error('second sink down'); } };
    const s = await Store.open<string, string>({ changelog: [first, second], ...utf8 });
    s.put('a', '1');
    refuse = true;
    expect(codeOf(() => s.put('b', '2'))).toBe('IO_ERROR');
    expect(s.get('b')).toBeUndefined();
    refuse = false;
    // The first sink holds a write the store does not: the changelog no longer follows it.
    expect(codeOf(() => s.put('c', '3'))).toBe('IO_ERROR');
    expect(await codeOfAsync(s.flush())).toBe('IO_ERROR');
    expect(await codeOfAsync(s.close())).toBe('IO_ERROR');
  });

  it('a sink whose append rejects later: the write stands, then writes, flush, checkpoint and close fail', async () => {
    let reject = false;
    const sink: ChangelogSink = { append() { return reject ? Promise.reject(new Error('lost in transit')) : undefined; } };
    const s = await Store.open<string, string>({ changelog: sink, ...utf8 });
    reject = true;
    s.put('a', '1'); // acknowledged: the sink's promise has not settled
    await new Promise((r) => setTimeout(r, 0));
    expect(s.get('a')).toBe('1');
    expect(codeOf(() => s.put('b', '2'))).toBe('IO_ERROR');
    expect(s.get('b')).toBeUndefined();
    expect(await codeOfAsync(s.checkpoint())).toBe('IO_ERROR');
    expect(await codeOfAsync(s.close())).toBe('IO_ERROR');
  });

  it('with a write-ahead log too: a refused write is taken back out of the log, so a reopen does not replay it', async () => {
    const dir = freshDir();
    let refuse = false;
    const sink: ChangelogSink = { append() { if (refuse) throw new StrataError('INVALID_ARGUMENT', 'not for this sink'); } };
    for (const sync of [false, true]) {
      const s = await Store.open<string, string>({ path: join(dir, String(sync)), changelog: sink, restoreFrom: false, sync, ...utf8 });
      s.put('a', '1');
      refuse = true;
      expect(codeOf(() => s.putAll([['b', '2'], ['c', '3']]))).toBe('INVALID_ARGUMENT');
      refuse = false;
      s.put('d', '4');
      await s.close();
      const r = await Store.open<string, string>({ path: join(dir, String(sync)), restoreFrom: false, ...utf8 });
      expect([...r.all()]).toEqual([['a', '1'], ['d', '4']]);
      expect(r.getVersioned('d')?.version).toBe(2);
      await r.close();
    }
  });
});

describe('listeners run after the commit', () => {
  it('PartitionedStore.putAll with a throwing listener: every partition applies, the call returns (#14.5)', async () => {
    const errors: unknown[] = [];
    const ps = await PartitionedStore.open<string, string>({ partitions: 4, ...utf8, onListenerError: (e) => errors.push(e) });
    ps.onChange(() => { throw new Error('listener broke'); });
    const entries = Array.from({ length: 40 }, (_, i) => [`k${i}`, `v${i}`] as [string, string]);
    ps.putAll(entries);
    for (const [k, v] of entries) expect(ps.get(k)).toBe(v);
    expect(errors.length).toBe(new Set(entries.map(([k]) => ps.partitionFor(k))).size);
    await ps.close();
  });

  it('a write from inside a listener is refused with INVALID_ARGUMENT; reads are fine', async () => {
    const s = await Store.open<string, string>(utf8);
    const inner: string[] = [];
    s.onChange(() => {
      inner.push(String(s.get('a')));
      inner.push(codeOf(() => s.put('x', 'y')));
    });
    s.put('a', '1');
    expect(inner).toEqual(['1', 'INVALID_ARGUMENT']);
    expect(s.has('x')).toBe(false);
    await s.close();
  });

  it('a sink that calls the store from append is refused, and the write with it', async () => {
    let s!: Store<string, string>;
    const sink: ChangelogSink = { append() { s.get('a'); } };
    s = await Store.open<string, string>({ changelog: sink, ...utf8 });
    expect(codeOf(() => s.put('a', '1'))).toBe('INVALID_ARGUMENT');
    expect(s.has('a')).toBe(false);
    await s.close();
  });
});

describe('re-entrant codecs', () => {
  it('getAll with a value codec whose decode calls the store returns the right values (#14.6)', async () => {
    let store!: Store<string, string>;
    let depth = 0;
    const calling: Codec<string> = {
      encode: (v) => new TextEncoder().encode(v),
      decode: (b) => {
        // Three keys, as many as the outer call: before, their results overwrote the outer's.
        if (depth++ === 0) { store.get('zzz'); expect(store.getAll(['q', 'r', 's'])).toEqual([undefined, undefined, undefined]); }
        depth--;
        return new TextDecoder().decode(b);
      },
    };
    store = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: calling });
    store.putAll([['a', 'apple'], ['b', 'banana'], ['c', 'cherry']]);
    expect(store.getAll(['a', 'b', 'c'])).toEqual(['apple', 'banana', 'cherry']);
    await store.close();
  });
});

describe('close', () => {
  it('Promise.all of two closes with a changelog resolves both (#14.14)', async () => {
    const d1 = freshDir(), d2 = freshDir();
    const s = await Store.open<string, string>({ path: d2, changelog: new FileChangelog(d1), ...utf8 });
    s.put('a', '1');
    await Promise.all([s.close(), s.close()]);
    await s.close();
  });

  it('a sink whose flush rejects during close: the other sinks are still closed, and close rejects (#14.12)', async () => {
    const d1 = freshDir();
    const fc = new FileChangelog(d1);
    const bad: ChangelogSink = { append() {}, flush: () => Promise.reject(new Error('flush failed')) };
    const s = await Store.open<string, string>({ changelog: [bad, fc], ...utf8 });
    s.put('a', '1');
    expect(await codeOfAsync(s.close())).toBe('IO_ERROR');
    const again = new FileChangelog(d1); // not LOCKED: the FileChangelog was closed
    expect([...again.read(0)].length).toBe(1);
    await again.close();
  });

});

describe('options checked at open', () => {
  it('partition outside a Kafka partition number is INVALID_ARGUMENT (#14.13)', async () => {
    for (const partition of [2 ** 32, 2 ** 31, -1, 1.5]) {
      expect(await codeOfAsync(Store.open({ partition, changelog: new MemoryChangelog() }))).toBe('INVALID_ARGUMENT');
    }
    const s = await Store.open({ partition: 2 ** 31 - 1, changelog: new MemoryChangelog() });
    s.put(new Uint8Array([1]), new Uint8Array([2]));
    await s.close();
  });

  it('expirySweepMs above the largest timer delay is INVALID_ARGUMENT (#14.15)', async () => {
    expect(await codeOfAsync(Store.open({ ttlMs: 1000, expirySweepMs: 2 ** 31 }))).toBe('INVALID_ARGUMENT');
    const s = await Store.open({ ttlMs: 1000, expirySweepMs: 2 ** 31 - 1 });
    await s.close();
  });
});
