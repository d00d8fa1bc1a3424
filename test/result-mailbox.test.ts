// A browser job's result in shared memory (bindings/background/result-mailbox.ts): what the
// worker writes the store reads back exactly, a result that does not fit leaves the mailbox
// untouched (the worker then answers by message), and a failure round-trips too.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { FILLED, WAITING, fillMailbox, mailboxFor, stateOf, takeResult } from '../bindings/background/result-mailbox.js';
import type { CompactionJob, JobResult } from '../bindings/background/job.js';

const jobOf = (inputs: number[]): CompactionJob => ({
  id: 7, image: new Uint8Array(8), tuning: {} as CompactionJob['tuning'],
  inputs: inputs.map((n, i) => ({ level: 1, id: i + 1, image: new Uint8Array(n) })),
});

describe('a result in a mailbox', () => {
  it('reads back exactly what the worker wrote: every output image and field (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 6 }), fc.nat(), (images, ms) => {
      const box = mailboxFor(jobOf(images.map((b) => b.length)));
      const r: JobResult = { id: 7, ok: true, outputs: images.map((b) => ({ image: b, bytes: b.length })), bytesRead: 12345, ms };
      expect(stateOf(box)).toBe(WAITING);
      expect(fillMailbox(box.buffer as SharedArrayBuffer, r)).toBe(true);
      expect(stateOf(box)).toBe(FILLED);
      const back = takeResult(box);
      expect(back.ok && back.outputs.map((o) => [o.bytes, [...o.image!]])).toEqual(images.map((b) => [b.length, [...b]]));
      expect({ ...back, outputs: undefined }).toEqual({ ...r, outputs: undefined });
    }));
  });

  it('a result larger than the mailbox is refused and leaves it WAITING (the worker answers by message)', () => {
    const box = mailboxFor(jobOf([100]));
    const big = new Uint8Array(box.buffer.byteLength); // more than the whole mailbox
    expect(fillMailbox(box.buffer as SharedArrayBuffer, { id: 7, ok: true, outputs: [{ image: big, bytes: big.length }], bytesRead: 0, ms: 0 })).toBe(false);
    expect(stateOf(box)).toBe(WAITING);
  });

  it('a failure round-trips', () => {
    const box = mailboxFor(jobOf([10]));
    const r: JobResult = { id: 7, ok: false, status: 5, run: 3, at: 4096, what: 2, message: 'background compaction failed: 000003.run at offset 4096' };
    expect(fillMailbox(box.buffer as SharedArrayBuffer, r)).toBe(true);
    expect(takeResult(box)).toEqual(r);
  });
});
