// `solvermesh mesh replay-summaries`: every cluster, sector and mesh summary recomputed from the
// log at the registry positions it names (services/impedance/summary-replay.ts), compared bit for bit.
import { replaySummaries } from '../../impedance/summary-log';
import { summaryReplayLine } from '../../impedance/summary-replay';
import { EventCodec } from '../../runtime/codec';
import type { RuntimeConfig } from '../../runtime/config';
import { withEventTimeBound } from '../../runtime/event-time';
import { eventTimeBound } from '../../runtime/service';
import { schemaValidator } from '../../runtime/validation';

export async function meshSummaryReplay(config: RuntimeConfig): Promise<{ ok: boolean; line: string }> {
  const r = await replaySummaries({
    brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix,
    validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)),
  });
  return { ok: r.ok, line: `${r.ok ? 'OK' : 'DIVERGED'} summaries: ${summaryReplayLine(r)}` };
}
