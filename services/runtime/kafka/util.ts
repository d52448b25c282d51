import type { OutRecord } from './types';

export const tpKey = (topic: string, partition: number) => `${topic}|${partition}`;

export function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function groupByTopic(records: readonly OutRecord[]) {
  const byTopic = new Map<string, Array<{ key: Buffer | string | null; value: Buffer; headers?: Record<string, string | Buffer> }>>();
  for (const r of records) {
    let list = byTopic.get(r.topic);
    if (!list) { list = []; byTopic.set(r.topic, list); }
    list.push(r.headers ? { key: r.key, value: r.value, headers: r.headers } : { key: r.key, value: r.value });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
