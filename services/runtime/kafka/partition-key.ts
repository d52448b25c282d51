// Where a keyed record lands: Kafka's default partitioner, murmur2 of the key bytes, positive,
// modulo the partition count (Java's Utils.murmur2/toPositive, which kafkajs' DefaultPartitioner
// and librdkafka's murmur2_random, our two engines, both follow for non-null keys). Used to
// write one copy of a record into every partition of a topic keyed by an id the copy carries.

/** Java's Utils.murmur2 (seed 0x9747b28c), as a signed 32-bit int. */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The tail bytes, as Java's fall-through switch takes them.
  const tail = length & 3;
  if (tail >= 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) { h ^= data[whole]!; h = Math.imul(h, m); }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** `${base}:${n}` for the smallest n that lands on `partition`. */
export function keyForPartition(base: string, partition: number, partitions: number): string {
  for (let n = 0; ; n++) {
    const key = `${base}:${n}`;
    if (partitionOf(key, partitions) === partition) return key;
  }
}
