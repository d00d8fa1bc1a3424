// Full ordered scan of an abstract-level database in nextv() pages of 1,000.
export async function levelScan(db) {
  let n = 0, sum = 0;
  const it = db.iterator();
  try {
    for (;;) {
      const page = await it.nextv(1000);
      if (page.length === 0) break;
      for (let i = 0; i < page.length; i++) {
        const v = page[i][1];
        sum += (v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0;
      }
      n += page.length;
    }
  } finally {
    await it.close();
  }
  return { n, sum };
}
