// The partition count a PartitionedStore directory was made with, kept with it: a key's
// partition depends on the count (kafkaPartition), so it is fixed for the directory's life.
import { Store } from '../store/store.js';
import { codecs } from '../codecs.js';
import { invalid, shown } from '../errors.js';

/** The key under which `<path>/partitioning` records the partition count (JSON). */
const PARTITIONS_KEY = new TextEncoder().encode('partitions');

/**
 * A directory's partition count is fixed (a key's partition depends on it): the first open
 * records it in a small Store of its own, `<path>/partitioning`, and every later open must
 * give the same, else INVALID_ARGUMENT before any partition is opened. Without the check a
 * reopen with another count found most keys in the wrong partition: get() missed them, and
 * a put made a second copy in another partition, which scans then showed twice. A Store,
 * not a file, so that it works wherever the partitions do (a directory, OPFS).
 */
export async function checkPartitionCount(path: string, n: number): Promise<void> {
  const meta = await Store.open({ path: `${path}/partitioning` });
  try {
    const had = meta.get(PARTITIONS_KEY);
    if (had === undefined) {
      meta.put(PARTITIONS_KEY, codecs.json.encode(n));
      return;
    }
    let recorded: unknown;
    try { recorded = codecs.json.decode(had); } catch { recorded = undefined; }
    if (recorded !== n) {
      throw invalid(`${path} holds a PartitionedStore of ${shown(recorded)} partitions, opened with ${n}: `
        + 'a key\'s partition depends on the count, so it cannot change (restore a changelog into a new directory instead)');
    }
  } finally {
    await meta.close();
  }
}
