// Reactor: a coordination request answered with send schedules, from the agents the registry
// holds now (seed 002 §3.1), within what the guardian's breakers and mode allow (restrictions.ts).
// Each entry names the position of the registry entry it used, and the schedule that of the
// decisions, so a replay refolds exactly those inputs (schedule-replay.ts).
// The request's T is remembered so acks without one can be measured.
import type { CoordinationRequested } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import type { RegistryStore } from './registry-store';
import { DEFAULT_LIMITS } from '../../schemas/validate';
import { poison } from '../runtime/errors';
import { circuitOpen, readRestrictions, refusal, refusedSchedule } from './restrictions';
import { computeSchedule, parseTarget, SCHEDULE_CHUNK } from './schedule';

const SCHEDULES: TopicName = 'mesh.schedules';
/** Distinct selectors one request may name (each is a read of a registry index). */
export const MAX_SELECTORS = 1024;

/** `approved`: an operator approved the request's correlation id ahead of it (coordination-gate.ts). */
export function scheduleReactor(store: RegistryStore): (req: CoordinationRequested, approved: boolean) => Promise<Emit[]> {
  /**
   * Agent ids, selectors resolved through the registry's indexes: each selector once, each agent
   * once, in first-seen order. Selectors that expand past maxTargets agents, or more than
   * MAX_SELECTORS of them, are refused before the whole mesh is listed many times over.
   */
  async function targetsOf(req: CoordinationRequested): Promise<string[]> {
    const out = new Set<string>();
    let selectors = 0;
    for (const t of new Set(req.target_agent_ids)) {
      const sel = parseTarget(t);
      if (sel.kind === 'agent') out.add(sel.id);
      else {
        if (++selectors > MAX_SELECTORS) throw poison('AMPLIFICATION', `CoordinationRequested ${req.message_id} names more than ${MAX_SELECTORS} distinct selectors`);
        for (const id of await store.members(sel.kind, sel.value)) out.add(id);
      }
      if (out.size > DEFAULT_LIMITS.maxTargets) throw poison('AMPLIFICATION', `CoordinationRequested ${req.message_id}: its targets expand past ${DEFAULT_LIMITS.maxTargets} agents (maxTargets) at ${JSON.stringify(t)}`);
    }
    return [...out];
  }

  return async (req, approved) => {
    const targets = await targetsOf(req);
    const r = await readRestrictions(store);
    const refused = refusal(r, req, targets.length, approved);
    if (refused !== null) return [{ topic: SCHEDULES, key: req.meta.correlation_id, event: refusedSchedule(req, refused, r.through) }];
    const agents = await store.scheduleAgents(targets);
    const chunks = computeSchedule(req, targets, (id) => agents.get(id), SCHEDULE_CHUNK, (a) => circuitOpen(r, a), r.through);
    await store.rememberSchedule(req.message_id, req.target_arrival_time);
    return chunks.map((c) => ({ topic: SCHEDULES, key: req.meta.correlation_id, event: c }));
  };
}
