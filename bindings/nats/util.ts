// Small helpers shared by the NATS changelog's files: JetStream retries, the partition check,
// the subject token of a key. No state; nothing here knows NatsChangelog.
import { createHash } from 'node:crypto';
import { StrataError } from 'strata-kv';

/** A failure that a leader election or a reconnect explains: the same call may succeed soon. */
export const isTransient = (err: unknown): boolean =>
  /timeout|no responders|temporarily unavailable|503/i.test(`${(err as Error)?.name} ${(err as Error)?.message}`);

/** Retries a JetStream API call through leader elections and reconnects (every failure but a
 *  stream gone or a closed connection, or only those `retryable` accepts). */
export async function withRetry<T>(fn: () => Promise<T>, forMs: number, retryable?: (err: unknown) => boolean): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let backoff = 25; ; backoff = Math.min(backoff * 2, 500)) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + backoff > deadline) throw err;
      if (retryable && !retryable(err)) throw err;
      const code = (err as { code?: number })?.code;
      if (code === 10059 || /closed/i.test(String((err as Error)?.message))) throw err; // stream gone, connection closed
      await delay(backoff);
    }
  }
}

/** A subject token for a key: `k` + base64url for keys up to 96 bytes, else `h` + SHA-256 hex. */
export function keyToken(key: Uint8Array): string {
  if (key.length <= 96) return 'k' + Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64url');
  return 'h' + createHash('sha256').update(key).digest('hex');
}

/**
 * A subject token for a range deletion [from, to) (compacted retention): `r` + SHA-256 hex
 * of fromLength u32 LE | from | to. Never a key's token (`k`, `h`), so no put or delete of a
 * key replaces it: the range deletion must outlive the older records of the keys it covers,
 * which JetStream keeps on their own subjects. A later deletion of the same range replaces
 * it, which is exact: it deletes the same keys later.
 */
export function rangeToken(from: Uint8Array, to: Uint8Array): string {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(from.length);
  return 'r' + createHash('sha256').update(len).update(from).update(to).digest('hex');
}

/** A value as an error message shows it, never throwing (strata-kv's errors.ts shown: an
 *  object String cannot convert, e.g. Object.create(null), shows as its type tag). */
export function shown(value: unknown): string {
  try { return String(value); } catch { /* no usable toString */ }
  try { return Object.prototype.toString.call(value); } catch { return `[${typeof value}]`; }
}

export function checkPartition(p: unknown): void {
  if (!Number.isInteger(p) || (p as number) < 0 || (p as number) > 0xffff_ffff) {
    throw new StrataError('INVALID_ARGUMENT', `partition must be an integer from 0 to ${0xffff_ffff}, got ${shown(p)}`);
  }
}

export function delay(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
