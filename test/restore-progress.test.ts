// Regression (found reviewing #14): a restore's onProgress callback that throws makes restore() reject with that
// raw error (not a StrataError), after its chunk was logged and applied, and before the
// restore's durability step (disk.flush()) runs.
import { describe, it, expect } from 'vitest';
import { Store, StrataError, type ChangeRecord } from 'strata-kv';

describe('restore onProgress', () => {
  it('a throwing onProgress: restore rejects with a StrataError, or the chunk it reported is not applied', async () => {
    const s = await Store.open();
    const enc = new TextEncoder();
    const records: ChangeRecord[] = [1, 2, 3].map((seq) => ({ partition: 0, seq, key: enc.encode(`k${seq}`), value: enc.encode('v') }));
    const err = await s.restore(records, { onProgress: () => { throw new Error('progress bar broke'); } }).then(() => undefined, (e) => e);
    const applied = s.has(enc.encode('k1'));
    await s.close();
    // before the fix: a plain Error escapes, and the store holds the chunk anyway
    expect(err === undefined || err instanceof StrataError || !applied).toBe(true);
  });
});
