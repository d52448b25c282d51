import type { OutRecord, PartitionBatch, PartitionProgress } from './types';

export const tpKey = (topic: string, partition: number) => `${topic}|${partition}`;

export function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function groupByTopic(records: ReadonlyArray<OutRecord & { readonly partition?: number }>) {
  const byTopic = new Map<string, Array<{ key: Buffer | string | null; value: Buffer; headers?: Record<string, string | Buffer>; partition?: number }>>();
  for (const r of records) {
    let list = byTopic.get(r.topic);
    if (!list) { list = []; byTopic.set(r.topic, list); }
    const m: { key: Buffer | string | null; value: Buffer; headers?: Record<string, string | Buffer>; partition?: number } = { key: r.key, value: r.value };
    if (r.headers) m.headers = r.headers;
    if (r.partition !== undefined) m.partition = r.partition;
    list.push(m);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * A partition's progress as first fetched, before anything of it committed: without it a
 * service stuck on its very first record would report no lag, and so no stall.
 */
export function fetchedProgress(b: PartitionBatch, highWatermark: string): PartitionProgress {
  const position = b.records[0]!.offset;
  const high = Math.max(Number(highWatermark), Number(b.records[b.records.length - 1]!.offset) + 1);
  return { topic: b.topic, partition: b.partition, position, highWatermark: String(high), lag: Math.max(0, high - Number(position)) };
}
