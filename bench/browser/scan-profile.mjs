// Where a full scan's time goes in the browser (bench:browser's "scan" row): bundled and run
// in headless Chromium by `node bench/browser/scan-profile.mjs [--entries 100000] [--passes 5]`,
// and in Node by the same command with --node. The same data as bench:browser (in memory,
// page main thread), each variant scanned `passes` times; prints the first pass (what
// bench:browser times: one scan per round) and the median of the rest, in entries/s.
import { makeData, makeValue, BATCH } from '../lib/data.mjs';

const now = () => performance.now();

/** Times `scan` (returns the number of entries read) `passes` times. */
async function timeIt(entries, passes, scan) {
  const rates = [];
  for (let i = 0; i < passes; i++) {
    const t0 = now();
    const n = await scan();
    const s = (now() - t0) / 1000;
    if (n !== entries) throw new Error(`scan read ${n} of ${entries}`);
    rates.push(entries / s);
  }
  const rest = rates.slice(1).sort((a, b) => a - b);
  return { first: rates[0], warm: rest.length ? rest[rest.length >> 1] : rates[0] };
}

async function fill(put, entries) {
  const { keys } = makeData(entries);
  for (let b = 0; b < entries; b += BATCH) {
    const chunk = [];
    for (let i = b; i < Math.min(b + BATCH, entries); i++) chunk.push([keys[i], makeValue(i)]);
    await put(chunk);
  }
  return keys;
}

/** Every variant's { first, warm } entries/s. `strata` is the package, `MemoryLevel` and `StrataLevel` the Level classes. */
export async function profileScan({ strata, MemoryLevel, StrataLevel, entries = 100_000, passes = 5 }) {
  const { Store, codecs } = strata;
  const out = {};
  const run = async (name, scan) => { out[name] = await timeIt(entries, passes, scan); };

  const store = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.bytes });
  const keys = await fill((c) => store.putAll(c), entries);
  const forOf = (it) => { let n = 0, sum = 0; for (const [, v] of it) { n++; sum += v.length; } return sum >= 0 ? n : -1; };
  await run('strata Store.all() utf8 keys, bytes values', () => forOf(store.all()));
  await run('strata Store.all() next() by hand', () => {
    const it = store.all(); let n = 0;
    for (let r = it.next(); !r.done; r = it.next()) n++;
    return n;
  });
  const raw = await Store.open({ keyCodec: codecs.bytes, valueCodec: codecs.bytes });
  await fill((c) => raw.putAll(c.map(([k, v]) => [new TextEncoder().encode(k), v])), entries);
  await run('strata Store.all() bytes keys, bytes values', () => forOf(raw.all()));
  await store.compact();
  await run('strata Store.all() utf8/bytes after compact()', () => forOf(store.all()));
  await store.close();
  await raw.close();

  const mem = new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' });
  await fill((c) => mem.batch(c.map(([key, value]) => ({ type: 'put', key, value }))), entries);
  await run('memory-level nextv(1,000) utf8/view', async () => {
    const it = mem.iterator(); let n = 0;
    for (;;) { const page = await it.nextv(1000); if (page.length === 0) break; n += page.length; }
    await it.close();
    return n;
  });
  await run('memory-level for await (one entry a step)', async () => {
    let n = 0;
    for await (const _ of mem.iterator()) n++;
    return n;
  });
  await mem.close();

  // strata-kv's abstract-level adapter over the same data: a bytes-keyed Store underneath.
  const nextv = async (db) => {
    const it = db.iterator(); let n = 0;
    for (;;) { const page = await it.nextv(1000); if (page.length === 0) break; n += page.length; }
    await it.close();
    return n;
  };
  for (const keyEncoding of ['utf8', 'view']) {
    const lvl = new StrataLevel({ keyEncoding, valueEncoding: 'view' });
    await lvl.open();
    const enc = new TextEncoder();
    await fill((c) => lvl.batch(c.map(([key, value]) => ({ type: 'put', key: keyEncoding === 'utf8' ? key : enc.encode(key), value }))), entries);
    await run(`StrataLevel nextv(1,000) ${keyEncoding}/view`, () => nextv(lvl));
    await lvl.close();
  }

  // The parts: what decoding the keys costs alone.
  const enc = new TextEncoder().encode(keys.join(''));
  const td = new TextDecoder();
  await run('TextDecoder.decode per 16-byte key', () => {
    let n = 0;
    for (let i = 0; i < entries; i++) { td.decode(enc.subarray(i * 16, i * 16 + 16)); n++; }
    return n;
  });
  await run('TextDecoder per 1,000 keys + substring', () => {
    let n = 0;
    for (let b = 0; b < entries; b += 1000) {
      const s = td.decode(enc.subarray(b * 16, (b + 1000) * 16));
      for (let i = 0; i < 1000; i++) { s.substring(i * 16, i * 16 + 16); n++; }
    }
    return n;
  });
  return out;
}
