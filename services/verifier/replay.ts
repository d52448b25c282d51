// Replay of a session's verification outputs: the verifier groups' cores and the consensus core
// re-run over the inputs the log recorded, every VerificationCompleted, VerifierVoteCast and
// verifier CorrectionRequested of each group, and every ConsensusReached / ConsensusNotReached /
// VerifierFaultReported, compared with the recorded ones bit for bit (verification_time_ms is
// wall clock and skipped). Nothing is committed or produced.
//
// Each group's core folds every input of the session's partition (all its sessions: eviction and
// the order of checks are the live core's), by record time like a restore; the checks do not
// depend on how the three topics interleaved (core.ts). The consensus core folds the session's
// votes and deadline records in the votes partition's order, which alone decides a round.
import type {
  ConsensusNotReached, ConsensusReached, CorrectionRequested, SolvermeshEvent, VerificationCompleted, VerifierFaultReported, VerifierVoteCast,
} from '../../schemas/generated/events';
import { SOLVER_PARTITIONS } from '../../topics/catalog';
import { wasmKernel, type KernelFactory } from '../../wasm';
import { ConsensusCore } from '../consensus/core';
import type { EventCodec } from '../runtime/codec';
import { firstDivergence, type Divergence, type Recorded } from '../runtime/divergence';
import { readLog, type LogRecord } from '../runtime/kafka/log-reader';
import { isOneOf, type EventValidator } from '../runtime/processor';
import { mergeByTime } from '../solver/restore';
import type { SolverLimits } from '../solver/limits';
import type { Fault, VerifierSettings } from './config';
import { VerifierCore } from './core';
import { VERIFIER_INPUT_TYPES } from './processor';

const VOTES = 'solver.verifications';
const isVerifierInput = isOneOf(VERIFIER_INPUT_TYPES);
const isConsensusInput = isOneOf(['VerifierVoteCast', 'VoteDeadlinePassed']);
const isConsensusOutput = isOneOf(['ConsensusReached', 'ConsensusNotReached', 'VerifierFaultReported']);
const isCheck = isOneOf(['VerificationCompleted', 'VerifierVoteCast']);

type Check = VerificationCompleted | VerifierVoteCast;
type Verdict = ConsensusReached | ConsensusNotReached | VerifierFaultReported;

export interface VerificationReplayOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly sessionId: string;
  /** The solver limits the verifiers' copies folded with (VERIFIER_* / SOLVER_* knobs). */
  readonly limits: SolverLimits;
  /** The probe knobs the groups ran with. */
  readonly probeCount: number;
  readonly probeSize: number;
  /** n, the configured groups; default the group_count the session's votes state. */
  readonly groups?: number;
  /** Groups started with a fault hook (VERIFIER_FAULT), so their recorded votes are what they computed. */
  readonly faults?: Readonly<Record<string, Fault>>;
  readonly kernel?: KernelFactory;
  readonly validate?: EventValidator;
}

export interface StreamResult {
  /** `verifier <group>`, `corrections <group>` or `consensus`. */
  readonly stream: string;
  readonly recorded: number;
  readonly recomputed: number;
  readonly compared: number;
  readonly divergence?: Divergence;
}

export interface VerificationReplayResult {
  readonly ok: boolean;
  readonly partition: number;
  readonly inputs: number;
  readonly groups: readonly string[];
  readonly streams: readonly StreamResult[];
  /** The divergence earliest in the log (by recorded offset), with its stream. */
  readonly first?: Divergence & { readonly stream: string };
}

const whole = (o: VerificationReplayOptions, topic: string) =>
  readLog(o.brokers, o.codec, [...Array(SOLVER_PARTITIONS).keys()].map((p) => ({ topic: o.topicPrefix + topic, partition: p, from: 0 })));

const ofSession = (e: SolvermeshEvent | undefined, sid: string): boolean => !!e && 'session_id' in e && e.session_id === sid;

export async function replayVerification(o: VerificationReplayOptions): Promise<VerificationReplayResult> {
  const sid = o.sessionId;
  const [sessions, costs, solutions, votes, commands] = await Promise.all([
    whole(o, 'solver.sessions'), whole(o, 'solver.costs'), whole(o, 'solver.solutions'), whole(o, VOTES), whole(o, 'solver.commands'),
  ]);
  const opened = sessions.find((r) => r.event?.type === 'SessionOpened' && r.event.session_id === sid);
  if (!opened) throw new Error(`session ${sid} has no SessionOpened in ${o.topicPrefix}solver.sessions`);
  // Per topic, the partition that holds the session's records (producers' partitioners place them).
  const partitionOf = (recs: LogRecord[]) => recs.find((r) => ofSession(r.event, sid))?.partition ?? opened.partition;
  const inputs = mergeByTime([sessions, costs, solutions].map((recs) => recs.filter((r) => r.partition === partitionOf(recs))));
  const votePartition = votes.filter((r) => r.partition === partitionOf(votes) && ofSession(r.event, sid));

  // What the log recorded, per stream.
  const checks = new Map<string, Array<Recorded<Check>>>();
  const corrections = new Map<string, Array<Recorded<CorrectionRequested>>>();
  const verdicts: Array<Recorded<Verdict>> = [];
  // Record times order divergences found on different topics.
  const timeOf = new Map<string, number>();
  const rec = <E>(r: LogRecord, event: E): Recorded<E> => {
    const topic = r.topic.slice(o.topicPrefix.length);
    timeOf.set(`${topic}/${r.offset}`, r.timestampMs);
    return { topic, offset: r.offset, event };
  };
  let statedGroups: number | undefined;
  for (const r of votePartition) {
    const e = r.event;
    if (isCheck(e)) push(checks, e.verifier_id, rec(r, e));
    if (e?.type === 'VerifierVoteCast') statedGroups ??= e.group_count;
    if (isConsensusOutput(e)) verdicts.push(rec(r, e));
  }
  for (const r of commands) {
    const e = r.event;
    if (e?.type === 'CorrectionRequested' && e.session_id === sid && e.meta.producer === 'verifier') push(corrections, e.verifier_id, rec(r, e));
  }
  const groups = [...new Set([...checks.keys(), ...corrections.keys()])].sort();
  const n = o.groups ?? statedGroups ?? Math.max(1, groups.length);

  const kernel = o.kernel ?? wasmKernel();
  const streams: StreamResult[] = [];
  for (const group of groups) {
    const settings: VerifierSettings = { group, groups: n, probeCount: o.probeCount, probeSize: o.probeSize, fault: o.faults?.[group] ?? 'none' };
    const core = new VerifierCore(opened.partition, o.limits, kernel, settings);
    const gotChecks: Check[] = [];
    const gotCorrections: CorrectionRequested[] = [];
    try {
      for (const r of inputs) {
        const e = r.event;
        if (!isVerifierInput(e) || (o.validate && o.validate(e, r.timestampMs).length > 0)) continue;
        for (const x of core.fold(e, { topic: r.topic.slice(o.topicPrefix.length), offset: r.offset })) {
          if (x.event.session_id !== sid) continue;
          if (x.event.type === 'CorrectionRequested') gotCorrections.push(x.event);
          else gotChecks.push(x.event);
        }
      }
    } finally {
      core.free();
    }
    streams.push(compare(`verifier ${group}`, checks.get(group) ?? [], gotChecks, (e) => ({ type: e.type, iteration: e.iteration, verified: e.verified })));
    streams.push(compare(`corrections ${group}`, corrections.get(group) ?? [], gotCorrections, (e) => ({ iteration: e.iteration, action: e.action })));
  }

  const consensus = new ConsensusCore(partitionOf(votes), n);
  const gotVerdicts: Verdict[] = [];
  for (const r of votePartition) {
    const e = r.event;
    if (!isConsensusInput(e) || (o.validate && o.validate(e, r.timestampMs).length > 0)) continue;
    gotVerdicts.push(...consensus.fold(e).out);
  }
  streams.push(compare('consensus', verdicts, gotVerdicts, (e) => ({ type: e.type, iteration: e.iteration })));

  const diverged = streams.filter((s) => s.divergence);
  const at = (d: Divergence) => (d.topic === null ? Number.MAX_SAFE_INTEGER : timeOf.get(`${d.topic}/${d.offset}`) ?? Number.MAX_SAFE_INTEGER);
  const first = [...diverged].sort((a, b) => at(a.divergence!) - at(b.divergence!) || (a.divergence!.offset ?? 0) - (b.divergence!.offset ?? 0))[0];
  return {
    ok: diverged.length === 0, partition: opened.partition, inputs: inputs.length, groups, streams,
    ...(first ? { first: { ...first.divergence!, stream: first.stream } } : {}),
  };
}

function push<E>(m: Map<string, E[]>, key: string, v: E): void {
  const list = m.get(key) ?? [];
  list.push(v);
  m.set(key, list);
}

function compare<E extends object>(stream: string, recorded: ReadonlyArray<Recorded<E>>, recomputed: readonly E[], summary: (e: E) => unknown): StreamResult {
  const divergence = firstDivergence(recorded, recomputed, summary);
  return { stream, recorded: recorded.length, recomputed: recomputed.length, compared: divergence ? divergence.index : recorded.length, ...(divergence ? { divergence } : {}) };
}
