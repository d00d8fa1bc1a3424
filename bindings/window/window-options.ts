// WindowStoreOptions, their checks and defaults (docs/API.md, "WindowStore").
import type { StoreOptions } from '../store/options.js';
import type { StoreStats } from '../store/stats.js';
import type { Codec } from '../codecs.js';
import { invalid } from '../errors.js';

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

/** What WindowStore.stats() tells. */
export interface WindowStoreStats {
  /** The largest window start seen (or advanceStreamTime), -1 before any. */
  streamTime: number;
  /** The first segment retention keeps: floor((streamTime - retentionMs + 1) / segmentMs). */
  firstLiveSegment: number;
  /** Puts dropped since open because their window had already expired. */
  expiredDropped: number;
  /** Range tombstones retention wrote since open (one per advance of firstLiveSegment). */
  retentionDeletes: number;
  /** The underlying Store's stats. */
  store: StoreStats;
}

/** The checked options: the window store's own, and what is left for Store.open. */
export interface WindowConfig<K, V> {
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

function positiveMs(o: Record<string, unknown>, name: string): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalid(`${name} must be a positive integer (ms), got ${String(v)}`);
  return v;
}

export function checkWindowOptions<K, V>(options: WindowStoreOptions<K, V>, identity: Codec<unknown>): WindowConfig<K, V> {
  if (options === null || typeof options !== 'object') throw invalid('WindowStore.open expects an options object with windowMs and retentionMs');
  const o = options as unknown as Record<string, unknown>;
  const windowMs = positiveMs(o, 'windowMs');
  const retentionMs = positiveMs(o, 'retentionMs');
  if (retentionMs < windowMs) throw invalid(`retentionMs (${retentionMs}) must be at least windowMs (${windowMs}): a window must outlive its own span`);
  const segmentMs = o.segmentMs === undefined ? Math.max(Math.floor(retentionMs / 2), MIN_SEGMENT_MS) : positiveMs(o, 'segmentMs');
  const retainDuplicates = o.retainDuplicates ?? false;
  if (typeof retainDuplicates !== 'boolean') throw invalid('retainDuplicates must be a boolean');
  for (const name of ['ttlMs', 'expirySweepMs']) {
    if (o[name] !== undefined) throw invalid(`${name} is not a window store option: retention expires windows (retentionMs)`);
  }
  const { windowMs: _w, retentionMs: _r, segmentMs: _s, retainDuplicates: _d, keyCodec, valueCodec, ...rest } = options;
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
