// SharedStore's owner (bindings/shared/owner.ts) run in Node: a Node Store, Node's
// BroadcastChannel and MessageChannel, a client played by hand with the protocol's messages
// (protocol.ts). The browser test (browser-shared.test.ts) covers the tabs themselves; this
// checks what a reply carries.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Owner } from '../bindings/shared/owner.js';
import { channelName, type Message, type Reply } from '../bindings/shared/protocol.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('SharedStore owner replies', () => {
  it('a small value a get answers crosses the channel as its own bytes, not its 8 KiB pool', async () => {
    // Found in review: get's bytes values became views into a shared 8 KiB pool
    // (bindings/byte-pool.ts), and a structured clone copies a view's whole ArrayBuffer, so
    // every get reply carried 8 KiB to every tab on the channel, and a client kept 8 KiB
    // alive per small value it held (and saw the pool's other values).
    const path = mkdtempSync(join(tmpdir(), 'strata-owner-'));
    dirs.push(path);
    const owner = await Owner.start({ path, tuning: {} });
    const client = new BroadcastChannel(channelName(path));
    const replies = new Map<number, Reply>();
    let arrived: () => void = () => {};
    client.onmessage = (e: MessageEvent<Message>) => {
      if (e.data.t !== 'res') return;
      for (const r of e.data.replies) if (r.client === 'c1') replies.set(r.id, r);
      arrived();
    };
    const ask = (id: number, op: object) => new Promise<Reply>((resolve) => {
      arrived = () => { const r = replies.get(id); if (r !== undefined) resolve(r); };
      client.postMessage({ t: 'req', to: owner.id, client: 'c1', id, ...op });
    });
    try {
      const key = new Uint8Array([1, 2, 3]);
      expect((await ask(1, { op: 'write', ops: [[0, key, new Uint8Array([7, 8, 9, 10])], [0, new Uint8Array([4]), new Uint8Array(100).fill(5)]] })).error).toBeUndefined();
      const got = (await ask(2, { op: 'get', key })).value as Uint8Array;
      expect([...got]).toEqual([7, 8, 9, 10]);
      expect(got.buffer.byteLength).toBe(4);
      const versioned = (await ask(3, { op: 'getVersioned', key })).value as { value: Uint8Array; version: number };
      expect([...versioned.value]).toEqual([7, 8, 9, 10]);
      expect(versioned.value.buffer.byteLength).toBe(4);
      // A range's values are views into its iterator batch's copy, which a clone sends whole;
      // a batch holds no more than the range asks (the limit is asked for in the batch), so
      // a reply of one entry carries that value's bytes only.
      const entries = (await ask(4, { op: 'range', reverse: false, limit: 1 })).value as [Uint8Array, Uint8Array][];
      expect(entries.length).toBe(1);
      expect(entries[0][1].buffer.byteLength).toBe(entries[0][1].byteLength);
    } finally {
      client.close();
      await owner.close();
    }
  });
});
