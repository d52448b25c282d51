// Topic declarations as data, read by infra (topics apply), services and tests alike.
// Solver topics share one partition count: they are co-partitioned by session_id so the
// instance that owns partition p of solver.sessions also owns p of solver.costs and commands.

export type KeyKind = 'session_id' | 'agent_id' | 'correlation_id' | 'conflict_id' | 'scope';

export interface TopicSpec<N extends string = string> {
  readonly name: N;
  readonly partitions: number;
  readonly key: KeyKind;
  readonly doc: string;
  /** Kafka topic configs (cleanup.policy, retention.ms, ...). */
  readonly config: Readonly<Record<string, string>>;
  /** Event types this topic carries (TopicRecordNameStrategy subjects). */
  readonly events: readonly string[];
  /** Whether a `<name>.dlq` companion exists. Every input topic has one. */
  readonly dlq: boolean;
}

export const SOLVER_PARTITIONS = 6;
export const MESH_PARTITIONS = 6;
const DAY = 24 * 3600 * 1000;
/**
 * How far a record's timestamp (CreateTime, set by its producer) may be ahead of the broker's
 * clock. The event-time bound (services/runtime/event-time.ts) is measured from the record's
 * timestamp, so without this a producer stamping its records 59 minutes ahead (the broker's
 * default allows an hour) would move a partition's watermark that far. Producers' clocks are off
 * by seconds; a minute leaves room for that and refuses the rest at produce (INVALID_TIMESTAMP).
 */
export const RECORD_TIMESTAMP_AHEAD_MS = 60_000;
const bounded = { 'message.timestamp.after.max.ms': String(RECORD_TIMESTAMP_AHEAD_MS) };
const retain = (days: number) => ({ 'cleanup.policy': 'delete', 'retention.ms': String(days * DAY), ...bounded });
// min.compaction.lag.ms: a restore reads the latest record per key; between checkpoints that
// can briefly be a newer record of another type (AgentStateChanged after ImpedanceUpdated), so
// the cleaner must leave recent history alone long enough for the next checkpoint to land.
const compacted = { ...bounded, 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': String(3600 * 1000), 'min.compaction.lag.ms': String(5 * 60 * 1000) };

const solver = <N extends string>(name: N, doc: string, events: string[], config: Record<string, string> = retain(7)): TopicSpec<N> => ({
  name, partitions: SOLVER_PARTITIONS, key: 'session_id', doc, config, events, dlq: true,
});
const mesh = <N extends string>(name: N, key: KeyKind, doc: string, events: string[], config: Record<string, string> = retain(3)): TopicSpec<N> => ({
  name, partitions: MESH_PARTITIONS, key, doc, config, events, dlq: true,
});

export const TOPICS = [
  solver('solver.sessions', 'Session lifecycle and matrix row blocks.', ['SessionOpened', 'MatrixChunkAppended', 'SessionClosed', 'SessionRejected'], retain(30)),
  // Commands, closes and consensus results are copied here by the solver (services/solver/outputs.ts `Sequenced`):
  // their position among the cost updates must be a position in one partition's log. So are its
  // ticks for deferred flushes (IterationSliceGranted): a cost group closes where its tick lands.
  solver('solver.costs', 'Cost deltas on b and matrix entries, and the commands, closes, consensus results and ticks the solver sequenced among them.', ['CostUpdated', 'CorrectionRequested', 'VerificationRequested', 'EntryEstimateRequested', 'SessionClosed', 'ConsensusReached', 'ConsensusNotReached', 'IterationSliceGranted'], retain(30)),
  solver('solver.commands', 'Corrections, verification and entry-estimate requests, and the slices of work the solver grants itself.', ['CorrectionRequested', 'VerificationRequested', 'EntryEstimateRequested', 'IterationSliceGranted']),
  solver('solver.iterations', 'Iteration progress and convergence signals.', ['IterationCompleted', 'ConvergenceReached', 'EntryEstimated']),
  solver('solver.solutions', 'Full solution vectors, chunked, for verifiers.', ['SolutionPublished'], retain(2)),
  solver('solver.snapshots', 'Latest snapshot per session (compacted).', ['SessionSnapshotted'], compacted),
  // Votes and their deadlines share a partition (keyed by session_id): where a deadline lands
  // among a round's votes decides the round (services/consensus/round.ts).
  solver('solver.verifications', 'Verification results, verifier votes, vote deadlines and consensus.', ['VerificationCompleted', 'VerifierVoteCast', 'VoteDeadlinePassed', 'ConsensusReached', 'ConsensusNotReached', 'VerifierFaultReported']),
  // The impedance service sequences its summary-due ticks into the summary partition (services/impedance/summary-clock.ts).
  mesh('mesh.heartbeats', 'agent_id', 'Agent heartbeats (seed 002 §2.3), and the summary-due ticks the impedance service sequences among them.', ['HeartbeatReceived', 'SummaryDue'], retain(1)),
  // Compacted: each record carries the agent's whole key set, so compaction keeps all a service
  // needs. Read from the beginning by every service that verifies signatures (services/identity).
  mesh('mesh.agent-keys', 'agent_id', 'Agents\' Ed25519 public keys (compacted): registrations, rotations with their overlap, revocations (seed 002 §9.1).', ['AgentKeyRegistered', 'AgentKeyRotated', 'AgentKeyRevoked'], compacted),
  mesh('mesh.impedance', 'agent_id', 'Impedance registry changelog (compacted): latest state per agent.', ['ImpedanceUpdated', 'AgentStateChanged'], compacted),
  mesh('mesh.summaries', 'scope', 'Cluster, sector and mesh-wide summaries.', ['ClusterSummarized', 'SectorSummarized', 'MeshSummarized']),
  // Freezes and thaws are copied into every partition here by the impedance service
  // (services/impedance/freeze.ts): whether a request is refused is a fact of its partition's log.
  mesh('mesh.coordination', 'correlation_id', 'Coordination requests, operators\' approvals, and the freezes and thaws sequenced among them.', ['CoordinationRequested', 'CoordinationApproved', 'MeshFrozen', 'MeshThawed']),
  // The coordinator's send ticks share the schedule's partition: which entries a tick sends is
  // decided by where it lands after the schedule (services/coordinator/dispatch.ts).
  mesh('mesh.schedules', 'correlation_id', 'Per-agent send schedules, the coordinator\'s send ticks and its cascade stages\' deadlines (passed on to mesh.cascades once due).', ['ScheduleComputed', 'DispatchDue', 'CascadeStageTimedOut']),
  // What a gather counts is one partition's order: the dispatch summary opens it, acks fill it,
  // the first window deadline (or the last ack) closes it (services/coordinator/gather.ts).
  mesh('mesh.acks', 'correlation_id', 'Trinary acknowledgements, dispatch summaries, window deadlines and quorum decisions.', ['AckReceived', 'DispatchCompleted', 'GatherWindowClosed', 'QuorumDecided']),
  // A cascade's request, its stages' decisions (copied from mesh.acks by the coordinator), its
  // stage deadlines and its end share the cascade's partition: where a decision lands against a
  // deadline decides the next stage (services/coordinator/cascade.ts).
  mesh('mesh.cascades', 'correlation_id', 'Cascades (seed 002 §3.3): requests, their stages\' decisions and deadlines, and their ends with the cascade latency.', ['CascadeRequested', 'CascadeStageDecided', 'CascadeStageTimedOut', 'CascadeCompleted']),
  mesh('mesh.dispatch', 'agent_id', 'Coordination messages sent to agents at their send time (seed 002 §2.4, §3.2 phase 4): the agent-facing topic.', ['MessageDispatched']),
  // The repartition of mesh.acks by agent id (the impedance service copies each ack here in the
  // transaction that consumes it): co-partitioned with mesh.heartbeats (same partition count,
  // same key), so the instance that folds an agent's heartbeats also folds its acks.
  // Heals are copied into every partition here too (services/impedance/sequenced-copies.ts): an
  // agent's fold obeys one where it stands among the agent's acks.
  mesh('mesh.agent-acks', 'agent_id', 'Acks re-keyed by agent_id, co-partitioned with mesh.heartbeats (reliability, quarantine), the heals sequenced among them, and the refusals of messages signed with the agent\'s own key.', ['AckReceived', 'MeshHealRequested', 'ConflictReported'], retain(1)),
  // The conflict log is immutable and kept (seed 002 §5.1 AppendOnlyLog): no time-based deletion.
  // Deadline records and operator commands share each conflict's partition: where they land among
  // its facts decides (services/coordinator/conflict-lifecycle.ts).
  mesh('mesh.conflicts', 'conflict_id', 'Conflict log: reports, quarantine, escalation, deadlines, operator commands, resolution (seed 002 §5.1).', ['ConflictReported', 'ConflictQuarantined', 'ConflictEscalated', 'ConflictDeadlinePassed', 'ConflictResolutionRequested', 'ConflictResolved'], { 'cleanup.policy': 'delete', 'retention.ms': '-1', ...bounded }),
  mesh('mesh.circuits', 'scope', 'Circuit breaker states, operational modes, freezes, thaws and heals.', ['CircuitStateChanged', 'OperationalModeChanged', 'MeshFrozen', 'MeshThawed', 'MeshHealRequested']),
  mesh('mesh.witnesses', 'scope', 'Structural events and witnesses (seed 004), and confirmed agent crashes (seed 003).', ['StructuralEventObserved', 'StructuralWitnessRecorded', 'AgentCrashConfirmed']),
  // One partition: breakers of clusters, sectors and the mesh are one fold, so the guardian copies
  // its inputs here (in the transaction that consumes them) and sequences its ticks among them;
  // this log's order alone decides every breaker, mode and witness (services/guardian).
  { name: 'mesh.guardian', partitions: 1, key: 'scope', doc: 'The guardian\'s inputs in one order: agent state changes, mesh summaries and structural events it copied, and its clock ticks.', config: retain(3), events: ['AgentStateChanged', 'MeshSummarized', 'StructuralEventObserved', 'GuardianClockTicked'], dlq: true },
] as const;

/** A declared topic's logical name (without TOPIC_PREFIX): a typo is a type error, not a topic nobody reads. */
export type TopicName = (typeof TOPICS)[number]['name'];

export const DLQ_SUFFIX = '.dlq';
export const dlqName = (topic: string) => `${topic}${DLQ_SUFFIX}`;

/** Every topic to create: the declared ones and their dead-letter companions. */
export function allTopicSpecs(prefix = ''): TopicSpec[] {
  const out: TopicSpec[] = [];
  for (const t of TOPICS) {
    out.push({ ...t, name: prefix + t.name });
    if (t.dlq) {
      out.push({
        name: prefix + dlqName(t.name),
        partitions: 1,
        key: t.key,
        doc: `Dead letters of ${t.name}: raw records that failed, with headers naming the error.`,
        config: retain(30),
        events: [],
        dlq: false,
      });
    }
  }
  return out;
}

export function topicSpec(name: string): TopicSpec {
  const t: TopicSpec | undefined = TOPICS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown topic ${name}; known: ${TOPICS.map((x) => x.name).join(', ')}`);
  return t;
}
