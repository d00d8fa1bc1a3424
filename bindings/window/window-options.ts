// The options of WindowStore and SessionStore, their checks and defaults (docs/API.md,
// "WindowStore", "SessionStore"), and the stats both give.
import type { StoreOptions } from '../store/options.js';
import type { StoreStats } from '../store/stats.js';
import type { Codec } from '../codecs.js';
import { invalid, shown } from '../errors.js';

export interface WindowStoreOptions<K, V> extends Omit<StoreOptions<K, V>, 'ttlMs' | 'expirySweepMs'> {
  /** The size of a window, in ms: a window starting at t ends at t + windowMs (windowEnd). */
  windowMs: number;
  /** How long a window is kept, in ms, measured from its start to the stream time: a window
   *  is live while windowStart > streamTime - retentionMs. At least windowMs. */
  retentionMs: number;
  /** Keep every put of a key and window instead of the last (a join's buffer, as Kafka
   *  Streams' retainDuplicates): each put gets a seqnum; a null put is ignored. Default false. */
  retainDuplicates?: boolean;
  /** The span of a segment, in ms: retention deletes whole segments (one range tombstone).
   *  Default max(retentionMs / 2, 60000), Kafka Streams' segmentInterval. Fixed for the
   *  store's life (its key layout depends on it). */
  segmentMs?: number;
}

export interface SessionStoreOptions<K, V> extends Omit<StoreOptions<K, V>, 'ttlMs' | 'expirySweepMs'> {
  /** How long a session is kept, in ms, measured from its end to the stream time: a session
   *  is live while end > streamTime - retentionMs. */
  retentionMs: number;
  /** As WindowStoreOptions.segmentMs; a session's segment is that of its end. */
  segmentMs?: number;
}

/** What WindowStore.stats() and SessionStore.stats() tell. */
export interface WindowStoreStats {
  /** The largest window start (session end) seen, or advanceStreamTime's, -1 before any. */
  streamTime: number;
  /** The first segment retention keeps: floor((streamTime - retentionMs + 1) / segmentMs). */
  firstLiveSegment: number;
  /** Puts dropped since open because their window (session) had already expired. */
  expiredDropped: number;
  /** Range tombstones retention wrote since open (one per advance of firstLiveSegment). */
  retentionDeletes: number;
  /** The underlying Store's stats. */
  store: StoreStats;
}

/** The checked options: the window store's own, and what is left for Store.open. */
export interface SegmentedConfig<K, V> {
  windowMs: number;
  retentionMs: number;
  segmentMs: number;
  retainDuplicates: boolean;
  keyCodec: Codec<K>;
  valueCodec: Codec<V>;
  storeOptions: StoreOptions<Uint8Array, Uint8Array>;
}

/** The default segment span: Kafka Streams' RocksDbWindowBytesStoreSupplier. */
const MIN_SEGMENT_MS = 60_000;
/** At most this many segments are live (retentionMs / segmentMs): a fetch of one key seeks
 *  once per segment in its time range. */
const MAX_LIVE_SEGMENTS = 4096;

function positiveMs(o: Record<string, unknown>, name: string): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalid(`${name} must be a positive integer (ms), got ${shown(v)}`);
  return v;
}

/** Checks a WindowStore's options (`sessions` false) or a SessionStore's (true; no windowMs,
 *  no retainDuplicates). */
export function checkSegmentedOptions<K, V>(options: WindowStoreOptions<K, V> | SessionStoreOptions<K, V>, identity: Codec<unknown>,
                                         sessions = false): SegmentedConfig<K, V> {
  const name = sessions ? 'SessionStore' : 'WindowStore';
  if (options === null || typeof options !== 'object') throw invalid(`${name}.open expects an options object with ${sessions ? '' : 'windowMs and '}retentionMs`);
  const o = options as unknown as Record<string, unknown>;
  for (const n of sessions ? ['windowMs', 'retainDuplicates'] : []) {
    if (o[n] !== undefined) throw invalid(`${n} is not a session store option`);
  }
  const windowMs = sessions ? 0 : positiveMs(o, 'windowMs');
  const retentionMs = positiveMs(o, 'retentionMs');
  if (retentionMs < windowMs) throw invalid(`retentionMs (${retentionMs}) must be at least windowMs (${windowMs}): a window must outlive its own span`);
  const segmentMs = o.segmentMs === undefined ? Math.max(Math.floor(retentionMs / 2), MIN_SEGMENT_MS) : positiveMs(o, 'segmentMs');
  if (retentionMs / segmentMs > MAX_LIVE_SEGMENTS) {
    throw invalid(`segmentMs ${segmentMs} makes ${Math.ceil(retentionMs / segmentMs)} live segments; at most ${MAX_LIVE_SEGMENTS} (segmentMs >= retentionMs / ${MAX_LIVE_SEGMENTS})`);
  }
  const retainDuplicates = o.retainDuplicates ?? false;
  if (typeof retainDuplicates !== 'boolean') throw invalid('retainDuplicates must be a boolean');
  for (const n of ['ttlMs', 'expirySweepMs']) {
    if (o[n] !== undefined) throw invalid(`${n} is not a ${sessions ? 'session' : 'window'} store option: retention expires ${sessions ? 'sessions' : 'windows'} (retentionMs)`);
  }
  if (o.mergeOperators !== undefined) throw invalid(`mergeOperators is not a ${sessions ? 'session' : 'window'} store option`);
  const { windowMs: _w, retentionMs: _r, segmentMs: _s, retainDuplicates: _d, mergeOperators: _m, keyCodec, valueCodec, ...rest } = options as WindowStoreOptions<K, V>;
  for (const [name, c] of [['keyCodec', keyCodec], ['valueCodec', valueCodec]] as const) {
    if (c !== undefined && (typeof c?.encode !== 'function' || typeof c?.decode !== 'function')) {
      throw invalid(`${name} must have encode and decode functions`);
    }
  }
  return {
    windowMs, retentionMs, segmentMs, retainDuplicates,
    keyCodec: (keyCodec ?? identity) as Codec<K>,
    valueCodec: (valueCodec ?? identity) as Codec<V>,
    storeOptions: rest,
  };
}
