// `solvermesh mesh health` and `mesh replay`: the guardian's sequenced log refolded here, by the
// same core and policy the service runs, with a reader that commits and produces nothing.
import { formatHealth, healthOf } from '../../guardian/health';
import { SEED_POLICY } from '../../guardian/policy';
import { refold, replayGuardian } from '../../guardian/replay';
import { EventCodec } from '../../runtime/codec';
import type { RuntimeConfig } from '../../runtime/config';
import { schemaValidator } from '../../runtime/validation';
import { withEventTimeBound } from '../../runtime/event-time';
import { eventTimeBound } from '../../runtime/service';

const logOptions = (config: RuntimeConfig) => ({
  brokers: config.kafkaBrokers, codec: new EventCodec(config.schemaRegistryUrl), topicPrefix: config.topicPrefix,
  // The runner's own bound: a record it dead-lettered for its event time was never folded.
  policy: SEED_POLICY, validate: withEventTimeBound(schemaValidator(), eventTimeBound(config)),
});

export async function meshHealth(config: RuntimeConfig, o: { json?: boolean }): Promise<string> {
  const { core, events } = await refold(logOptions(config));
  const witnesses = events.flatMap((x) => (x.event.type === 'StructuralWitnessRecorded' ? [x.event] : []));
  const changes = events.flatMap((x) => (x.event.type === 'CircuitStateChanged' ? [x.event] : []));
  const h = healthOf(core, witnesses, changes);
  return o.json ? JSON.stringify(h) : formatHealth(h);
}

export async function meshReplay(config: RuntimeConfig): Promise<{ ok: boolean; line: string }> {
  const r = await replayGuardian({ ...logOptions(config), groupId: `${config.topicPrefix}solvermesh.guardian` });
  const counts = `${r.inputs} inputs of mesh.guardian through offset ${r.through}, ${r.recomputed} events recomputed, ${r.recorded} recorded`;
  if (r.ok) return { ok: true, line: `OK guardian: ${r.identical} events identical byte for byte (${counts})` };
  const d = r.divergence!;
  return { ok: false, line: `DIVERGED guardian at ${d.type} ${d.eventId}: ${d.kind} (${r.identical} identical before it; ${counts})\n  recorded:   ${JSON.stringify(d.recorded ?? null)}\n  recomputed: ${JSON.stringify(d.recomputed ?? null)}` };
}
