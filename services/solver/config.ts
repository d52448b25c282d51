// The solver's knobs (SOLVER_*), declared as data and read by the runtime together with its own
// (services/runtime/knobs.ts), and how they become the solver's limits and runner tuning.
import type { ConsumerTuning } from '../runtime/kafka/types';
import type { KnobDecls, KnobValues } from '../runtime/knobs';
import { DEFAULT_SOLVER_LIMITS, type SolverLimits } from './domain';

const D = DEFAULT_SOLVER_LIMITS;

export const SOLVER_KNOBS = {
  solverMaxRows: { env: 'SOLVER_MAX_ROWS', kind: 'number', default: D.maxRows, above: 0, doc: 'Largest session (rows); larger sessions get `SessionRejected` (TOO_LARGE) and their records go to the DLQ.' },
  solverMaxNnz: { env: 'SOLVER_MAX_NNZ', kind: 'number', default: D.maxNnz, above: 0, doc: 'Most non-zeros per session; beyond it, as for `SOLVER_MAX_ROWS`.' },
  solverCoalesceMax: { env: 'SOLVER_COALESCE_MAX', kind: 'number', default: D.coalesceMax, above: 0, doc: 'A cost group closes after this many updates even without `flush`.' },
  solverRecordWork: { env: 'SOLVER_RECORD_WORK', kind: 'number', default: D.recordWork, above: 0, doc: 'Work units a group-closing record grants (one iteration = nnz + n units). Part of the output definition: keep it fixed for a log.' },
  solverMaxSliceWork: { env: 'SOLVER_MAX_SLICE_WORK', kind: 'number', default: D.maxSliceWork, above: 0, doc: 'Most work units one `IterationSliceGranted` may carry (one iteration of a larger session is always allowed); larger or negative grants go to the DLQ. The solver\'s own slices are capped to it.' },
  solverMaxOrphans: { env: 'SOLVER_MAX_ORPHANS', kind: 'number', default: D.maxOrphans, above: 0, doc: 'Most records a partition holds for sessions not open yet (costs that arrived before their `SessionOpened`); beyond it they go to the DLQ (REJECTED).' },
  solverSliceWork: { env: 'SOLVER_SLICE_WORK', kind: 'number', default: 5_000_000, above: 0, doc: 'Work units per self-granted slice (bounds one batch).' },
  solverSlowSliceMs: { env: 'SOLVER_SLOW_SLICE_MS', kind: 'number', default: 1000, min: 0, doc: 'An iteration slice that took longer than this (wall ms) is reported as a `StructuralEventObserved` RESOURCE_SPIKE `solve_slice_ms` on `mesh.witnesses`, besides slices over 5x the running median time per work unit (0: every slice). An observation only: the solve is the same.' },
  solverSolutionEvery: { env: 'SOLVER_SOLUTION_EVERY', kind: 'number', default: D.solutionEvery, above: 0, doc: 'Iterations between full `SolutionPublished` at convergence.' },
  solverIdleTimeoutS: { env: 'SOLVER_IDLE_TIMEOUT_S', kind: 'number', default: D.idleTimeoutMicros / 1e6, above: 0, doc: 'Event time without input before a session is evicted (`SessionClosed` TIMEOUT).' },
  solverMinGroupIntervalMs: { env: 'SOLVER_MIN_GROUP_INTERVAL_MS', kind: 'number', default: D.minGroupIntervalMicros / 1000, min: 0, doc: 'A flush sooner than this (event time) after the session\'s previous group closed still closes its group but makes the solver sequence a tick onto `solver.costs`; until that tick lands every flush waits for it, and their group closes where it lands with the updates before it (0: every flush closes its group). Part of the output definition: keep it fixed for a log.' },
  solverConvergenceConsecutive: { env: 'SOLVER_CONVERGENCE_CONSECUTIVE', kind: 'number', default: D.consecutive, above: 0, doc: 'Iterations in a row under the tolerance before `ConvergenceReached` (seed 000 §3.3); a converged solve runs this many minus one confirming iterations.' },
  // A snapshot of a 1e5-unknown partition is ~10 MB: taken every few thousand records it costs
  // more than the records do.
  solverSnapshotEvery: { env: 'SOLVER_SNAPSHOT_EVERY', kind: 'number', default: 50_000, above: 0, doc: 'Snapshot a partition after this many records or `SOLVER_SNAPSHOT_S` of event time, whichever comes first, at a point where no solve is half-way.' },
  solverSnapshotS: { env: 'SOLVER_SNAPSHOT_S', kind: 'number', default: 30, above: 0, doc: 'Snapshot a partition after this much event time (s) or `SOLVER_SNAPSHOT_EVERY` records.' },
  // A transaction costs ~5-10 ms whatever its size, so bursts need big batches; a paced stream
  // still gets small ones: a batch is what has arrived (ConsumerTuning.returnAvailable).
  solverMaxBatchRecords: { env: 'SOLVER_MAX_BATCH_RECORDS', kind: 'number', default: 2000, above: 0, doc: 'Most input records per transaction (a transaction costs ~5-10 ms whatever its size); a batch is what was fetched, up to this.' },
  solverPollTimeoutMs: { env: 'SOLVER_POLL_TIMEOUT_MS', kind: 'number', default: 100, above: 0, doc: 'An idle poll waits this long for a first record; then the batch is what has already arrived (node-rdkafka\'s `consume(n)` otherwise waits up to the timeout per record to fill it).' },
  solverOverlapCommit: { env: 'SOLVER_OVERLAP_COMMIT', kind: 'number', default: 1, above: 0, doc: '1: the next batch is consumed and processed while the previous one\'s transaction commits (a failed commit takes both back and rewinds); any other value (2): one batch at a time.' },
  solverCarryEmpty: { env: 'SOLVER_CARRY_EMPTY', kind: 'number', default: 1, above: 0, doc: '1: a batch that produced nothing (updates of a group still open, the solver\'s own ticks) begins no transaction; its offsets go with the next batch that has outputs, or alone at the next idle poll or after `SOLVER_POLL_TIMEOUT_MS`; any other value (2): a transaction per batch.' },
  // The first request after a commit is refused until its markers are written; librdkafka's
  // 100 ms backoff would idle the partition that long after every commit.
  solverTxnRetryBackoffMs: { env: 'SOLVER_TXN_RETRY_BACKOFF_MS', kind: 'number', default: 1, above: 0, doc: 'The transactional producer retries the request refused while the previous commit\'s markers are written after this long, backing off to at most 20 ms (librdkafka\'s default is 100).' },
} as const satisfies KnobDecls;

export type SolverKnobs = KnobValues<typeof SOLVER_KNOBS>;

export interface SolverTuning {
  readonly limits: SolverLimits;
  readonly sliceWork: number;
  readonly slowSliceMs: number;
  readonly snapshotEvery: number;
  readonly snapshotMicros: number;
  readonly maxBatchRecords: number;
  readonly consumer: ConsumerTuning;
}

export function solverTuning(k: SolverKnobs): SolverTuning {
  return {
    limits: {
      ...DEFAULT_SOLVER_LIMITS,
      maxRows: k.solverMaxRows, maxNnz: k.solverMaxNnz, coalesceMax: k.solverCoalesceMax, recordWork: k.solverRecordWork,
      solutionEvery: k.solverSolutionEvery, idleTimeoutMicros: k.solverIdleTimeoutS * 1e6, consecutive: k.solverConvergenceConsecutive,
      minGroupIntervalMicros: k.solverMinGroupIntervalMs * 1000, maxSliceWork: k.solverMaxSliceWork, maxOrphans: k.solverMaxOrphans,
    },
    sliceWork: k.solverSliceWork, slowSliceMs: k.solverSlowSliceMs, snapshotEvery: k.solverSnapshotEvery, snapshotMicros: k.solverSnapshotS * 1e6,
    maxBatchRecords: k.solverMaxBatchRecords,
    consumer: { pollTimeoutMs: k.solverPollTimeoutMs, returnAvailable: true, retryBackoffMs: k.solverTxnRetryBackoffMs, overlapCommit: k.solverOverlapCommit === 1, carryEmpty: k.solverCarryEmpty === 1 },
  };
}

/** The runner's batch size and consumer tuning of the solver (and of what measures against it). */
export function solverRunnerTuning(k: SolverKnobs): { maxBatchRecords: number; consumerTuning: ConsumerTuning } {
  const t = solverTuning(k);
  return { maxBatchRecords: t.maxBatchRecords, consumerTuning: t.consumer };
}
