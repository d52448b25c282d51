// The coordinator's knobs.
import type { KnobDecls } from '../runtime/knobs';

export const COORDINATOR_KNOBS = {
  coordinatorGatherGraceMs: { env: 'COORDINATOR_GATHER_GRACE_MS', kind: 'int', default: 1000, min: 0, max: 600_000, doc: 'How long after a coordination\'s window (T + arrival window) the coordinator writes its deadline record among the acks: acks that arrived inside the window but are still in flight land before it. Acks are counted by their arrival time, never by this wait.' },
  coordinatorDispatchAheadMs: { env: 'COORDINATOR_DISPATCH_AHEAD_MS', kind: 'int', default: 100, min: 0, max: 10_000, doc: 'Transport allowance: each send bucket\'s tick is written this long before the bucket\'s time, for the path from the tick to the agent (tick write, consume, transaction commit, delivery) that the schedule\'s lead time (latency / 2 + processing + drift buffer) does not include. The coordination int spec prints that path\'s latency (appended - send_at).' },
} as const satisfies KnobDecls;
