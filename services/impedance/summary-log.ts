// What the summary replay (summary-replay.ts) reads from Kafka, read as the schedule replay reads
// it (schedule-log.ts): read_committed, the records the impedance service dead-lettered left out,
// invalid ones too. Nothing is committed or produced.
import type { TopicName } from '../../topics/catalog';
import type { ReplayLogOptions } from '../runtime/dead-lettered';
import { PRODUCER } from './agent-fold';
import { readImpedanceLog } from './schedule-log';
import { compareSummaries, type LoggedSummary, type SummaryLog, type SummaryReplay } from './summary-replay';

const INPUTS: readonly TopicName[] = ['mesh.heartbeats', 'mesh.agent-acks'];
const SUMMARIES: TopicName = 'mesh.summaries';
const SUMMARY_TYPES: ReadonlySet<string> = new Set(['ClusterSummarized', 'SectorSummarized', 'MeshSummarized']);

export async function readSummaryLog(o: ReplayLogOptions): Promise<SummaryLog> {
  const summaries: LoggedSummary[] = [];
  const inputs = await readImpedanceLog(o, [...INPUTS, SUMMARIES], (topic, r, value) => {
    const e = r.event;
    if (topic === SUMMARIES && SUMMARY_TYPES.has(e.type) && e.meta.producer === PRODUCER && value) summaries.push({ event: e as LoggedSummary['event'], value, partition: r.partition, offset: r.offset });
  });
  summaries.sort((a, b) => a.event.meta.occurred_at - b.event.meta.occurred_at || a.partition - b.partition || a.offset - b.offset);
  return { summaries, heartbeats: inputs.heartbeats, acks: inputs.acks };
}

/** The log read, every summary recomputed at the positions it names and compared byte for byte. */
export async function replaySummaries(o: ReplayLogOptions & { readonly maxPendingAckAgents?: number }): Promise<SummaryReplay> {
  const log = await readSummaryLog(o);
  const topic = o.topicPrefix + SUMMARIES;
  return compareSummaries(log, (e) => o.codec.encode(topic, e), o.maxPendingAckAgents);
}
