// The messages of a SharedStore (docs/API.md, "Several tabs") and the layout it keeps in its
// directory. Every context that opens SharedStore({ path }) joins one BroadcastChannel,
// `strata-kv:<path>`; the elected owner serves requests on it, everybody else asks.
//
//   client -> all     { t: 'who' }                          who owns the store now?
//   owner  -> all     { t: 'owner', owner, epoch }          I do (at start, and to every 'who')
//   owner  -> all     { t: 'failed', owner, error }         elected, but the Store did not open
//   client -> owner   { t: 'req', to, client, id, op, ... } a request, for owner `to` only
//   owner  -> clients { t: 'res', replies: Reply[] }        answers, batched per task
//
// Invariants:
//   (1) An owner serves only requests addressed to it (`to`): a request is answered by the
//       owner it was sent to, or by none (that owner died or closed first).
//   (2) A client's request ids increase; it sends its requests in id order, and when a new
//       owner appears it sends every unanswered one again, in id order, to that owner.
//       Owners are numbered (`epoch`, one more than the last owner's, kept in the store), and
//       a client only ever moves to a higher one: a late announcement of a dead owner, which
//       messages from different contexts allow, cannot take its requests back there.
//   (3) The directory's layout: a user key k is stored as 0x01 | k; the key 0x00 | client id
//       holds that client's write marker (Marker). Each write is one atomic Store.write() of
//       the user's operations plus the marker advanced to the request's id, so a write sent
//       again after a failover is recognised (id <= marker) and answered without applying it
//       a second time. The key 0x02 holds the last owner's epoch (uint32, big-endian).
import { StrataError, type StrataErrorCode } from '../errors.js';

/** The operations a client asks for. Keys and values travel encoded (the client's codecs). */
export type Op =
  | { op: 'get'; key: Uint8Array }
  | { op: 'getVersioned'; key: Uint8Array }
  | { op: 'getAll'; keys: Uint8Array[] }
  | { op: 'range'; lower?: Bound; upper?: Bound; reverse: boolean; limit: number }
  | { op: 'write'; ops: WireWrite[] }
  | { op: 'flush' }
  | { op: 'stats' }
  | { op: 'bye' };

/** One write of a batch: [0, key, value] puts, [1, key] deletes. */
export type WireWrite = [0, Uint8Array, Uint8Array] | [1, Uint8Array];
export interface Bound { key: Uint8Array; inclusive: boolean }

export type Request = { t: 'req'; to: string; client: string; id: number } & Op;
export interface Reply { client: string; id: number; value?: unknown; error?: WireError }
export interface WireError { code: StrataErrorCode; message: string }

export type Message =
  | { t: 'who' }
  | { t: 'owner'; owner: string; epoch: number }
  | { t: 'failed'; owner: string; error: WireError }
  | Request
  | { t: 'res'; replies: Reply[] };

/** The operations that change the store: sent again after a failover only with their id,
 *  which the owner's marker recognises (invariant 3). */
export const isWrite = (op: Op['op']): boolean => op === 'write';

export const channelName = (path: string): string => `strata-kv:${path}`;
/** The Web Lock whose holder owns the store. */
export const lockName = (path: string): string => `strata-kv:${path}`;

export const USER = 0x01;
export const MARKER = 0x00;
export const EPOCH_KEY = Uint8Array.of(0x02);

/** 0x01 | key: where a user key lives in the owner's Store. */
export function storedKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out[0] = USER;
  out.set(key, 1);
  return out;
}

const text = new TextEncoder();
export const markerKey = (client: string): Uint8Array => {
  const id = text.encode(client);
  const out = new Uint8Array(id.length + 1);
  out[0] = MARKER;
  out.set(id, 1);
  return out;
};

/**
 * What the store keeps per writing client: `s`, the highest request id whose write was
 * processed (applied, or refused); `f`, the refused ones among them with their errors, complete
 * for ids >= `from` (older entries are dropped, FAILURES_KEPT at most); `t`, when `s` last
 * moved (ms since the epoch), so a new owner can drop markers no request can still need.
 */
export interface Marker { s: number; from: number; f: [number, StrataErrorCode, string][]; t: number }
export const FAILURES_KEPT = 32;
/** A marker untouched this long belongs to a client that is gone: every request it sent was
 *  answered or abandoned long ago (a resend follows a failover within seconds). */
export const MARKER_TTL_MS = 60 * 60 * 1000;

export function encodeMarker(m: Marker): Uint8Array { return text.encode(JSON.stringify(m)); }
/** The marker in `bytes`; a fresh one for none; undefined for bytes that are not one (a key
 *  0x00… a plain Store wrote in this directory: it is left alone). */
export function decodeMarker(bytes: Uint8Array | undefined): Marker | undefined {
  if (bytes === undefined) return { s: 0, from: 0, f: [], t: 0 };
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as Marker;
    return typeof m?.s === 'number' && typeof m.from === 'number' && Array.isArray(m.f) && typeof m.t === 'number' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** An error as it crosses the channel: a StrataError keeps its code, anything else is IO_ERROR. */
export function toWire(err: unknown): WireError {
  if (err instanceof StrataError) return { code: err.code, message: err.message };
  return { code: 'IO_ERROR', message: `the owner failed: ${err instanceof Error ? err.message : String(err)}` };
}
export const fromWire = (e: WireError): StrataError => new StrataError(e.code, e.message);

/** A random id for an owner or a client (unique among the contexts of one origin). */
export function randomId(): string {
  return typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
