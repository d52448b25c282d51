// Replay of the send schedules (DESIGN invariant 3). A schedule reads the registry and the
// guardian's decisions from Redis, which move while the service works; so each entry names the
// position of the registry entry it used (the agent's partition, how far its heartbeats and
// agent-acks were folded) and the schedule names the mesh.circuits offsets of the decisions it
// obeyed. The replay refolds each partition's inputs up to exactly those positions with the
// service's own fold, refolds the decisions likewise, recomputes every schedule with the same
// pure function from its request (and the request partition's gate: freeze copies, approvals),
// and compares the encoded bytes with the recorded ones, naming the first divergence.
//
// What the positions cannot show: which agents a selector (`cluster:...`) expanded to. The
// replay takes the agents the schedule lists and checks that each matched a selector of the
// request at its position; an agent the expansion missed is not seen. Nor how many agents a
// refused selector request expanded to (DEGRADED_MODERATE counts them): such a refusal is
// reported as unproven, not compared.
import {
  AGENT_CLASS_SYMBOLS, type CoordinationRequested, type InputPosition, type RegistryPosition, type ScheduleComputed, type SolvermeshEvent,
} from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { firstDifference } from '../runtime/divergence';
import { evolveGate, GATE_EVENT_TYPES, OPEN_GATE, type GateEvent, type GateState } from './coordination-gate';
import { isOneOf } from '../runtime/processor';
import type { AckInput, HeartbeatInput, Refolder } from './schedule-refold';
import { frozenReason } from './freeze';
import { circuitOpen, foldDecision, refusal, refusedSchedule, restrictionsOf, type GuardianDecision, type Restrictions, RESTRICTION_INPUT_TYPES } from './restrictions';
import { computeSchedule, parseTarget, SCHEDULE_CHUNK, type ScheduleAgent, type TargetSelector } from './schedule';

export const isGateEvent = isOneOf(GATE_EVENT_TYPES);
export const isDecision = isOneOf(RESTRICTION_INPUT_TYPES);

/** A request and the gate of its mesh.coordination partition just before it. */
export interface LoggedRequest {
  readonly req: CoordinationRequested;
  readonly partition: number;
  readonly offset: number;
  readonly gate: GateState;
}

/** A recorded schedule chunk: its bytes as written and where. */
export interface LoggedChunk {
  readonly event: ScheduleComputed;
  readonly value: Buffer;
  readonly partition: number;
  readonly offset: number;
}

/** What the replay reads of the log (schedule-log.ts reads it from Kafka; a spec may change it). */
export interface ScheduleLog {
  /** Requests the service took (not dead-lettered), in their partitions' order. */
  readonly requests: readonly LoggedRequest[];
  /** Requests at or past these mesh.coordination offsets may not be answered yet. */
  readonly answeredBelow?: ReadonlyMap<number, number>;
  /** Recorded chunks by event id. */
  readonly chunks: ReadonlyMap<string, LoggedChunk>;
  /** The service's inputs per mesh.heartbeats / mesh.agent-acks partition, in offset order (dead-lettered ones left out). */
  readonly heartbeats: ReadonlyMap<number, ReadonlyArray<HeartbeatInput>>;
  readonly acks: ReadonlyMap<number, ReadonlyArray<AckInput>>;
  /** The decisions per mesh.circuits partition, in offset order. */
  readonly decisions: ReadonlyMap<number, ReadonlyArray<{ readonly offset: number; readonly event: GuardianDecision }>>;
}

/** The requests among mesh.coordination records (each partition's in offset order), with their partition's gate just before each. */
export function requestsOf(records: Iterable<{ readonly partition: number; readonly offset: number; readonly event: SolvermeshEvent }>): LoggedRequest[] {
  const gates = new Map<number, GateState>();
  const out: LoggedRequest[] = [];
  for (const r of records) {
    const gate = gates.get(r.partition) ?? OPEN_GATE;
    if (r.event.type === 'CoordinationRequested') out.push({ req: r.event, partition: r.partition, offset: r.offset, gate });
    else if (isGateEvent(r.event)) gates.set(r.partition, evolveGate(gate, r.event as GateEvent));
  }
  return out;
}

/** The restrictions a schedule saw: every listed partition's decisions through its offset, as the Redis hash folded them. */
export function restrictionsAt(decisions: ScheduleLog['decisions'], through: readonly InputPosition[]): Restrictions {
  const hash: Record<string, string> = {};
  for (const pos of through) {
    for (const d of decisions.get(pos.partition) ?? []) {
      if (d.offset > pos.offset) break;
      foldDecision(hash, d.event, { partition: pos.partition, offset: d.offset });
    }
    // The position stands even when the decisions up to it changed nothing (an older one lost).
    hash[`@${pos.partition}`] = String(pos.offset);
  }
  return restrictionsOf(hash);
}

/** Whether an agent, as it was, matches a selector (the registry's indexes hold the same values). */
export function matchesSelector(a: ScheduleAgent, sel: TargetSelector): boolean {
  switch (sel.kind) {
    case 'agent': return a.agentId === sel.id;
    case 'class': return a.agentClass === (/^[A-F]$/.test(sel.value) ? AGENT_CLASS_SYMBOLS.find((c) => c.startsWith(`CLASS_${sel.value}_`)) : sel.value);
    case 'cluster': return a.clusterId === sel.value;
    case 'sector': return a.sectorId === sel.value;
    case 'capability': return a.capabilities.includes(sel.value);
  }
}

export interface ScheduleDivergence {
  /** The request's event id and correlation id. */
  readonly requestId: string;
  readonly correlationId: string;
  /** mesh.coordination partition/offset of the request. */
  readonly at: string;
  readonly kind: 'differs' | 'not recorded' | 'not recomputed' | 'selector';
  readonly eventId?: string;
  /** The first field that differs (`entries[3].send_at`), with both values. */
  readonly field?: string;
  readonly recorded?: unknown;
  readonly recomputed?: unknown;
  readonly detail?: string;
}

export interface ScheduleReplay {
  readonly ok: boolean;
  /** Requests answered, and their chunks recorded / recomputed / identical byte for byte. */
  readonly requests: number;
  readonly recorded: number;
  readonly recomputed: number;
  readonly identical: number;
  /** Entries whose agent was refolded to its recorded registry position. */
  readonly positioned: number;
  /** Requests whose answer the positions cannot decide (see the header), with why. */
  readonly unproven: ReadonlyArray<{ readonly requestId: string; readonly why: string }>;
  readonly divergence?: ScheduleDivergence;
}

const chunkIds = (req: CoordinationRequested, chunks: ScheduleLog['chunks']): LoggedChunk[] => {
  const out: LoggedChunk[] = [];
  for (let i = 0; ; i++) {
    const c = chunks.get(derivedEventId(req.meta.event_id, `schedule:${i}`));
    if (!c) return out;
    out.push(c);
  }
};

const posKey = (p: RegistryPosition) => `${p.partition}|${p.heartbeats_through}|${p.acks_through}`;

/**
 * Recomputes every answered request's schedule and compares it with the recorded chunks byte for
 * byte (`encode`: the event as the service wrote it). Stops at the first divergence, in the order
 * of the requests' partitions and offsets.
 */
export async function compareSchedules(log: ScheduleLog, refolder: Refolder, encode: (e: ScheduleComputed) => Promise<Buffer>): Promise<ScheduleReplay> {
  const answered = log.requests.map((r) => ({ r, recorded: chunkIds(r.req, log.chunks) }));
  // Every agent at every position the schedules name, refolded in position order (schedule-refold.ts).
  const wanted = new Map<string, { position: RegistryPosition; ids: Set<string> }>();
  for (const { recorded } of answered) {
    for (const c of recorded) {
      for (const e of c.event.entries) {
        if (!e.registry_position) continue;
        const k = posKey(e.registry_position);
        let w = wanted.get(k);
        if (!w) { w = { position: e.registry_position, ids: new Set() }; wanted.set(k, w); }
        w.ids.add(e.agent_id);
      }
    }
  }
  const agents = refolder.agentsAt([...wanted.values()]);
  let recordedN = 0, recomputedN = 0, identical = 0, positioned = 0, requests = 0;
  const unproven: Array<{ requestId: string; why: string }> = [];
  const result = (divergence?: ScheduleDivergence): ScheduleReplay => ({
    ok: !divergence, requests, recorded: recordedN, recomputed: recomputedN, identical, positioned, unproven, ...(divergence ? { divergence } : {}),
  });
  for (const { r, recorded } of answered) {
    const { req } = r;
    const where = { requestId: req.meta.event_id, correlationId: req.meta.correlation_id, at: `mesh.coordination ${r.partition}/${r.offset}` };
    if (recorded.length === 0) {
      const below = log.answeredBelow?.get(r.partition);
      if (below === undefined || r.offset < below) return result({ ...where, kind: 'not recorded', detail: 'the service answered no schedule to this request' });
      continue;
    }
    requests++;
    recordedN += recorded.length;
    const first = recorded[0]!.event;
    const selectors = [...new Set(req.target_agent_ids)].map(parseTarget).filter((s) => s.kind !== 'agent');
    let expected: ScheduleComputed[];
    if (r.gate.freeze.status === 'frozen') {
      expected = [refusedSchedule(req, frozenReason(r.gate.freeze))];
    } else {
      const through = first.restrictions_through ?? [];
      const restrictions = restrictionsAt(log.decisions, through);
      // The agents the schedule lists: an agent id of the request, or one a selector brought in.
      const explicit = req.target_agent_ids.filter((t) => parseTarget(t).kind === 'agent');
      const listed = recorded.flatMap((c) => c.event.entries);
      const targets = [...new Set([...explicit, ...listed.map((e) => e.agent_id)])];
      const lookup = new Map<string, ScheduleAgent>();
      for (const e of listed) {
        if (!e.registry_position) continue;
        const a = agents.get(posKey(e.registry_position))?.get(e.agent_id);
        if (a) { lookup.set(e.agent_id, a); positioned++; }
      }
      const explicitIds = new Set(explicit);
      for (const e of listed) {
        if (explicitIds.has(e.agent_id)) continue;
        const a = lookup.get(e.agent_id);
        if (!a || !selectors.some((s) => matchesSelector(a, s))) {
          return result({ ...where, kind: 'selector', eventId: first.meta.event_id, detail: `agent ${e.agent_id} is in the schedule but ${a ? `matched none of ${selectors.map((s) => `${s.kind}:${'value' in s ? s.value : ''}`).join(', ')} at its registry position ${posKey(e.registry_position!)}` : 'is no agent id of the request and has no registry position'}` });
        }
      }
      const refused = refusal(restrictions, req, targets.length, r.gate.approved.has(req.meta.correlation_id));
      if (selectors.length > 0 && restrictions.mode === 'DEGRADED_MODERATE' && (first.refused_reason !== null) !== (refused !== null)) {
        unproven.push({ requestId: req.meta.event_id, why: 'DEGRADED_MODERATE: how many agents the selectors expanded to is not recorded' });
        continue;
      }
      expected = refused !== null
        ? [refusedSchedule(req, refused, first.restrictions_through)]
        : computeSchedule(req, targets, (id) => lookup.get(id), SCHEDULE_CHUNK, (a) => circuitOpen(restrictions, a), first.restrictions_through);
    }
    recomputedN += expected.length;
    const byId = new Map(recorded.map((c) => [c.event.meta.event_id, c]));
    for (const e of expected) {
      const c = byId.get(e.meta.event_id);
      if (!c) return result({ ...where, kind: 'not recorded', eventId: e.meta.event_id, recomputed: e });
      byId.delete(e.meta.event_id);
      if (!(await encode(e)).equals(c.value)) {
        const d = firstDifference(c.event, e);
        return result({ ...where, kind: 'differs', eventId: e.meta.event_id, field: d?.path ?? '(bytes)', recorded: d?.a, recomputed: d?.b });
      }
      identical++;
    }
    const extra = byId.values().next().value;
    if (extra) return result({ ...where, kind: 'not recomputed', eventId: extra.event.meta.event_id, recorded: extra.event });
  }
  return result();
}

/** One line for the CLI and the soak: the counts, or the first divergence with both values. */
export function replayLine(r: ScheduleReplay): string {
  const unproven = r.unproven.length > 0 ? `; ${r.unproven.length} refusals unproven (${r.unproven[0]!.why})` : '';
  if (r.ok) return `${r.identical} schedule chunks identical byte for byte (${r.requests} requests, ${r.positioned} entries refolded to their registry positions${unproven})`;
  const d = r.divergence!;
  return `DIVERGED at request ${d.requestId} (${d.at})${d.eventId ? ` chunk ${d.eventId}` : ''}: ${d.kind}${d.field ? ` at ${d.field}` : ''}${d.detail ? `: ${d.detail}` : ''} ` +
    `(${r.identical} identical before it); recorded ${JSON.stringify(d.recorded ?? null)}; recomputed ${JSON.stringify(d.recomputed ?? null)}`;
}
