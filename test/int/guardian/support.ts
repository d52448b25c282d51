// Shared pieces of the guardian specs: a topic read to its end, and polling until a condition holds.
import type { CircuitStateChanged, SolvermeshEvent, StructuralWitnessRecorded } from '../../../schemas/generated/events';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import type { TestKafka } from '../../support/kafka';

/** Every decoded event of a topic (committed only), read to its current end, by event time. */
export async function readTopic(k: TestKafka, topic: string, partitions = MESH_PARTITIONS): Promise<SolvermeshEvent[]> {
  const recs = await readLog(k.brokers, k.codec, [...Array(partitions).keys()].map((p) => ({ topic: k.topic(topic), partition: p, from: 0 })));
  return recs.flatMap((r) => (r.event ? [r.event] : [])).sort((a, b) => a.meta.occurred_at - b.meta.occurred_at);
}

export async function until<T>(what: string, get: () => Promise<T>, done: (x: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const x = await get();
    if (done(x)) return x;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(x).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const circuits = async (k: TestKafka) => (await readTopic(k, 'mesh.circuits')).filter((e): e is CircuitStateChanged => e.type === 'CircuitStateChanged');
export const witnesses = async (k: TestKafka) => (await readTopic(k, 'mesh.witnesses')).filter((e): e is StructuralWitnessRecorded => e.type === 'StructuralWitnessRecorded');
