// The owner of a SharedStore: the one context (a dedicated Worker, where OPFS sync access
// handles exist) that has the Store open and answers every tab's requests on the channel
// (protocol.ts). It runs while its tab holds the store's Web Lock (election.ts).
//
// Invariants:
//   (1) A write is acknowledged only in a task after the one that applied it: without `sync`
//       the Store writes its log when the applying task ends, so an acknowledged write is in
//       the log file and survives the tab's crash (replies are batched per task anyway).
//   (2) A write request is processed at most once per client id and request id: its
//       operations and the client's advanced marker are one atomic Store.write(), and a request
//       whose id is at or below the marker gets the answer it had (protocol.ts, invariant 3).
//   (3) Requests are served synchronously in arrival order (flush excepted), so a client's
//       writes are applied in its id order and the marker is the highest id processed. Those
//       that arrived since the last serving task are served in one task: the log is written
//       once for them all (a log write per task costs ~0.06 ms in OPFS on disk and ~0.8 ms
//       in an incognito context, docs/PERFORMANCE.md; one per request capped writes at
//       ~600/s in the incognito tests).
// Cost: one extra key (~40 bytes) per write batch in the log and the memtable.
import { Store, type WriteOp, type RangeBounds } from '../store/store.js';
import type { StoreOptions } from '../store/options.js';
import { StrataError } from '../errors.js';
import {
  EPOCH_KEY, FAILURES_KEPT, MARKER, MARKER_TTL_MS, USER, channelName, decodeMarker, encodeMarker, markerKey, randomId,
  storedKey, toWire, type Bound, type Marker, type Message, type Reply, type Request,
} from './protocol.js';

/** The Store options that can cross to the owner's worker (plain data, no functions). */
export const TUNING_OPTIONS = [
  'sync', 'memtableBytes', 'blockBytes', 'bloomBitsPerKey', 'levelBaseBytes', 'levelSizeMultiplier',
  'runTargetBytes', 'autoCompaction', 'maxMemoryBytes', 'blockCacheBytes',
] as const;
export type SharedTuning = Pick<StoreOptions<unknown, unknown>, (typeof TUNING_OPTIONS)[number]>;

export interface OwnerConfig { path: string; tuning: SharedTuning }

/** How long a new owner retries a LOCKED directory: the dead owner's worker may hold its sync
 *  access handles a moment after its tab's Web Lock passed. */
const LOCKED_RETRY_MS = 10_000;
const LOCKED_RETRY_STEP_MS = 50;

async function openRetrying(config: OwnerConfig): Promise<Store> {
  const until = Date.now() + LOCKED_RETRY_MS;
  for (;;) {
    try {
      return await Store.open({ ...config.tuning, path: config.path });
    } catch (err) {
      if (!(err instanceof StrataError) || err.code !== 'LOCKED' || Date.now() >= until) throw err;
      await new Promise((r) => setTimeout(r, LOCKED_RETRY_STEP_MS));
    }
  }
}

/** A value as a reply carries it: a view into a larger buffer (get's copies share an 8 KiB
 *  pool, bindings/byte-pool.ts) copied to a buffer of its own, since a structured clone
 *  copies a view's whole buffer, to every tab on the channel. */
const own = (v: Uint8Array | undefined): Uint8Array | undefined =>
  v !== undefined && v.byteLength !== v.buffer.byteLength ? v.slice() : v;

const upperOf = (b: Bound | undefined): Partial<RangeBounds<Uint8Array>> =>
  b === undefined ? { lt: Uint8Array.of(USER + 1) } : b.inclusive ? { lte: storedKey(b.key) } : { lt: storedKey(b.key) };
const lowerOf = (b: Bound | undefined): Partial<RangeBounds<Uint8Array>> =>
  b === undefined ? { gte: Uint8Array.of(USER) } : b.inclusive ? { gte: storedKey(b.key) } : { gt: storedKey(b.key) };

export class Owner {
  readonly id = randomId();
  private readonly channel: BroadcastChannel;
  /** Each client's marker as the store holds it (read on the client's first write). */
  private readonly markers = new Map<string, Marker>();
  private replies: Reply[] = [];
  private sending = false;
  /** Requests received since the last serving task. Served together in one task, so the
   *  Store writes its log once for all of them (one OPFS write per task, not per request). */
  private inbox: Message[] = [];
  /** Posting to port2 runs the next step as a task of its own (no timer clamping). */
  private readonly tasks = new MessageChannel();
  private closed = false;
  /** Announced: set once the epoch is in the log (start). */
  private live = false;
  /** The channel is closed: nothing more can be sent. */
  private gone = false;

  private constructor(private readonly store: Store, private readonly path: string, private readonly epoch: number) {
    this.channel = new BroadcastChannel(channelName(path));
    this.channel.onmessage = (e: MessageEvent<Message>) => {
      this.inbox.push(e.data);
      if (this.inbox.length === 1) this.tasks.port2.postMessage('serve');
    };
    this.tasks.port1.onmessage = (e: MessageEvent<'serve' | 'send'>) => {
      if (e.data === 'send') { this.send(); return; }
      const batch = this.inbox;
      this.inbox = [];
      for (const m of batch) this.onMessage(m);
    };
  }

  /** Opens the store (retrying LOCKED for a while), drops stale markers, announces itself.
   *  On failure every client hears why ('failed') and the error is thrown. */
  static async start(config: OwnerConfig): Promise<Owner> {
    let store: Store | undefined;
    let owner: Owner | undefined;
    try {
      store = await openRetrying(config);
      const last = store.get(EPOCH_KEY);
      const epoch = (last?.length === 4 ? new DataView(last.buffer, last.byteOffset).getUint32(0) : 0) + 1;
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, epoch);
      store.put(EPOCH_KEY, bytes);
      owner = new Owner(store, config.path, epoch);
      owner.dropStaleMarkers();
      // Announced a task later, when the log holds the epoch (invariant 1's argument): a
      // successor that crashed the owner's tab still reads it, so numbers never repeat.
      await new Promise((r) => setTimeout(r, 0));
    } catch (err) {
      if (owner) await owner.close().catch(() => {});
      else await store?.close().catch(() => {});
      const channel = new BroadcastChannel(channelName(config.path));
      channel.postMessage({ t: 'failed', owner: randomId(), error: toWire(err) } satisfies Message);
      channel.close();
      throw err;
    }
    owner.live = true;
    owner.announce();
    return owner;
  }

  /** Closes the Store (making every applied write durable), then sends the answers still
   *  queued. Requests arriving later are left to the next owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.store.close();
    } finally {
      this.send();
      this.gone = true;
      this.channel.close();
      this.tasks.port1.close();
      this.tasks.port2.close();
    }
  }

  private onMessage(m: Message): void {
    if (this.closed) return;
    if (m.t === 'who') { if (this.live) this.announce(); return; } // else: start() announces
    if (m.t !== 'req' || m.to !== this.id) return;
    if (m.op === 'flush') {
      // Unanswered if this owner closed meanwhile (its CLOSED is not the client's): the
      // client sends it again to the next owner.
      this.store.flush().then(() => this.reply(m, null), (err) => { if (!this.closed) this.reply(m, undefined, err); });
      return;
    }
    try {
      this.reply(m, this.serve(m));
    } catch (err) {
      this.reply(m, undefined, err);
    }
  }

  private announce(): void {
    this.channel.postMessage({ t: 'owner', owner: this.id, epoch: this.epoch } satisfies Message);
  }

  private serve(m: Request): unknown {
    const s = this.store;
    switch (m.op) {
      case 'get': return own(s.get(storedKey(m.key)));
      case 'getVersioned': { const r = s.getVersioned(storedKey(m.key)); return r && { value: own(r.value), version: r.version }; }
      case 'getAll': return s.getAll(m.keys.map(storedKey));
      case 'range': {
        const out: [Uint8Array, Uint8Array][] = [];
        const bounds = { ...lowerOf(m.lower), ...upperOf(m.upper), reverse: m.reverse, limit: m.limit } as RangeBounds<Uint8Array>;
        for (const [k, v] of s.range(bounds)) out.push([k.slice(1), v]);
        return out;
      }
      case 'write': this.write(m); return null;
      case 'stats': return s.stats(); // plain data: it crosses the channel as it is
      case 'bye':
        // The client closed: nothing it sent can come back, so its marker can go.
        this.markers.delete(m.client);
        s.delete(markerKey(m.client));
        return null;
      default: throw new StrataError('INVALID_ARGUMENT', `unknown request ${JSON.stringify((m as { op: unknown }).op)}`);
    }
  }

  private markerOf(client: string): Marker {
    let m = this.markers.get(client);
    if (m === undefined) {
      const stored = this.store.get(markerKey(client));
      m = decodeMarker(stored);
      if (m === undefined) throw new StrataError('CORRUPTION', `the write marker of client ${client} in ${this.path} is not one (is this a plain Store's directory?)`);
      this.markers.set(client, m);
    }
    return m;
  }

  private write(m: Request & { op: 'write' }): void {
    const marker = this.markerOf(m.client);
    if (m.id <= marker.s) {
      // Processed before (this owner or the one before it, whose answer was lost): the same answer.
      if (m.id < marker.from) {
        throw new StrataError('IO_ERROR', `write request ${m.id} was processed by an earlier owner and its outcome is no longer known`);
      }
      const refused = marker.f.find(([id]) => id === m.id);
      if (refused !== undefined) throw new StrataError(refused[1], refused[2]);
      return;
    }
    const ops: WriteOp<Uint8Array, Uint8Array>[] = m.ops.map((w) =>
      w[0] === 0 ? { type: 'put', key: storedKey(w[1]), value: w[2] } : { type: 'del', key: storedKey(w[1]) });
    const applied: Marker = { ...marker, s: m.id, t: Date.now() };
    try {
      ops.push({ type: 'put', key: markerKey(m.client), value: encodeMarker(applied) });
      this.store.write(ops);
      this.markers.set(m.client, applied);
    } catch (err) {
      // Nothing applied (a write is atomic). Remembered, so that the request sent again after
      // a failover gets this answer and not a second try.
      const w = toWire(err);
      const f = [...marker.f, [m.id, w.code, w.message] as [number, typeof w.code, string]];
      let from = marker.from;
      while (f.length > FAILURES_KEPT) from = f.shift()![0] + 1;
      const refused: Marker = { s: m.id, from, f, t: Date.now() };
      try {
        this.store.put(markerKey(m.client), encodeMarker(refused));
        this.markers.set(m.client, refused);
      } catch {
        // The store refuses every write (read-only after an I/O failure): a resend fails alike.
      }
      throw err;
    }
  }

  /** Markers of clients gone for MARKER_TTL_MS (a closed tab says 'bye'; a crashed one cannot). */
  private dropStaleMarkers(): void {
    const stale: Uint8Array[] = [];
    const before = Date.now() - MARKER_TTL_MS;
    for (const [k, v] of this.store.range({ gte: Uint8Array.of(MARKER), lt: Uint8Array.of(MARKER + 1) })) {
      const m = decodeMarker(v);
      if (m !== undefined && m.t < before) stale.push(k);
    }
    if (stale.length > 0) this.store.deleteAll(stale);
  }

  private reply(m: Request, value: unknown, err?: unknown): void {
    if (this.gone) return; // the client asks the next owner
    this.replies.push(err === undefined ? { client: m.client, id: m.id, value } : { client: m.client, id: m.id, error: toWire(err) });
    if (this.sending) return;
    this.sending = true;
    this.tasks.port2.postMessage('send'); // a later task: invariant (1)
  }

  private send(): void {
    this.sending = false;
    if (this.replies.length === 0) return;
    const replies = this.replies;
    this.replies = [];
    this.channel.postMessage({ t: 'res', replies } satisfies Message);
  }
}
