// `solvermesh mesh replay-schedules`: every send schedule recomputed from the log at the registry
// and mesh.circuits positions it names (services/impedance/schedule-replay.ts), compared bit for bit.
import { replaySchedules } from '../../impedance/schedule-log';
import { replayLine } from '../../impedance/schedule-replay';
import { EventCodec } from '../../runtime/codec';
import type { RuntimeConfig } from '../../runtime/config';
import { withEventTimeBound } from '../../runtime/event-time';
import { eventTimeBound } from '../../runtime/service';
import { schemaValidator } from '../../runtime/validation';

export async function meshScheduleReplay(config: RuntimeConfig): Promise<{ ok: boolean; line: string }> {
  const r = await replaySchedules({
    brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix,
    validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)), groupId: `${config.topicPrefix}solvermesh.impedance`,
  });
  return { ok: r.ok, line: `${r.ok ? 'OK' : 'DIVERGED'} schedules: ${replayLine(r)}` };
}
