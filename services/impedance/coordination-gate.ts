// What a coordination request meets in its own mesh.coordination partition: the freeze copies
// (freeze.ts) and the operators' approvals. Seed 002 §6.3 DEGRADED_SEVERE asks "human approval
// for all mesh-wide operations": a CoordinationApproved is produced keyed by the correlation id
// it approves, so it lands in the partition its request will, and whether the request was
// approved is where the two stand in that log, which a replay or a new owner sees the same.
// Approvals are kept for the partition's retention (3 days): a few ids. Pure.
import type { CoordinationApproved } from '../../schemas/generated/events';
import { evolveFreeze, THAWED, type FreezeEvent, type FreezeState } from './freeze';

export type GateEvent = FreezeEvent | CoordinationApproved;
export const GATE_EVENT_TYPES = ['MeshFrozen', 'MeshThawed', 'CoordinationApproved'] as const satisfies ReadonlyArray<GateEvent['type']>;

export interface GateState {
  readonly freeze: FreezeState;
  /** Correlation ids an operator approved. */
  readonly approved: ReadonlySet<string>;
}

export const OPEN_GATE: GateState = { freeze: THAWED, approved: new Set() };

export function evolveGate(s: GateState, e: GateEvent): GateState {
  switch (e.type) {
    case 'CoordinationApproved': return s.approved.has(e.meta.correlation_id) ? s : { ...s, approved: new Set(s.approved).add(e.meta.correlation_id) };
    case 'MeshFrozen':
    case 'MeshThawed': return { ...s, freeze: evolveFreeze(s.freeze, e) };
  }
}
