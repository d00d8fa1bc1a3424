// classic-level: LevelDB (C++) in a temporary directory. Reads have getSync; writes and
// iterators are async only, so writes go in batches of 1,000 (a chained batch measured
// faster than an array batch). No fsync (LevelDB's default).
import { ClassicLevel } from 'classic-level';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { levelScan, levelSeek } from './level-iterate.mjs';

export default {
  name: 'classic-level',
  ordered: true,
  api: {
    'fill-put': 'chained batch of 1,000 puts (no sync put)',
    'fill-putAll': 'chained batch of 1,000 puts',
    get: 'getSync',
    'get-missing': 'getSync',
    scan: 'iterator().nextv(1,000)',
    seek: 'one iterator: seek(key) + nextv(100)',
    mix: 'getSync + puts in chained batches of 1,000',
  },
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'strata-peer-leveldb-'));
    const db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    let seeker = null;
    return {
      asyncWrites: true,
      asyncSeek: true,
      putAll(entries) {
        const batch = db.batch();
        for (let i = 0; i < entries.length; i++) batch.put(entries[i][0], entries[i][1]);
        return batch.write();
      },
      get: (k) => db.getSync(k),
      scan: () => levelScan(db),
      seek(key, limit) {
        seeker ??= db.iterator();
        return levelSeek(seeker, key, limit);
      },
      async close() {
        try {
          if (seeker) await seeker.close();
          await db.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  },
};
