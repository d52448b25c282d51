// The coordinator's knobs.
import type { KnobDecls } from '../runtime/knobs';

export const COORDINATOR_KNOBS = {
  coordinatorGatherGraceMs: { env: 'COORDINATOR_GATHER_GRACE_MS', kind: 'int', default: 1000, min: 0, max: 600_000, doc: 'How long after a coordination\'s window (T + arrival window) the coordinator writes its deadline record among the acks: acks that arrived inside the window but are still in flight land before it. Acks are counted by their arrival time, never by this wait.' },
} as const satisfies KnobDecls;
