// Reactor: an ack on mesh.acks copied, re-keyed by agent id with the predicted arrival filled in
// (from its schedule when the agent did not send it), to mesh.agent-acks in the transaction that
// consumes it: the repartition step of a co-partitioned join. mesh.agent-acks has
// mesh.heartbeats' partition count and key, and the range assignors (kafkajs:
// runtime/kafka/range-assigner.ts; librdkafka's default "range,roundrobin") give partition p of
// both to one instance, which folds the agent's acks (ack-fold.ts): reliability, quarantine and
// prediction accuracy, each ack counted once there, where the copy's place in the log says which
// summaries saw it (accuracy.ts).
import type { AckReceived } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import type { RegistryStore } from './registry-store';

const AGENT_ACKS: TopicName = 'mesh.agent-acks';

export function ackReactor(store: RegistryStore): (ack: AckReceived) => Promise<Emit[]> {
  return async (ack) => {
    const predicted = ack.expected_arrival_at ?? (await store.scheduledArrival(ack.message_id));
    // Copied however often it comes: the agent's fold drops re-sent acks itself.
    const keyed: AckReceived = predicted === ack.expected_arrival_at ? ack : { ...ack, expected_arrival_at: predicted };
    return [{ topic: AGENT_ACKS, key: ack.agent_id, event: keyed }];
  };
}
