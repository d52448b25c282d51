// Reactor: a coordination request answered with send schedules, from the agents the registry
// holds now (seed 002 §3.1), within what the guardian's breakers and mode allow (restrictions.ts).
// The request's T is remembered so acks without one can be measured.
import type { CoordinationRequested } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import type { RegistryStore } from './registry-store';
import { circuitOpen, readRestrictions, refusal, refusedSchedule } from './restrictions';
import { computeSchedule, parseTarget, SCHEDULE_CHUNK } from './schedule';

const SCHEDULES: TopicName = 'mesh.schedules';

/** `approved`: an operator approved the request's correlation id ahead of it (coordination-gate.ts). */
export function scheduleReactor(store: RegistryStore): (req: CoordinationRequested, approved: boolean) => Promise<Emit[]> {
  /** Agent ids, selectors resolved through the registry's indexes. */
  async function targetsOf(req: CoordinationRequested): Promise<string[]> {
    const out: string[] = [];
    for (const t of req.target_agent_ids) {
      const sel = parseTarget(t);
      if (sel.kind === 'agent') out.push(sel.id);
      else out.push(...(await store.members(sel.kind, sel.value)));
    }
    return out;
  }

  return async (req, approved) => {
    const targets = await targetsOf(req);
    const r = await readRestrictions(store);
    const refused = refusal(r, req, new Set(targets).size, approved);
    if (refused !== null) return [{ topic: SCHEDULES, key: req.meta.correlation_id, event: refusedSchedule(req, refused) }];
    const agents = await store.scheduleAgents([...new Set(targets)]);
    const chunks = computeSchedule(req, targets, (id) => agents.get(id), SCHEDULE_CHUNK, (a) => circuitOpen(r, a));
    await store.rememberSchedule(req.message_id, req.target_arrival_time);
    return chunks.map((c) => ({ topic: SCHEDULES, key: req.meta.correlation_id, event: c }));
  };
}
