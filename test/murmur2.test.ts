// murmur2 and kafkaPartition against Kafka: the Java client's published vectors, the C
// client's (librdkafka) vectors, and kafkajs's DefaultPartitioner (Java-compatible) as an
// independent oracle on random keys.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { murmur2, kafkaPartition, StrataError } from 'strata-kv';

const require = createRequire(import.meta.url);
type KafkajsPartitioner = (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key?: Buffer | null; partition?: number | null };
}) => number;
const kafkajs = require('kafkajs') as { Partitioners: { DefaultPartitioner: () => KafkajsPartitioner } };
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const utf8 = (s: string) => new TextEncoder().encode(s);

function kafkajsPartition(partitioner: KafkajsPartitioner, key: Uint8Array, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0 }));
  return partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(key) } });
}

describe('murmur2', () => {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2
  test.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('matches Kafka UtilsTest: %s', (key, expected) => {
    expect(murmur2(utf8(key))).toBe(expected);
  });

  // librdkafka src/rdmurmur2.c unittest_murmur2 (checked there against the Java client);
  // covers every tail length 0..3 and the empty key.
  test.each([
    ['kafka', 0xd067cf64],
    ['giberish123456789', 0x8f552b0c],
    ['1234', 0x9fc97b14],
    ['234', 0xe7c009ca],
    ['34', 0x873930da],
    ['4', 0x5a4b5ca1],
    ['PreAmbleWillBeRemoved,ThePrePartThatIs', 0x78424f1c],
    ['reAmbleWillBeRemoved,ThePrePartThatIs', 0x4a62b377],
    ['eAmbleWillBeRemoved,ThePrePartThatIs', 0xe0e4e09e],
    ['AmbleWillBeRemoved,ThePrePartThatIs', 0x62b8b43f],
    ['', 0x106e08d9],
  ])('matches librdkafka: %j', (key, unsigned) => {
    expect(murmur2(utf8(key))).toBe(unsigned | 0);
  });

  test('returns a signed 32-bit integer', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const h = murmur2(bytes);
      expect(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31).toBe(true);
    }));
  });

  test('equals kafkajs murmur2 on 2,000 random byte strings', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(murmur2(bytes)).toBe(kafkajsMurmur2(Buffer.from(bytes)));
    }), { numRuns: 2000 });
  });

  test('hashes a view by its own bytes, whatever its offset in the buffer', () => {
    const backing = utf8('xxfoobarxx');
    expect(murmur2(backing.subarray(2, 8))).toBe(-790332482);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
  });

  test.each([[undefined], [null], ['foobar'], [[1, 2, 3]], [new Uint16Array(2)], [new ArrayBuffer(4)]])(
    'rejects %j with INVALID_ARGUMENT', (bad) => {
      expect(() => murmur2(bad as unknown as Uint8Array)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    });
});

describe('kafkaPartition', () => {
  test('is toPositive(murmur2) % n, not Math.abs', () => {
    // murmur2('21') is negative; toPositive clears the sign bit.
    expect(kafkaPartition(utf8('21'), 2 ** 31 - 1)).toBe((-973932308 & 0x7fffffff) % (2 ** 31 - 1));
    expect(kafkaPartition(utf8('21'), 2 ** 31 - 1)).not.toBe(Math.abs(-973932308));
    expect(kafkaPartition(utf8('anything'), 1)).toBe(0);
  });

  test.each([1, 2, 3, 6, 7, 12, 16, 32, 100, 1000])(
    'agrees with kafkajs DefaultPartitioner on 1,000 random keys, %i partitions', (partitions) => {
      const partitioner = kafkajs.Partitioners.DefaultPartitioner();
      fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (key) => {
        const p = kafkaPartition(key, partitions);
        expect(p).toBe(kafkajsPartition(partitioner, key, partitions));
        expect(p >= 0 && p < partitions).toBe(true);
      }), { numRuns: 1000 });
    });

  test('agrees with kafkajs DefaultPartitioner on 1,000 random UTF-8 string keys', () => {
    const partitioner = kafkajs.Partitioners.DefaultPartitioner();
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 500 }), (s, partitions) => {
      expect(kafkaPartition(utf8(s), partitions)).toBe(kafkajsPartition(partitioner, utf8(s), partitions));
    }), { numRuns: 1000 });
  });

  test.each([0, -1, 1.5, NaN, Infinity, 2 ** 31, '3', undefined])('rejects partitions = %j', (n) => {
    const err = (() => { try { kafkaPartition(utf8('k'), n as number); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('INVALID_ARGUMENT');
  });

  test('rejects a key that is not a Uint8Array', () => {
    expect(() => kafkaPartition('k' as unknown as Uint8Array, 3)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
