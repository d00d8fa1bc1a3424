// Map: the in-memory upper bound for point operations (no order, so no scan or seek).
export default {
  name: 'Map',
  ordered: false,
  syncPut: true,
  api: {
    'fill-put': 'set',
    'fill-putAll': 'set × 1,000',
    get: 'get',
    'get-missing': 'get',
    mix: 'get + set',
  },
  async open() {
    let map = new Map();
    return {
      put: (k, v) => { map.set(k, v); },
      putAll(entries) { for (let i = 0; i < entries.length; i++) map.set(entries[i][0], entries[i][1]); },
      get: (k) => map.get(k),
      async close() { map = null; },
    };
  },
};
