// Kafka's key hash and default partitioner, so a store partition lines up with the topic
// partition a Kafka producer picks for the same key bytes (co-partitioning).
//
// murmur2 is MurmurHash2 (32-bit) exactly as org.apache.kafka.common.utils.Utils.murmur2
// computes it: seed 0x9747b28c mixed with the length, 4-byte little-endian words, the tail
// bytes folded in from the highest down, then the final avalanche. Java's int arithmetic
// wraps at 32 bits, hence Math.imul and int32 bit operators; the result is a signed int
// because Java returns one and Kafka's tests compare signed values.
import { invalid, shown } from '../errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Kafka's Utils.murmur2 of `bytes`: a signed 32-bit integer. */
export function murmur2(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw invalid('murmur2 expects a Uint8Array');
  const length = bytes.length;
  let h = SEED ^ length;
  const words = length & ~3;
  for (let i = 0; i < words; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the tail mixes 3, 2 then 1 bytes, as Kafka's Java reference
    case 3: h ^= bytes[words + 2] << 16; // falls through
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2: h ^= bytes[words + 1] << 8; // falls through
    case 1: h ^= bytes[words]; h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The largest partition count Kafka can express (partition ids are Java ints). */
const MAX_PARTITIONS = 0x7fffffff;

/**
 * The partition Kafka's default partitioner gives a keyed record:
 * `toPositive(murmur2(keyBytes)) % partitions`, where toPositive clears the sign bit
 * (it is not Math.abs: -1 maps to 0x7fffffff).
 */
export function kafkaPartition(keyBytes: Uint8Array, partitions: number): number {
  if (!(keyBytes instanceof Uint8Array)) throw invalid('kafkaPartition expects the key as a Uint8Array');
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw invalid(`partitions must be an integer in [1, ${MAX_PARTITIONS}], got ${shown(partitions)}`);
  }
  return (murmur2(keyBytes) & 0x7fffffff) % partitions;
}
