// What the abstract-level peers share (memory-level, classic-level, and bench:browser's
// StrataLevel and browser-level databases): their reads, and the whole handle of one whose
// writes are array batches. No Node imports: bench:browser bundles it for the page.

/** Full ordered scan in nextv() pages of 1,000. */
export async function levelScan(db, weigh) {
  let n = 0, sum = 0;
  const it = db.iterator();
  try {
    for (;;) {
      const page = await it.nextv(1000);
      if (page.length === 0) break;
      for (let i = 0; i < page.length; i++) sum += weigh(page[i][1]);
      n += page.length;
    }
  } finally {
    await it.close();
  }
  return { n, sum };
}

/** Repositions a long-lived iterator at `key` and reads the next `limit` entries. */
export async function levelSeek(it, key, limit) {
  it.seek(key);
  const page = await it.nextv(limit);
  let bytes = 0;
  for (let i = 0; i < page.length; i++) bytes += page[i][1].length;
  return { n: page.length, bytes };
}

/**
 * The reads of an abstract-level peer: getSync, nextv() scans, and seeks on one long-lived
 * iterator, which closeSeeker() closes (before the database).
 */
export function levelReads(db) {
  let seeker = null;
  return {
    asyncSeek: true,
    get: (k) => db.getSync(k),
    getMany: (keys) => db.getMany(keys),
    scan: (weigh) => levelScan(db, weigh),
    seek(key, limit) {
      seeker ??= db.iterator();
      return levelSeek(seeker, key, limit);
    },
    async closeSeeker() {
      if (seeker) await seeker.close();
    },
  };
}

/**
 * Opens `db` (an abstract-level database) as an adapter handle: writes as array batches
 * (async), the reads of levelReads, and for bench:browser awaited single puts (putAsync) and
 * async gets (getAsync, for a database without getSync).
 */
export async function levelHandle(db) {
  await db.open();
  const reads = levelReads(db);
  return {
    ...reads,
    asyncWrites: true,
    putAll: (entries) => db.batch(entries.map(([key, value]) => ({ type: 'put', key, value }))),
    putAsync: (k, v) => db.put(k, v),
    getAsync: (k) => db.get(k),
    async close() {
      await reads.closeSeeker();
      await db.close();
    },
  };
}
