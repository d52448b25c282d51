// The life of one conflict (seed 002 §5.1), as a decider over the facts of its partition of
// mesh.conflicts: reported -> quarantined (priority, strategy, resolve_by) -> resolved, by its
// strategy when the mesh can apply that alone, or by an operator's command; a deadline record
// that finds it unresolved at or after resolve_by escalates it once as overdue. Pure: time is
// the event time of the input, ids are derived from the input, so a replay decides the same.
import type {
  AckReceived, ConflictDeadlinePassed, ConflictEscalated, ConflictReported, ConflictResolutionRequested, ConflictResolved,
  ConflictType, EscalationLevel, ResolutionMethod,
} from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import { derivedEventId } from '../runtime/ids';
import { decideConflict, escalationLevels, PRODUCER, type ConflictDecision } from './conflicts';

export type ConflictInput = ConflictReported | ConflictDeadlinePassed | ConflictResolutionRequested;
export type ConflictFact = ConflictDecision | ConflictResolved;

/** The part of a report the lifecycle keeps (not the quarantined bytes: they stay in the log). */
interface Known {
  readonly conflictId: string;
  readonly correlationId: string;
  readonly agentId: string;
  readonly messageId: string;
  readonly sectorId: string | null;
  readonly conflictType: ConflictType;
}

export type ConflictState =
  | { readonly status: 'unknown' }
  | {
    readonly status: 'open'; readonly known: Known; readonly priority: number; readonly strategy: ResolutionMethod;
    readonly resolveBy: number | null; readonly escalatedTo: EscalationLevel | null; readonly escalations: number;
  }
  | { readonly status: 'resolved'; readonly resolvedBy: string; readonly method: ResolutionMethod };

export const UNKNOWN: ConflictState = { status: 'unknown' };

/**
 * Strategies whose every step the mesh can take without a human and without data the report
 * does not carry. REROUTE (capability mismatch, "a routing issue"): the message is withdrawn from
 * the agent that cannot do it and its sender re-routes. The others end in human review, or need
 * provenance, clocks or a known-good context the conflict record does not hold.
 */
export const AUTOMATIC: ReadonlySet<ResolutionMethod> = new Set<ResolutionMethod>(['REROUTE']);

/** Whether the conflict's overdue escalation has happened (beyond the intake's ones). */
export const isOverdue = (s: Extract<ConflictState, { status: 'open' }>) => s.escalations > escalationLevels(s.priority).length;

const nextLevel = (l: EscalationLevel | null): EscalationLevel => (l === null ? 'SECTOR_COORDINATOR' : 'ORCHESTRATOR');

function meta(input: ConflictInput, correlationId: string, kind: string) {
  return {
    event_id: derivedEventId(input.meta.event_id, kind), correlation_id: correlationId, causation_id: input.meta.event_id,
    occurred_at: input.meta.occurred_at, producer: PRODUCER, sequence: null,
  };
}

const iso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

export function decide(input: ConflictInput, state: ConflictState): ConflictFact[] {
  switch (input.type) {
    case 'ConflictReported': {
      // A report seen again (a re-sent ack derives the same conflict id) changes nothing.
      if (state.status !== 'unknown') return [];
      const out: ConflictFact[] = decideConflict(input);
      const q = out[0];
      if (q?.type === 'ConflictQuarantined' && AUTOMATIC.has(q.suggested_strategy.method)) {
        out.push({
          type: 'ConflictResolved', meta: meta(input, input.meta.correlation_id, 'resolved:strategy'), conflict_id: input.conflict_id,
          method: q.suggested_strategy.method, outcome: 'DISCARDED', resolved_value: null, resolved_by: PRODUCER,
          notes: `${q.suggested_strategy.method} applied automatically: ${q.suggested_strategy.steps.join('; ')}`,
        });
      }
      return out;
    }
    case 'ConflictDeadlinePassed': {
      if (state.status !== 'open' || state.resolveBy === null || isOverdue(state)) return [];
      // A record from before the deadline (a writer whose clock ran ahead) proves nothing.
      if (input.meta.occurred_at < state.resolveBy) return [];
      const k = state.known;
      const level = nextLevel(state.escalatedTo);
      const late = Math.round((input.meta.occurred_at - state.resolveBy) / 1e6);
      const e: ConflictEscalated = {
        type: 'ConflictEscalated', meta: meta(input, k.correlationId, `overdue:${level}`), conflict_id: k.conflictId, agent_id: k.agentId,
        message_id: k.messageId, conflict_type: k.conflictType, priority: state.priority, level,
        sector_id: level === 'SECTOR_COORDINATOR' ? k.sectorId : null,
        reason: `overdue: priority ${state.priority} ${k.conflictType} conflict from agent ${k.agentId} unresolved ${late} s after its resolve_by ${iso(state.resolveBy)}`,
      };
      return [e];
    }
    case 'ConflictResolutionRequested': {
      if (state.status !== 'open') return [];
      return [{
        type: 'ConflictResolved', meta: meta(input, state.known.correlationId, 'resolved:operator'), conflict_id: state.known.conflictId,
        method: input.method ?? state.strategy, outcome: 'RESOLVED', resolved_value: input.resolved_value, resolved_by: input.operator, notes: input.notes,
      }];
    }
    default: return unreachable(input);
  }
}

/** Total: a fact about a conflict this state does not expect is kept as it comes. */
export function evolve(state: ConflictState, fact: ConflictFact): ConflictState {
  switch (fact.type) {
    case 'ConflictQuarantined':
      return {
        status: 'open',
        known: {
          conflictId: fact.conflict_id, correlationId: fact.meta.correlation_id, agentId: fact.agent_id, messageId: fact.message_id,
          sectorId: null, conflictType: fact.detail.conflict_type,
        },
        priority: fact.priority, strategy: fact.suggested_strategy.method, resolveBy: fact.resolve_by, escalatedTo: null, escalations: 0,
      };
    case 'ConflictEscalated':
      if (state.status !== 'open') return state;
      return {
        ...state, escalations: state.escalations + 1,
        escalatedTo: state.escalatedTo === 'ORCHESTRATOR' ? 'ORCHESTRATOR' : fact.level,
        known: state.known.sectorId === null && fact.sector_id !== null ? { ...state.known, sectorId: fact.sector_id } : state.known,
      };
    case 'ConflictResolved':
      return { status: 'resolved', resolvedBy: fact.resolved_by, method: fact.method };
    default: return unreachable(fact);
  }
}

/** The sector a report names, kept for an overdue escalation to the sector coordinator. */
function withSector(state: ConflictState, input: ConflictInput): ConflictState {
  if (input.type !== 'ConflictReported' || state.status !== 'open' || input.sector_id === null) return state;
  return { ...state, known: { ...state.known, sectorId: input.sector_id } };
}

/** One input: the facts it adds and the state after them. */
export function step(state: ConflictState, input: ConflictInput): { facts: ConflictFact[]; state: ConflictState } {
  const facts = decide(input, state);
  return { facts, state: withSector(facts.reduce(evolve, state), input) };
}

/**
 * The immutable log record of a CONFLICT ack (seed 002 §5.1 on_conflict_received): its id is
 * derived from the ack's event id, so a re-sent ack names the same conflict. Undefined for other
 * acks, and for a CONFLICT without its detail (the runner dead-letters that one first).
 */
export function reportOfAck(ack: AckReceived): ConflictReported | undefined {
  if (ack.state !== 'CONFLICT' || ack.conflict === null) return undefined;
  return {
    type: 'ConflictReported',
    meta: {
      event_id: derivedEventId(ack.meta.event_id, 'conflict-reported'), correlation_id: ack.meta.correlation_id, causation_id: ack.meta.event_id,
      occurred_at: ack.meta.occurred_at, producer: PRODUCER, sequence: null,
    },
    conflict_id: derivedEventId(ack.meta.event_id, 'conflict'),
    agent_id: ack.agent_id,
    message_id: ack.message_id,
    sector_id: null,
    cluster_id: null,
    detail: ack.conflict,
    forgery: null,
    applied_through: null,
  };
}
