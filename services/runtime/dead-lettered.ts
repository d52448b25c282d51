// The input positions a processor dead-lettered (its DLQ records name their source), for the
// replay tools: what the runner refused, the service never folded, so neither does a replay.
import { dlqName } from '../../topics/catalog';
import type { EventCodec } from './codec';
import { DLQ_HEADERS } from './dead-letter';
import { readLog } from './kafka/log-reader';
import type { EventValidator } from './processor';

/** What a replay tool reads a service's log with, as the service's runner reads it. */
export interface ReplayLogOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly validate?: EventValidator;
  /** The service's group: inputs below its committed offsets must have had their outputs written. */
  readonly groupId?: string;
  /** The name the runner writes in the dead letters' dlq.processor header. */
  readonly processor?: string;
}

/** `topic/partition/offset` (physical topic names) of the records `processor` dead-lettered from `topics`. */
export async function deadLettered(brokers: readonly string[], codec: EventCodec, topics: readonly string[], processor: string): Promise<Set<string>> {
  const refused = new Set<string>();
  await readLog(brokers, codec, topics.map((t) => ({ topic: dlqName(t), partition: 0, from: 0 })), {
    decode: false,
    onRecord: (r) => {
      const h = r.headers;
      if (h[DLQ_HEADERS.processor] === processor) refused.add(`${h[DLQ_HEADERS.sourceTopic]}/${h[DLQ_HEADERS.sourcePartition]}/${h[DLQ_HEADERS.sourceOffset]}`);
    },
  });
  return refused;
}
