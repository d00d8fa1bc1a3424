// Group membership and partition ownership, leaderless, over a lease table (a JetStream KV
// bucket whose TTL is the lease, nats/tasks/lease-table.ts):
//
//   members.<id>   rewritten every heartbeat: the member is alive while it exists
//   owners.<p>     the member that runs partition p, renewed every heartbeat by compare-and-set
//
// Every heartbeat a member (1) rewrites its member entry, (2) renews each partition lease it
// holds — a renewal that fails means the lease expired or was taken (this member was paused
// or cut off): it stops that task at once, committing nothing more; (3) computes the
// assignment from the live members (nats/tasks/assignment.ts), (4) hands back the partitions
// no longer assigned to it (commit, stop, then delete the lease), (5) claims the ones
// assigned to it whose lease is free (create, then adopt: fence, restore or promote its
// standby, resume), and (6) with standbys, tells its host which partitions to follow.
//
// INVARIANTS: (1) at most one member holds a live lease on a partition (creates and renewals
// are compare-and-set); (2) a member runs a partition only while it holds its lease, except
// for the time between the lease's loss and its next heartbeat — and then the changelog's
// fence (taken by the next owner's adopt) refuses its commits, so no two owners both commit;
// (3) a partition is unowned for at most the lease time (its owner died) plus one heartbeat
// and its new owner's restore.
import { StrataError } from 'strata-kv';
import { assignPartitions, assignStandbys } from './assignment.js';
import type { LeaseTable } from './lease-table.js';

const MEMBERS = 'members.';
const OWNERS = 'owners.';

/** What the group asks of the tasks' owner (StreamTasks). */
export interface GroupHost {
  /** Start running p (fence, restore, resume). A rejection gives the lease back. */
  adopt(partition: number): Promise<void>;
  /** Commit and stop p: handed over to another member. */
  release(partition: number): Promise<void>;
  /** Stop p at once, committing nothing more: its lease is lost. */
  abandon(partition: number): Promise<void>;
  /** Adopting p failed; its lease is given back and the group tries again. */
  adoptFailed(partition: number, error: unknown): void;
  /** A heartbeat failed (the group retries on the next one). */
  heartbeatFailed(error: unknown): void;
  /** The partitions this member should keep standbys of (none it owns); called every heartbeat
   *  when the group keeps standbys. */
  standbys?(partitions: number[]): void;
}

export class GroupMember {
  /** Partitions whose lease this member holds → the lease's revision. */
  private readonly leases = new Map<number, number>();
  /** Partitions being adopted (adopt runs beside the heartbeats). */
  private readonly adopting = new Map<number, Promise<void>>();
  /** Partitions being handed back or dropped (a release commits first; an abandon waits for
   *  the task to stop): beside the heartbeats too, so a slow commit never delays a renewal. */
  private readonly handing = new Map<number, Promise<void>>();
  private memberRevision: number | undefined;
  private stopped = false;
  /** The first heartbeat only announces the member: members started together all see each
   *  other before any claims, instead of the first claiming everything and handing it back. */
  private announced = false;

  constructor(private readonly table: LeaseTable, readonly id: string, private readonly partitions: number,
              private readonly host: GroupHost, private readonly keepStandbys = false) {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new StrataError('INVALID_ARGUMENT', `a member id must be letters, digits, _ and -, got ${JSON.stringify(id)}`);
  }

  /** Partitions whose lease this member holds. */
  owned(): number[] { return [...this.leases.keys()].sort((a, b) => a - b); }

  /** One heartbeat (see the file comment). Never runs two at once: the caller awaits it. */
  async heartbeat(): Promise<void> {
    if (this.stopped) return;
    try {
      // The member entry and the renewals go together, and all settle before the heartbeat
      // goes on (or fails): a member entry that fails to write must not keep the renewals
      // from finding a lease lost (the member would go on running it), and two renewals of
      // one lease never overlap.
      const member = this.table.put(MEMBERS + this.id, JSON.stringify({ at: Date.now() }))
        .then((revision) => { this.memberRevision = revision; });
      const renewals = await Promise.allSettled([member, ...[...this.leases].map(async ([p, revision]) => {
        const next = await this.renew(p, revision);
        if (next === undefined) {
          this.leases.delete(p);
          // Being adopted: the adoption abandons it when it ends (it checks the lease).
          if (!this.adopting.has(p) && !this.handing.has(p)) this.handOver(p, () => this.host.abandon(p));
        } else {
          this.leases.set(p, next);
        }
      })]);
      const failed = renewals.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (this.stopped) return;
      if (!this.announced) { this.announced = true; return; }
      const members = [...(await this.table.list(MEMBERS)).keys()].map((k) => k.slice(MEMBERS.length));
      if (!members.includes(this.id)) members.push(this.id); // our own entry is live: we just wrote it
      const assigned = assignPartitions(members, this.partitions);
      for (const p of this.owned()) {
        if (assigned[p] === this.id || this.adopting.has(p) || this.handing.has(p)) continue;
        // The lease is kept (and renewed) until the task has committed and stopped.
        this.handOver(p, async () => {
          await this.host.release(p);
          await this.dropLease(p);
        });
      }
      for (let p = 0; p < this.partitions; p++) {
        // Never two adoptions of one partition, nor one while it is still being handed over.
        if (assigned[p] !== this.id || this.leases.has(p) || this.adopting.has(p) || this.handing.has(p) || this.stopped) continue;
        const revision = await this.claim(p);
        if (revision === undefined) continue; // still held: its owner hands it over, or its lease runs out
        this.leases.set(p, revision);
        const adoption = this.host.adopt(p).then(
          async () => {
            this.adopting.delete(p);
            if (!this.leases.has(p)) await this.host.abandon(p); // the lease was lost meanwhile
          },
          async (err: unknown) => {
            this.adopting.delete(p);
            this.host.adoptFailed(p, err);
            const r = this.leases.get(p);
            this.leases.delete(p);
            if (r !== undefined) await this.table.delete(OWNERS + p, r).catch(() => {});
          });
        this.adopting.set(p, adoption);
      }
      if (this.keepStandbys && this.host.standbys) {
        const standbys = assignStandbys(members, assigned);
        this.host.standbys(standbys.flatMap((m, p) => (m === this.id && !this.leases.has(p) ? [p] : [])));
      }
    } catch (err) {
      this.host.heartbeatFailed(err);
    }
  }

  /** Runs a hand-over of p beside the heartbeats; claims of p wait until it ends. */
  private handOver(p: number, work: () => Promise<void>): void {
    const done = work().catch((err: unknown) => this.host.heartbeatFailed(err)).finally(() => this.handing.delete(p));
    this.handing.set(p, done);
  }

  /** Deletes p's lease if this member still holds it. */
  private async dropLease(p: number): Promise<void> {
    const revision = this.leases.get(p);
    this.leases.delete(p);
    if (revision !== undefined) await this.table.delete(OWNERS + p, revision);
  }

  /**
   * Gives p up after its task failed: the task is aborted (nothing more committed) and the
   * lease deleted, so that a later heartbeat claims p again and adopts it afresh (restored
   * from the changelog).
   */
  giveUp(p: number): Promise<void> {
    if (!this.leases.has(p) || this.adopting.has(p) || this.handing.has(p) || this.stopped) return Promise.resolve();
    this.handOver(p, async () => {
      await this.host.abandon(p);
      await this.dropLease(p);
    });
    return this.handing.get(p) ?? Promise.resolve();
  }

  /**
   * Renews p's lease: its new revision, or undefined when the lease is lost. A renewal whose
   * answer was lost (a timeout) may still have been applied, leaving a newer revision than
   * this member knows; the entry then still names this member — only its owner writes its id
   * there — and is taken as held, at its current revision. A renewal that failed outright is
   * settled the same way, by reading the entry.
   */
  private async renew(p: number, revision: number): Promise<number | undefined> {
    // A renewal that fails (a timeout) may or may not have been applied: the entry says
    // whether the lease is still this member's. Only a failing read leaves it unknown (the
    // heartbeat fails and the lease is kept: the fence still stops a stale owner's commits).
    const next = await this.table.update(OWNERS + p, this.id, revision).catch(() => undefined);
    if (next !== undefined) return next;
    const current = await this.table.get(OWNERS + p);
    return current?.value === this.id ? this.table.update(OWNERS + p, this.id, current.revision) : undefined;
  }

  /** Creates p's lease: its revision, or undefined when another member holds it. A create
   *  whose answer was lost may have been applied: an entry naming this member is its own. */
  private async claim(p: number): Promise<number | undefined> {
    const revision = await this.table.create(OWNERS + p, this.id);
    if (revision !== undefined) return revision;
    const current = await this.table.get(OWNERS + p);
    return current?.value === this.id ? current.revision : undefined;
  }

  /** Leaves the group: waits for adoptions, releases every partition (commit, stop), deletes its entries. */
  async leave(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.adopting.values());
    await Promise.all(this.handing.values());
    for (const p of this.owned()) {
      await this.host.release(p).catch(() => {});
      const revision = this.leases.get(p)!;
      this.leases.delete(p);
      await this.table.delete(OWNERS + p, revision).catch(() => {});
    }
    if (this.memberRevision !== undefined) await this.table.delete(MEMBERS + this.id, this.memberRevision).catch(() => {});
  }
}
