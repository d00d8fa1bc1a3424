// sorted-btree: an in-memory B+ tree; everything is sync. Its entries() iterator measured
// faster here than forEachPair/forRange callbacks, so scans and seeks use it.
import BTreeModule from 'sorted-btree';

const BTree = BTreeModule.default ?? BTreeModule;
export default {
  name: 'sorted-btree',
  ordered: true,
  syncPut: true,
  api: {
    'fill-put': 'set',
    'fill-putAll': 'setPairs (1,000 pairs)',
    get: 'get',
    'get-missing': 'get',
    scan: 'for…of entries()',
    seek: 'for…of entries(key), break after 100',
    mix: 'get + set',
  },
  async open() {
    let tree = new BTree();
    return {
      put: (k, v) => { tree.set(k, v); },
      putAll: (entries) => { tree.setPairs(entries); },
      get: (k) => tree.get(k),
      scan(weigh) {
        let n = 0, sum = 0;
        for (const [, v] of tree.entries()) { n++; sum += weigh(v); }
        return { n, sum };
      },
      seek(key, limit) {
        let n = 0, bytes = 0;
        for (const [, v] of tree.entries(key)) {
          bytes += v.length;
          if (++n === limit) break;
        }
        return { n, bytes };
      },
      async close() { tree = null; },
    };
  },
};
