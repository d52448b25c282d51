// What the summary replay (summary-replay.ts) reads from Kafka, read as the schedule replay reads
// it (schedule-log.ts): read_committed, the records the impedance service dead-lettered left out,
// invalid ones too. Nothing is committed or produced.
import { topicSpec, type TopicName } from '../../topics/catalog';
import { deadLettered, type ReplayLogOptions } from '../runtime/dead-lettered';
import { readLog } from '../runtime/kafka/log-reader';
import { PRODUCER } from './agent-fold';
import { collectFoldInput, foldInputs, sortFoldInputs } from './schedule-log';
import { compareSummaries, type LoggedSummary, type SummaryLog, type SummaryReplay } from './summary-replay';

const INPUTS: readonly TopicName[] = ['mesh.heartbeats', 'mesh.agent-acks'];
const SUMMARIES: TopicName = 'mesh.summaries';
const SUMMARY_TYPES: ReadonlySet<string> = new Set(['ClusterSummarized', 'SectorSummarized', 'MeshSummarized']);

export async function readSummaryLog(o: ReplayLogOptions): Promise<SummaryLog> {
  const physical = (t: TopicName) => o.topicPrefix + t;
  const parts = (t: TopicName) => [...Array(topicSpec(t).partitions).keys()];
  const refused = await deadLettered(o.brokers, o.codec, INPUTS.map(physical), o.processor ?? 'impedance');
  const inputs = foldInputs();
  const summaries: LoggedSummary[] = [];
  await readLog(o.brokers, o.codec, [...INPUTS, SUMMARIES].flatMap((t) => parts(t).map((partition) => ({ topic: physical(t), partition, from: 0 }))), {
    onRecord: (r) => {
      const e = r.event;
      if (!e || refused.has(`${r.topic}/${r.partition}/${r.offset}`)) return;
      if (o.validate && o.validate(e, r.timestampMs).length > 0) return;
      const offset = Number(r.offset);
      const topic = r.topic.slice(o.topicPrefix.length);
      if (collectFoldInput(inputs, topic, { partition: r.partition, offset, event: e })) return;
      if (topic === SUMMARIES && SUMMARY_TYPES.has(e.type) && e.meta.producer === PRODUCER && r.value) {
        summaries.push({ event: e as LoggedSummary['event'], value: r.value, partition: r.partition, offset });
      }
    },
  });
  sortFoldInputs(inputs);
  summaries.sort((a, b) => a.event.meta.occurred_at - b.event.meta.occurred_at || a.partition - b.partition || a.offset - b.offset);
  return { summaries, heartbeats: inputs.heartbeats, acks: inputs.acks };
}

/** The log read, every summary recomputed at the positions it names and compared byte for byte. */
export async function replaySummaries(o: ReplayLogOptions & { readonly maxPendingAckAgents?: number }): Promise<SummaryReplay> {
  const log = await readSummaryLog(o);
  const topic = o.topicPrefix + SUMMARIES;
  return compareSummaries(log, (e) => o.codec.encode(topic, e), o.maxPendingAckAgents);
}
