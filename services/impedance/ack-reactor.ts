// Reactor: an ack on mesh.acks measured against its schedule (prediction accuracy, Redis
// counters), and copied, re-keyed by agent id with the predicted arrival filled in, to
// mesh.agent-acks in the transaction that consumes it: the repartition step of a co-partitioned
// join. mesh.agent-acks has mesh.heartbeats' partition count and key, and the range assignors
// (kafkajs: runtime/kafka/range-assigner.ts; librdkafka's default "range,roundrobin") give
// partition p of both to one instance, which folds the agent's acks (ack-fold.ts).
import type { AckReceived } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import { measureArrival } from './accuracy';
import type { ImpedanceMetrics } from './metrics';
import type { RegistryStore } from './registry-store';

const AGENT_ACKS: TopicName = 'mesh.agent-acks';

export function ackReactor(store: RegistryStore, metrics: ImpedanceMetrics): (ack: AckReceived) => Promise<Emit[]> {
  return async (ack) => {
    const arrived = ack.state !== 'TRANSIT';
    const predicted = ack.expected_arrival_at ?? (await store.scheduledArrival(ack.message_id));
    const m = predicted === null || !arrived ? null : measureArrival(ack.actual_arrival_at, predicted);
    const counted = await store.recordAck(ack.message_id, ack.agent_id, Math.floor(ack.meta.occurred_at / 1000), m, ack.state === 'CONFLICT');
    if (counted && m) {
      metrics.predictionError.observe(m.errorMs);
      metrics.predictions.inc({ result: m.within ? 'within_50ms' : 'outside' });
    }
    // Copied whether or not Redis saw it before: that check is outside the transaction, and the
    // agent's fold drops re-sent acks itself (ack-fold.ts).
    const keyed: AckReceived = predicted === ack.expected_arrival_at ? ack : { ...ack, expected_arrival_at: predicted };
    return [{ topic: AGENT_ACKS, key: ack.agent_id, event: keyed }];
  };
}
