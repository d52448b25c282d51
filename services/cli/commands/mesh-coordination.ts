// `solvermesh mesh replay-coordination`: the coordinator's dispatch, gather and cascades refolded from their
// own input partitions (services/coordinator/coordination-replay.ts), compared bit for bit.
import { replayCoordination } from '../../coordinator/coordination-log';
import { coordinationLine } from '../../coordinator/coordination-replay';
import { COORDINATOR_KNOBS } from '../../coordinator/config';
import { EventCodec } from '../../runtime/codec';
import type { RuntimeConfig } from '../../runtime/config';
import { withEventTimeBound } from '../../runtime/event-time';
import { readKnobs } from '../../runtime/knobs';
import { eventTimeBound } from '../../runtime/service';
import { schemaValidator } from '../../runtime/validation';

export async function meshCoordinationReplay(config: RuntimeConfig, progress?: (inputs: number, total: number) => void): Promise<{ ok: boolean; line: string }> {
  const r = await replayCoordination({
    brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix,
    validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)), groupId: `${config.topicPrefix}solvermesh.coordinator`,
    retentionMs: readKnobs(COORDINATOR_KNOBS).coordinatorGatherRetentionMs, signaturesVerified: config.meshSigning === 'required', ...(progress ? { progress } : {}),
  });
  return { ok: r.ok, line: `${r.ok ? 'OK' : 'DIVERGED'} coordination: ${coordinationLine(r)}` };
}
