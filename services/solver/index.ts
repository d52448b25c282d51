// The solver service: event-sourced solve sessions (seed 000 §2-§3, §7.4). Configured by the
// environment (SOLVER_*), validated at start.
import type { RuntimeConfig } from '../runtime/config';
import type { ConsumerTuning } from '../runtime/kafka/types';
import { SolvermeshError } from '../runtime/errors';
import type { ServiceDefinition } from '../runtime/service';
import { DEFAULT_SOLVER_LIMITS, type SolverLimits } from './domain';
import { solverProcessor } from './processor';
import { restorePartition } from './restore';

export interface SolverTuning {
  readonly limits: SolverLimits;
  readonly sliceWork: number;
  readonly snapshotEvery: number;
  readonly snapshotMicros: number;
  readonly maxBatchRecords: number;
  readonly consumer: ConsumerTuning;
}

export const SOLVER_ENV: ReadonlyArray<{ env: string; default: number; doc: string }> = [
  { env: 'SOLVER_MAX_ROWS', default: DEFAULT_SOLVER_LIMITS.maxRows, doc: 'Largest session (rows); bigger ones are rejected TOO_LARGE.' },
  { env: 'SOLVER_MAX_NNZ', default: DEFAULT_SOLVER_LIMITS.maxNnz, doc: 'Most non-zeros per session.' },
  { env: 'SOLVER_COALESCE_MAX', default: DEFAULT_SOLVER_LIMITS.coalesceMax, doc: 'A cost group closes after this many updates even without flush.' },
  { env: 'SOLVER_RECORD_WORK', default: DEFAULT_SOLVER_LIMITS.recordWork, doc: 'Work units a group-closing record grants (one iteration = nnz + n units). Part of the output definition: keep it fixed for a log.' },
  { env: 'SOLVER_SLICE_WORK', default: 5_000_000, doc: 'Work units per self-granted slice (bounds one batch).' },
  { env: 'SOLVER_SOLUTION_EVERY', default: DEFAULT_SOLVER_LIMITS.solutionEvery, doc: 'Iterations between SolutionPublished at convergence.' },
  { env: 'SOLVER_IDLE_TIMEOUT_S', default: DEFAULT_SOLVER_LIMITS.idleTimeoutMicros / 1e6, doc: 'Evict a session after this much event time without input.' },
  { env: 'SOLVER_MIN_GROUP_INTERVAL_MS', default: DEFAULT_SOLVER_LIMITS.minGroupIntervalMicros / 1000, doc: 'A flush sooner than this (event time) after the session\'s previous group closed waits for a tick the solver sequences onto solver.costs, collecting the updates before it (0: every flush closes its group). Part of the output definition: keep it fixed for a log.' },
  { env: 'SOLVER_CONVERGENCE_CONSECUTIVE', default: DEFAULT_SOLVER_LIMITS.consecutive, doc: 'Iterations in a row under the tolerance before ConvergenceReached (seed 000 §3.3); a converged solve runs this many minus one confirming iterations.' },
  // A snapshot of a 1e5-unknown partition is ~10 MB: every 2,000 records it cost more than the
  // records (bench-solver-service: 11,700 -> 21,600 updates/s at 50,000).
  { env: 'SOLVER_SNAPSHOT_EVERY', default: 50_000, doc: 'Snapshot a partition after this many records ...' },
  { env: 'SOLVER_SNAPSHOT_S', default: 30, doc: '... or this much event time (s).' },
  // A transaction costs ~5-10 ms whatever its size, so bursts need big batches; a paced stream
  // still gets small ones: a batch is what has arrived (ConsumerTuning.returnAvailable).
  { env: 'SOLVER_MAX_BATCH_RECORDS', default: 2000, doc: 'Most input records per transaction (a batch is what was fetched, up to this).' },
  { env: 'SOLVER_POLL_TIMEOUT_MS', default: 100, doc: 'An idle poll waits this long for a first record; then the batch is what has already arrived.' },
  // Back-to-back transactions on the local broker (.probe-style loop: begin, produce, send
  // offsets, commit): p50 7.2 ms at 5 ms, 3.5 ms at 1 ms (ceiling 20 ms).
  { env: 'SOLVER_OVERLAP_COMMIT', default: 1, doc: '1: consume and process the next batch while the previous batch commits (a failed commit takes both back); 2: one batch at a time.' },
  { env: 'SOLVER_TXN_RETRY_BACKOFF_MS', default: 1, doc: 'Transactional producer retry backoff: the first request after a commit is refused until its markers are written (librdkafka default 100).' },
];

export function solverTuning(env: NodeJS.ProcessEnv = process.env): SolverTuning {
  const problems: string[] = [];
  const v = (name: string): number => {
    const spec = SOLVER_ENV.find((s) => s.env === name)!;
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return spec.default;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) { problems.push(`${name}=${JSON.stringify(raw)} must be a positive number (${spec.doc}); e.g. ${spec.default}`); return spec.default; }
    return n;
  };
  const t: SolverTuning = {
    limits: {
      ...DEFAULT_SOLVER_LIMITS,
      maxRows: v('SOLVER_MAX_ROWS'), maxNnz: v('SOLVER_MAX_NNZ'), coalesceMax: v('SOLVER_COALESCE_MAX'), recordWork: v('SOLVER_RECORD_WORK'),
      solutionEvery: v('SOLVER_SOLUTION_EVERY'), idleTimeoutMicros: v('SOLVER_IDLE_TIMEOUT_S') * 1e6, consecutive: v('SOLVER_CONVERGENCE_CONSECUTIVE'),
      minGroupIntervalMicros: (env.SOLVER_MIN_GROUP_INTERVAL_MS?.trim() === '0' ? 0 : v('SOLVER_MIN_GROUP_INTERVAL_MS')) * 1000,
    },
    sliceWork: v('SOLVER_SLICE_WORK'), snapshotEvery: v('SOLVER_SNAPSHOT_EVERY'), snapshotMicros: v('SOLVER_SNAPSHOT_S') * 1e6,
    maxBatchRecords: v('SOLVER_MAX_BATCH_RECORDS'),
    consumer: { pollTimeoutMs: v('SOLVER_POLL_TIMEOUT_MS'), returnAvailable: true, retryBackoffMs: v('SOLVER_TXN_RETRY_BACKOFF_MS'), overlapCommit: v('SOLVER_OVERLAP_COMMIT') === 1 },
  };
  if (problems.length) throw new SolvermeshError('CONFIG_INVALID', `invalid solver configuration:\n  - ${problems.join('\n  - ')}`);
  return t;
}

export const solverGroupId = (config: RuntimeConfig) => `${config.topicPrefix}solvermesh.solver`;

export const solverService: ServiceDefinition = {
  name: 'solver',
  // Read when the service starts, after processor() validated the environment.
  get maxBatchRecords() { return solverTuning().maxBatchRecords; },
  get consumerTuning() { return solverTuning().consumer; },
  processor: (config, logger, ctx) => {
    const tuning = solverTuning();
    const { codec, validate } = ctx;
    return solverProcessor({
      logger, registry: ctx.registry, sliceWork: tuning.sliceWork, snapshotEvery: tuning.snapshotEvery, snapshotMicros: tuning.snapshotMicros,
      restore: (partition) => restorePartition({ brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, groupId: solverGroupId(config), limits: tuning.limits, validate, clock: { now: () => performance.now() } }, partition),
    });
  },
};
