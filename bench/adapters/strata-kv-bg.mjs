// strata-kv opened with `background: true`: compactions merged on the background worker
// thread (the default only for a store with a directory). The same build and adapter as
// strata-kv.mjs otherwise, so bench:peers (in memory, where the default is compaction in
// slices) shows both modes side by side; the runners' checks hold it to the same work.
import { strataKvAdapter } from './strata-kv-store.mjs';
import { build, pkg } from './strata-kv.mjs';

export default strataKvAdapter(pkg, build, { name: 'strata-kv-bg', background: true });
