// Merge operators by example (docs/API.md, "Merge operators"): the built-ins over codecs,
// errors that leave the store intact (unknown operators, operators that throw or call the
// store, a store reopened without its operator), changelog records carrying folded values,
// PartitionedStore, StreamTasks' TaskStore, and the run-file flag that marks operands on disk.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Store, PartitionedStore, MemoryChangelog, StrataError, codecs, type ChangeRecord } from 'strata-kv';
import { CommitSink } from '../bindings/nats/tasks/commit-sink.js';
import { TaskStore, storePrefix } from '../bindings/nats/tasks/task-stores.js';

const dirs: string[] = [];
const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'strata-merge-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const json = { keyCodec: codecs.utf8, valueCodec: codecs.json } as const;

function code(f: () => unknown): string | undefined {
  try { f(); } catch (err) { return (err as StrataError).code; }
  return undefined;
}

describe('the built-in operators', () => {
  it('add counts on a json store, from absent, after a put, a delete and a range deletion', async () => {
    const s = await Store.open<string, number>(json);
    for (let i = 0; i < 5; i++) s.merge('views', 1, 'add');
    expect(s.get('views')).toBe(5);
    s.put('views', 100);
    s.merge('views', 2, 'add');
    expect(s.get('views')).toBe(102);
    s.delete('views');
    s.merge('views', 3, 'add');
    expect(s.get('views')).toBe(3);
    s.deleteRange('v', 'w');
    s.merge('views', 4, 'add');
    expect(s.get('views')).toBe(4);
    // The version is the last operand's sequence; conditional writes see it.
    const v = s.getVersioned('views')!.version;
    expect(s.putIfVersion('views', 0, v - 1)).toBe(false);
    expect(s.putIfVersion('views', 0, v)).toBe(true);
    await s.close();
  });

  it('add on bigints (int64 codec), max, min and append (utf8)', async () => {
    const big = await Store.open<string, bigint>({ keyCodec: codecs.utf8, valueCodec: codecs.int64 });
    big.merge('n', 2n ** 40n, 'add');
    big.merge('n', -1n, 'add');
    expect(big.get('n')).toBe(2n ** 40n - 1n);
    await big.close();
    const s = await Store.open<string, number>(json);
    for (const x of [5, 9, 2]) { s.merge('hi', x, 'max'); s.merge('lo', x, 'min'); }
    expect([s.get('hi'), s.get('lo')]).toEqual([9, 2]);
    await s.close();
    const t = await Store.open<string, string>({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    for (const part of ['a', 'b', 'c']) t.merge('log', part, 'append');
    expect(t.get('log')).toBe('abc');
    expect([...t.all({ reverse: true })]).toEqual([['log', 'abc']]);
    await t.close();
  });

  it('folds survive flush, compaction and a reopen on disk, and getAll folds', async () => {
    const path = fresh();
    let s = await Store.open<string, number>({ ...json, path, memtableBytes: 16 << 10 });
    for (let i = 0; i < 20_000; i++) s.merge(`k${i % 50}`, 1, 'add');
    expect(s.getAll(['k0', 'k49', 'nope'])).toEqual([400, 400, undefined]);
    await s.close();
    s = await Store.open<string, number>({ ...json, path });
    expect(s.get('k7')).toBe(400);
    await s.compact();
    // A full compaction with no snapshot folds every chain: one entry per key.
    expect(s.approximateNumEntries()).toBe(50);
    expect(s.get('k7')).toBe(400);
    await s.close();
  });
});

describe('errors leave the store intact', () => {
  it('refuses unknown operators and bad operator tables at open', async () => {
    const s = await Store.open<string, number>(json);
    expect(code(() => s.merge('a', 1, 'sum'))).toBe('INVALID_ARGUMENT');
    expect(code(() => s.merge('a', 1))).toBe('INVALID_ARGUMENT'); // no own operator: a name is needed
    expect(s.get('a')).toBeUndefined();
    expect(s.stats().counters.puts).toBe(0);
    await s.close();
    await expect(Store.open({ mergeOperators: { add: (a: any) => a } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Store.open({ mergeOperators: { x: 1 as any } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Store.open({ mergeOperators: { '': (a: any) => a } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('an operator that throws fails the read that folds it, and compaction keeps its operands', async () => {
    let broken = true;
    const s = await Store.open<string, number>({ ...json, mergeOperators: { picky: (e, o) => { if (broken) throw new Error('not today'); return (e ?? 0) * 10 + o; } } });
    s.merge('a', 1); s.merge('a', 2);
    s.put('b', 7);
    let err: StrataError | undefined;
    try { s.get('a'); } catch (e) { err = e as StrataError; }
    expect(err?.code).toBe('INVALID_ARGUMENT');
    expect(err?.message).toContain('picky');
    expect((err?.cause as Error | undefined)?.message).toBe('not today');
    await s.compact();
    expect(s.get('b')).toBe(7);
    broken = false;
    expect(s.get('a')).toBe(12);
    await s.compact();
    expect(s.get('a')).toBe(12);
    await s.close();
  });

  it('an operator that calls the store is refused, and the store goes on', async () => {
    let store: Store<string, number> | undefined;
    const s = await Store.open<string, number>({ ...json, mergeOperators: { sneaky: (e, o) => { store!.put('x', 1); return (e ?? 0) + o; } } });
    store = s;
    s.merge('a', 1);
    expect(code(() => s.get('a'))).toBe('INVALID_ARGUMENT');
    expect(s.get('x')).toBeUndefined();
    s.put('y', 2);
    expect(s.get('y')).toBe(2);
    await s.close();
  });

  it('a store reopened without its operator refuses to fold those keys, then folds once it has it', async () => {
    const path = fresh();
    const tripled = { triple: (e: number | undefined, o: number) => (e ?? 0) + 3 * o };
    let s = await Store.open<string, number>({ ...json, path, mergeOperators: tripled });
    s.merge('a', 1); s.merge('a', 1); s.put('b', 1);
    await s.close();
    s = await Store.open<string, number>({ ...json, path });
    expect(() => s.get('a')).toThrow(/"triple".*not registered/);
    expect(s.get('b')).toBe(1);
    await s.compact(); // cannot fold: the operands stay
    await s.close();
    s = await Store.open<string, number>({ ...json, path, mergeOperators: tripled });
    expect(s.get('a')).toBe(6);
    await s.close();
  });
});

describe('with a changelog or listeners', () => {
  it('records carry the folded value as a put, with the key\'s version, and restore needs no operator', async () => {
    const log = new MemoryChangelog();
    const s = await Store.open<string, number>({ ...json, changelog: log });
    const heard: ChangeRecord[] = [];
    s.onChange((rs) => heard.push(...rs));
    s.merge('a', 2, 'add');
    s.merge('a', 3, 'add');
    const records = [...log.read(0)];
    expect(records.map((r) => [new TextDecoder().decode(r.key), JSON.parse(new TextDecoder().decode(r.value!))])).toEqual([['a', 2], ['a', 5]]);
    expect(heard.map((r) => r.seq)).toEqual(records.map((r) => r.seq));
    expect(s.getVersioned('a')!.version).toBe(records[1].seq);
    const copy = await Store.open<string, number>(json);
    await copy.restore(log.read(0));
    expect(copy.getVersioned('a')).toEqual({ value: 5, version: records[1].seq });
    await copy.close();
    await s.close();
  });

  it('a sink that refuses the merge leaves the value as it was', async () => {
    let refuse = false;
    const s = await Store.open<string, number>({ ...json, changelog: { append: () => { if (refuse) throw new StrataError('INVALID_ARGUMENT', 'no'); } } });
    s.merge('a', 1, 'add');
    refuse = true;
    expect(code(() => s.merge('a', 1, 'add'))).toBe('INVALID_ARGUMENT');
    expect(s.get('a')).toBe(1);
    await s.close();
  });
});

describe('PartitionedStore and the disk format', () => {
  it('PartitionedStore.merge writes to the key\'s partition', async () => {
    const p = await PartitionedStore.open<string, number>({ ...json, partitions: 4 });
    for (let i = 0; i < 100; i++) p.merge(`k${i % 10}`, i, 'max');
    expect(p.getAll(['k0', 'k9'])).toEqual([90, 99]);
    expect(p.partition(p.partitionFor('k3')).get('k3')).toBe(93);
    await p.close();
  });

  it('a run file with operands says so in its footer; strata verify checks the flag against the entries', async () => {
    const path = fresh();
    const s = await Store.open<string, number>({ ...json, path, mergeOperators: { sum: (e, o) => (e ?? 0) + o } });
    s.merge('a', 1); s.merge('b', 1);
    await s.flush(); // a level-0 run whose operands have no base known: kept as operands
    await s.close();
    const runs = readdirSync(path).filter((f) => f.endsWith('.run'));
    const flagged = runs.filter((f) => { const b = readFileSync(join(path, f)); return b[b.length - 48 + 42] === 1; });
    expect(flagged.length).toBeGreaterThan(0);
    const bin = fileURLToPath(new URL('../bin/strata.mjs', import.meta.url));
    expect(spawnSync(process.execPath, [bin, 'verify', path], { encoding: 'utf8' }).status).toBe(0);
    // Clearing the flag (the footer has no checksum) is found by a whole-file check.
    const file = join(path, flagged[0]);
    const b = readFileSync(file);
    b[b.length - 48 + 42] = 0;
    writeFileSync(file, b);
    const v = spawnSync(process.execPath, [bin, 'verify', path], { encoding: 'utf8' });
    expect(v.status).toBe(1);
    expect(v.stdout).toContain(flagged[0]);
  });
});

describe('TaskStore (strata-kv/nats): merge and deleteRange in a task\'s commit', () => {
  it('merge folds at once into a put record; deleteRange is one range record of the store\'s keys only', async () => {
    const sink = new CommitSink();
    const store = await Store.open({ changelog: sink });
    // Written as a process call's context writes them (a TaskStore itself takes no writes).
    const views = new TaskStore<string, number>(store, storePrefix('views'), { keyCodec: codecs.utf8, valueCodec: codecs.json }).writableWhile(() => {});
    const other = new TaskStore<string, number>(store, storePrefix('other'), { keyCodec: codecs.utf8, valueCodec: codecs.json, mergeOperators: { twice: (e, o) => (e ?? 0) + 2 * o } }).writableWhile(() => {});
    views.merge('u1', 1, 'add'); views.merge('u1', 1, 'add'); views.merge('u2', 5, 'max');
    other.merge('u1', 3, 'twice');
    expect([views.get('u1'), views.get('u2'), other.get('u1')]).toEqual([2, 5, 6]);
    expect(() => views.merge('u1', 1, 'twice')).toThrow(StrataError); // the other store's operator
    views.deleteRange('u0', 'u9');
    expect([...views.all()]).toEqual([]);
    expect(other.get('u1')).toBe(6);
    const records = sink.take();
    expect(records.filter((r) => r.value === null && r.rangeEnd === undefined)).toEqual([]); // no tombstones
    expect(records.filter((r) => r.rangeEnd !== undefined)).toHaveLength(1);
    expect(JSON.parse(new TextDecoder().decode(records[1].value!))).toBe(2); // the folded value
    await store.close();
  });
});
