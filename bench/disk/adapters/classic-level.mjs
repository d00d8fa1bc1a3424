// classic-level: LevelDB (C++) with its defaults (8 MiB block cache, 4 MiB write buffer,
// snappy, 10-bit bloom filters). Reads have getSync; writes and iterators are async only,
// so writes go in chained batches of 1,000 (no sync single put). No fsync per write
// (LevelDB's default); close() leaves the last memtable in the .log file, which reopen
// turns into a table file.
import { ClassicLevel } from 'classic-level';
import { levelScan } from './level-scan.mjs';

export default {
  name: 'classic-level',
  options: "new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'view' }), defaults otherwise",
  api: {
    'fill-putAll': 'chained batch of 1,000 puts',
    'fill-put': null,
    close: 'close()',
    get: 'getSync',
    scan: 'iterator().nextv(1,000)',
  },
  async open(dir) {
    const db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return {
      asyncWrites: true,
      putAll(entries) {
        const batch = db.batch();
        for (let i = 0; i < entries.length; i++) batch.put(entries[i][0], entries[i][1]);
        return batch.write();
      },
      get: (k) => db.getSync(k),
      scan: () => levelScan(db),
      close: () => db.close(),
    };
  },
};
