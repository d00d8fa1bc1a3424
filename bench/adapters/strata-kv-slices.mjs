// strata-kv opened with `background: false`: compactions merge in slices paid by writes on
// the store's thread (the behaviour before background compaction, and browsers'). The same
// build and adapter as strata-kv.mjs otherwise, so a run shows both modes side by side;
// the runners' checks hold it to the same work (hits, bytes read) as strata-kv.
import { strataKvAdapter } from './strata-kv-store.mjs';
import { build, pkg } from './strata-kv.mjs';

export default strataKvAdapter(pkg, build, { name: 'strata-kv-slices', background: false });
