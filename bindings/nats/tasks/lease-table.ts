// Leases in a JetStream KV bucket: what group membership (nats/tasks/group.ts) needs of it, as
// an interface (the model test drives the group with an in-memory table and a virtual clock),
// and the NATS implementation.
//
// The bucket's TTL is the lease: an entry not rewritten for `leaseMs` disappears. Creates and
// updates are compare-and-set on the key's revision (JetStream's expected last subject
// sequence), so two members cannot both create, or both renew, the same lease.
import type { KV } from '@nats-io/kv';
import { Kvm } from '../client.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { StrataError } from 'strata-kv';
import { isTransient, withRetry } from '../util.js';

/** How long opening the bucket rides out a leader election or a reconnect. */
const OPEN_RETRY_MS = 30_000;

export interface LeaseTable {
  /** Writes key (creating or replacing it); its new revision. */
  put(key: string, value: string): Promise<number>;
  /** Creates key when it has no live entry; its revision, or undefined when it has one. */
  create(key: string, value: string): Promise<number | undefined>;
  /** Replaces key when its revision is still `revision`; the new revision, or undefined when not. */
  update(key: string, value: string, revision: number): Promise<number | undefined>;
  /** Key's live entry, or undefined. */
  get(key: string): Promise<{ value: string; revision: number } | undefined>;
  /** Deletes key when its revision is still `revision` (otherwise leaves it). */
  delete(key: string, revision: number): Promise<void>;
  /** The live entries whose keys start with `prefix` (a whole token: 'members.'). */
  list(prefix: string): Promise<Map<string, { value: string; revision: number }>>;
}

const WRONG_LAST_SEQUENCE = 10071;

function isConflict(err: unknown): boolean {
  return (err as { code?: number; api_error?: { err_code?: number } })?.api_error?.err_code === WRONG_LAST_SEQUENCE
    || /wrong last sequence|key exists/i.test(String((err as Error)?.message));
}

export class NatsLeaseTable implements LeaseTable {
  private constructor(private readonly kv: KV) {}

  /** Opens (creating when missing) bucket `bucket` with entries that live `leaseMs`. A
   *  timeout or an unavailable JetStream (a worker started while the cluster elects a
   *  leader) is retried for up to 30 s; any other failure is reported at once. */
  static async open(nc: NatsConnection, bucket: string, leaseMs: number, replicas: number, retryMs = OPEN_RETRY_MS): Promise<NatsLeaseTable> {
    try {
      return new NatsLeaseTable(await withRetry(() => new Kvm(nc).create(bucket, { ttl: leaseMs, history: 1, replicas }), retryMs, isTransient));
    } catch (err) {
      throw new StrataError('IO_ERROR', `cannot open the group's KV bucket ${bucket}: ${(err as Error)?.message}`, { cause: err });
    }
  }

  put(key: string, value: string): Promise<number> { return this.kv.put(key, value); }

  async create(key: string, value: string): Promise<number | undefined> {
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  async update(key: string, value: string, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(key, value, revision);
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  async get(key: string): Promise<{ value: string; revision: number } | undefined> {
    const e = await this.kv.get(key);
    return e !== null && e.operation === 'PUT' ? { value: e.string(), revision: e.revision } : undefined;
  }

  async delete(key: string, revision: number): Promise<void> {
    try {
      await this.kv.delete(key, { previousSeq: revision });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  async list(prefix: string): Promise<Map<string, { value: string; revision: number }>> {
    const out = new Map<string, { value: string; revision: number }>();
    const keys: string[] = [];
    for await (const k of await this.kv.keys(`${prefix}>`)) keys.push(k);
    for (const k of keys) {
      const e = await this.kv.get(k);
      if (e !== null && e.operation === 'PUT') out.set(k, { value: e.string(), revision: e.revision });
    }
    return out;
  }
}
