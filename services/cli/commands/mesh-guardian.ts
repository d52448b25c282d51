// `solvermesh mesh health` and `mesh replay`: the guardian's sequenced log refolded here, by the
// same core and policy the service runs, with a reader that commits and produces nothing.
import type { StructuralWitnessRecorded } from '../../../schemas/generated/events';
import { formatHealth, healthOf } from '../../guardian/health';
import { SEED_POLICY } from '../../guardian/policy';
import { refold, replayGuardian } from '../../guardian/replay';
import { EventCodec } from '../../runtime/codec';
import type { RuntimeConfig } from '../../runtime/config';
import { schemaValidator } from '../../runtime/validation';

const logOptions = (config: RuntimeConfig) => ({
  brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix,
  policy: SEED_POLICY, validate: schemaValidator(),
});

export async function meshHealth(config: RuntimeConfig, o: { json?: boolean }): Promise<string> {
  const { core, events } = await refold(logOptions(config));
  const witnesses = events.flatMap((x) => (x.event.type === 'StructuralWitnessRecorded' ? [x.event] : []));
  const h = healthOf(core, witnesses);
  return o.json ? JSON.stringify(h) : formatHealth(h);
}

export async function meshReplay(config: RuntimeConfig): Promise<{ ok: boolean; line: string }> {
  const r = await replayGuardian({ ...logOptions(config), groupId: `${config.topicPrefix}solvermesh.guardian` });
  const counts = `${r.inputs} inputs of mesh.guardian through offset ${r.through}, ${r.recomputed} events recomputed, ${r.recorded} recorded`;
  if (r.ok) return { ok: true, line: `OK guardian: ${r.identical} events identical byte for byte (${counts})` };
  const d = r.divergence!;
  return { ok: false, line: `DIVERGED guardian at ${d.type} ${d.eventId}: ${d.kind} (${r.identical} identical before it; ${counts})\n  recorded:   ${JSON.stringify(d.recorded ?? null)}\n  recomputed: ${JSON.stringify(d.recomputed ?? null)}` };
}
