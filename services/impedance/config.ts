// The impedance service's knobs (IMPEDANCE_*), declared as data and read by the runtime together
// with its own (services/runtime/knobs.ts). The defaults are the processor's (processor.ts).
import type { KnobDecls, KnobValues } from '../runtime/knobs';
import { MAX_PENDING_ACK_AGENTS } from './partition-fold';

export const IMPEDANCE_KNOBS = {
  impedanceRegistryLagMs: { env: 'IMPEDANCE_REGISTRY_LAG_MS', kind: 'number', default: 1000, min: 0, doc: 'Most time an agent\'s change waits before it is written to Redis (seed 002: the registry may lag 1 s); written at once when the service is at the end of the log. A service catching up a backlog B behind writes agents every B/10 (at most every checkpoint), their summary entries every `IMPEDANCE_REGISTRY_LAG_MS`, and everything once it has had no batch for that long; `solvermesh_impedance_registry_backlog` counts the agents not written yet.' },
  impedanceCheckpointMs: { env: 'IMPEDANCE_CHECKPOINT_MS', kind: 'number', default: 10_000, min: 0, doc: 'Changelog checkpoint period (0: every batch); it bounds the heartbeats a new owner replays.' },
  impedanceCaughtUpMs: { env: 'IMPEDANCE_CAUGHT_UP_MS', kind: 'number', default: 5000, min: 0, doc: 'A batch whose last record is younger than this counts as the end of the log (0: never).' },
  impedanceMaxPendingAckAgents: { env: 'IMPEDANCE_MAX_PENDING_ACK_AGENTS', kind: 'number', default: MAX_PENDING_ACK_AGENTS, above: 0, doc: 'Most agents not heard from yet whose acks a partition holds (until their first heartbeat); the acks of one more go to the DLQ (REJECTED), also when a new owner replays them.' },
  impedanceAgentQueueLimit: { env: 'IMPEDANCE_AGENT_QUEUE_LIMIT', kind: 'number', default: 100, min: 0, doc: 'An agent whose heartbeat\'s queue depth goes above this, or back to it or below, is reported as a `StructuralEventObserved` QUEUE_DEPTH on `mesh.witnesses` (the crossings only, in the heartbeat\'s transaction); the guardian folds it. 0: never.' },
  impedanceReturnAvailable: { env: 'IMPEDANCE_RETURN_AVAILABLE', kind: 'int', default: 1, min: 0, max: 1, doc: '1: a batch is what has arrived (one wait for a first record, then what is already fetched: ConsumerTuning.returnAvailable). 0: node-rdkafka\'s consume(n) keeps collecting until IMPEDANCE_MAX_BATCH_RECORDS or a 100 ms pause in the input, which held every coordination request at least 100 ms (longer while acks trickle in) before its schedule. At a backlog both take full batches; below it, 1 takes more, smaller transactions.' },
  impedanceMaxBatchRecords: { env: 'IMPEDANCE_MAX_BATCH_RECORDS', kind: 'number', default: 20_000, above: 0, doc: 'Most records one batch (one transaction) takes. Each transaction costs tens of ms of round trips: at 30,000 agents 20,000 halves the per-record commit cost of 5000 (bench/impedance) and is still one fetch. Smaller: more, shorter transactions (`make soak` uses 500 so a kill falls between two commits).' },
} as const satisfies KnobDecls;

export type ImpedanceKnobs = KnobValues<typeof IMPEDANCE_KNOBS>;

/** The processor's coalescing options from the knobs. */
export function impedanceTuning(k: ImpedanceKnobs): { registryLagMs: number; checkpointMs: number; caughtUpMs: number; maxPendingAckAgents: number; agentQueueLimit: number } {
  return { registryLagMs: k.impedanceRegistryLagMs, checkpointMs: k.impedanceCheckpointMs, caughtUpMs: k.impedanceCaughtUpMs, maxPendingAckAgents: k.impedanceMaxPendingAckAgents, agentQueueLimit: k.impedanceAgentQueueLimit };
}
