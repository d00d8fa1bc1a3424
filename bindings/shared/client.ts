// A SharedStore's requests to whichever context owns the store now (protocol.ts): ids, the
// answers, and sending again after a failover.
//
// Invariants:
//   (1) A request stays pending until its answer arrives; it is sent to the current owner
//       when there is one, and sent again, with the same id, to every new owner that
//       announces itself while it is pending. Reads are harmless to repeat; writes are
//       recognised by the owner's marker (owner.ts), so each is applied at most once, and an
//       acknowledged write was applied exactly once.
//       An owner is taken on only if its epoch is above the current one's.
//   (2) Pending requests are sent in id order (a Map iterates in insertion order), so the
//       owner sees a client's writes in the order they were made.
import { StrataError } from '../errors.js';
import { channelName, fromWire, randomId, type Message, type Op, type WireError } from './protocol.js';

interface Pending { op: Op; resolve: (value: unknown) => void; reject: (err: unknown) => void }

export class Client {
  readonly id = randomId();
  /** The owner requests go to; undefined until one has announced itself. */
  private owner: string | undefined;
  /** The owner's number (protocol.ts): announcements of lower ones are ignored. */
  private epoch = 0;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly channel: BroadcastChannel;
  private closedError: StrataError | undefined;
  /** close() waiting for the pending requests. */
  private readonly idle: (() => void)[] = [];
  private channelClosed = false;
  /** Called on an owner's announcement (once per new owner). */
  onOwner: (owner: string) => void = () => {};
  /** Called when an elected context could not open the store. */
  onFailed: (error: StrataError) => void = () => {};

  constructor(path: string) {
    this.channel = new BroadcastChannel(channelName(path));
    this.channel.onmessage = (e: MessageEvent<Message>) => this.onMessage(e.data);
    this.channel.postMessage({ t: 'who' } satisfies Message);
  }

  request(op: Op): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, resolve, reject });
      if (this.owner !== undefined) this.send(id, op);
    });
  }

  /**
   * Refuses every later request with `error`, waits for the pending ones to be answered, then
   * says goodbye to the owner (it drops this client's marker) and leaves the channel.
   */
  async close(error: StrataError): Promise<void> {
    if (this.closedError) return;
    this.closedError = error;
    if (this.pending.size > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.owner !== undefined) {
      this.channel.postMessage({ t: 'req', to: this.owner, client: this.id, id: ++this.nextId, op: 'bye' } satisfies Message);
    }
    this.channelClosed = true;
    this.channel.close();
  }

  /** Rejects every pending request with `error` (an elected context could not open the store). */
  failPending(error: StrataError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(error);
    this.settled();
  }

  private settled(): void {
    if (this.pending.size > 0) return;
    for (const r of this.idle.splice(0)) r();
  }

  private send(id: number, op: Op): void {
    this.channel.postMessage({ t: 'req', to: this.owner!, client: this.id, id, ...op } as Message);
  }

  private onMessage(m: Message): void {
    if (this.channelClosed) return;
    switch (m.t) {
      case 'owner':
        if (m.epoch <= this.epoch) return; // this owner, or one before it (invariant 1)
        this.owner = m.owner;
        this.epoch = m.epoch;
        for (const [id, p] of this.pending) this.send(id, p.op);
        this.onOwner(m.owner);
        return;
      case 'failed': this.onFailed(failedError(m.error)); return;
      case 'res':
        for (const r of m.replies) {
          if (r.client !== this.id) continue;
          const p = this.pending.get(r.id);
          if (p === undefined) continue; // answered already (a resend's second answer)
          this.pending.delete(r.id);
          if (r.error) p.reject(fromWire(r.error));
          else p.resolve(r.value);
        }
        this.settled();
        return;
      default:
    }
  }
}

const failedError = (e: WireError): StrataError =>
  new StrataError(e.code, `the store could not be opened by the context elected to own it (a write sent to the owner before it may have been applied): ${e.message}`);
