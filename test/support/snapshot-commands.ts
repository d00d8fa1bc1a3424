// fast-check commands shared by model tests whose model keeps the current state in `now` and
// the snapshots taken so far beside a copy of `now` at their time (at most three open).
import type fc from 'fast-check';

interface Snapshotted { now: Map<string, unknown>; snaps: { at: Map<string, unknown>; snap: { close(): void } }[] }
interface Snapshots { s: { snapshot(): { close(): void } } }

export class TakeSnapshot<M extends Snapshotted, R extends Snapshots> implements fc.AsyncCommand<M, R> {
  check(m: Readonly<M>) { return m.snaps.length < 3; }
  async run(m: M, r: R) { m.snaps.push({ at: new Map(m.now), snap: r.s.snapshot() }); }
  toString() { return 'snapshot()'; }
}

export class DropSnapshot<M extends Snapshotted, R extends Snapshots> implements fc.AsyncCommand<M, R> {
  constructor(readonly i: number) {}
  check(m: Readonly<M>) { return m.snaps.length > 0; }
  async run(m: M) { const [x] = m.snaps.splice(this.i % m.snaps.length, 1); x.snap.close(); }
  toString() { return `dropSnapshot(${this.i})`; }
}
