import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { keyForPartition, partitionOf } from '../../../services/runtime/kafka/partition-key';

describe('runtime/partition-key: where a keyed record lands', () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  const meta = (n: number) => [...Array(n).keys()].map((p) => ({ partitionId: p, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));

  it('given keys of every length and non-ASCII ones, then it picks the partition kafkajs\' default (Java-compatible) partitioner picks', () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'mesh', 'S000-C00-A01', 'mesh-freeze:7c9e6679-7425-40de-944b-e07fc1f90ae7:3', 'ünïcödé-κλειδί', ...[...Array(200).keys()].map((i) => `key-${i * 7919}`)];
    for (const n of [1, 3, 6, 12]) {
      for (const key of keys) assert.equal(partitionOf(key, n), kafkajs({ topic: 't', partitionMetadata: meta(n), message: { key, value: null } }), `${key} over ${n}`);
    }
  });

  it('given a base and a partition, then keyForPartition gives a key that lands there', () => {
    for (let p = 0; p < 6; p++) assert.equal(partitionOf(keyForPartition('mesh-freeze:x', p, 6), 6), p);
  });
});
