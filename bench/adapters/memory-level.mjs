// memory-level: abstract-level over an in-memory red-black tree. Reads have getSync;
// writes and iterators are async only, so writes go in batches of 1,000. The default
// storeEncoding ('buffer') measured faster for getSync than 'view'.
import { MemoryLevel } from 'memory-level';
import { levelHandle } from './level-iterate.mjs';

export default {
  name: 'memory-level',
  ordered: true,
  syncPut: false,
  api: {
    'fill-put': 'batch (1,000 puts; no sync put)',
    'fill-putAll': 'batch (1,000 puts)',
    get: 'getSync',
    'get-missing': 'getSync',
    scan: 'iterator().nextv(1,000)',
    seek: 'one iterator: seek(key) + nextv(100)',
    mix: 'getSync + puts in batches of 1,000',
  },
  open: () => levelHandle(new MemoryLevel({ keyEncoding: 'utf8', valueEncoding: 'view' })),
};
