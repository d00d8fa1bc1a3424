// Range reads shared by the abstract-level peers (memory-level, classic-level).

/** Full ordered scan in nextv() pages of 1,000. */
export async function levelScan(db) {
  let n = 0, bytes = 0;
  const it = db.iterator();
  try {
    for (;;) {
      const page = await it.nextv(1000);
      if (page.length === 0) break;
      for (let i = 0; i < page.length; i++) bytes += page[i][1].length;
      n += page.length;
    }
  } finally {
    await it.close();
  }
  return { n, bytes };
}

/** Repositions a long-lived iterator at `key` and reads the next `limit` entries. */
export async function levelSeek(it, key, limit) {
  it.seek(key);
  const page = await it.nextv(limit);
  let bytes = 0;
  for (let i = 0; i < page.length; i++) bytes += page[i][1].length;
  return { n: page.length, bytes };
}
