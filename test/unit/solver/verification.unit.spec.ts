// The solver follows the verifiers' consensus (seed 000 §2.3, §5.5): a ConsensusReached /
// ConsensusNotReached takes effect where its copy lands in the cost partition, changing the
// interval of the IterationCompleted events after it and what the outputs say of verification.
import assert from 'node:assert/strict';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { costStream, openSession } from '../../../services/solver/events';
import { DEFAULT_SOLVER_LIMITS, PartitionCore, type SolverEvent } from '../../../services/solver/domain';
import { deserialize, serialize } from '../../../services/solver/snapshot';
import type { ConsensusNotReached, ConsensusReached, ConvergenceReached, IterationCompleted } from '../../../schemas/generated/events';
import { wasmKernel } from '../../../wasm';
import { active, comparable, run, toLog, type Logged } from './harness';

const SID = '6f1c1d1e-0000-4000-8000-0000000000c5';
const A = poisson2d(20);
const B = smoothRhs(A.n);
const AT = 1_767_225_600_000_000;
/** Every flush closes its group at once: where the copies land is under test, not ticks. */
const limits = { minGroupIntervalMicros: 0 };

const meta = (id: string, iteration: number) => ({ event_id: id, correlation_id: SID, causation_id: null, occurred_at: AT, producer: 'consensus', sequence: iteration });

function reached(id: string, iteration: number, o: { outcome?: 'VERIFIED' | 'REJECTED'; next?: number | null; verifiedVotes?: number } = {}): ConsensusReached {
  const outcome = o.outcome ?? 'VERIFIED';
  return {
    type: 'ConsensusReached', meta: meta(id, iteration), session_id: SID, iteration, outcome, participants: 4, threshold: 3, agreeing: 3,
    agreement_level: 0.75, outlier_verifier_ids: ['g4'], verified_votes: o.verifiedVotes ?? (outcome === 'VERIFIED' ? 3 : 1), next_interval: o.next === undefined ? 11 : o.next,
  };
}

const notReached = (id: string, iteration: number): ConsensusNotReached => ({
  type: 'ConsensusNotReached', meta: meta(id, iteration), session_id: SID, iteration, participants: 3, threshold: 3, verified_votes: 1, rejected_votes: 1, voter_ids: ['g1', 'g2'],
});

const iterationsOf = (r: ReturnType<typeof run>) => r.outputs.flatMap((o) => (o.event.type === 'IterationCompleted' ? [o.event] : []));
const convergencesOf = (r: ReturnType<typeof run>) => r.outputs.flatMap((o) => (o.event.type === 'ConvergenceReached' ? [o.event] : []));
const costsOffset = (e: IterationCompleted | ConvergenceReached) => e.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1;

/**
 * A recorded log: the session (interval 10), the consensus results on solver.verifications, and
 * their copies in the cost partition after cost record `at - 1`, among 30 updates in groups of 3.
 */
function recorded(results: Array<ConsensusReached | ConsensusNotReached>, at = 12): { log: Logged[]; copiesAt: number[] } {
  const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
  const copies = results.map((r) => core.fold(r, { topic: 'solver.verifications', partition: 0, offset: 0, eventId: r.meta.event_id, occurredAt: AT })[0]!.event as SolverEvent);
  const costs = costStream(SID, A.n, 30, 3);
  const log = [
    ...toLog([...openSession(SID, A, B, { verificationInterval: 10 }), ...results]),
    ...[...costs.slice(0, at), ...copies, ...costs.slice(at)].map((event, offset) => ({ topic: 'solver.costs', offset, event })),
  ];
  return { log, copiesAt: copies.map((_, k) => at + k) };
}

describe('solver: the verification schedule and verdict follow the consensus (seed 000 §2.3, §5.5)', () => {
  // The iteration at which the initial solve converges: the solution the verifiers judge.
  const judged = convergencesOf(run(toLog(openSession(SID, A, B, { verificationInterval: 10 })), { batch: 10, sliceWork: 1_000_000 }))[0]!.iteration;

  it('given a VERIFIED consensus asking for 11, when its copy lands among the cost groups, then the solves after it emit every 11 iterations and say verified', () => {
    const { log, copiesAt } = recorded([reached('c-ok', judged)]);
    const its = iterationsOf(run(log, { batch: 1, sliceWork: 1_000_000, resequence: false, limits }));
    const before = its.filter((e) => costsOffset(e) < copiesAt[0]!), after = its.filter((e) => costsOffset(e) > copiesAt[0]!);
    assert.ok(before.length > 5 && after.length > 5, `${before.length} before, ${after.length} after`);
    for (const e of before) {
      assert.equal(e.verification_interval, 10);
      assert.ok(e.iterations_in_batch <= 10);
      assert.deepEqual([e.verified, e.verification_score, e.swarm_consensus, e.swarm_participants, e.verified_iteration], [null, null, null, null, null]);
    }
    for (const e of after) {
      assert.equal(e.verification_interval, 11);
      assert.ok(e.iterations_in_batch <= 11);
      assert.deepEqual([e.verified, e.verification_score, e.swarm_consensus, e.swarm_participants, e.verified_iteration], [true, 0.75, 0.75, 4, judged]);
    }
    // The cadence itself changed: full batches of 10 before, of 11 after (a solve's last batch may be shorter).
    assert.ok(before.some((e) => e.iterations_in_batch === 10) && !before.some((e) => e.iterations_in_batch === 11));
    assert.ok(after.some((e) => e.iterations_in_batch === 11) && !after.some((e) => e.iterations_in_batch === 10));
  });

  it('given the same recorded log batched and interleaved differently, or restored from a snapshot half-way, then every output is the same bit for bit', () => {
    const { log } = recorded([reached('c-ok', judged)]);
    const work = (r: ReturnType<typeof run>) => comparable(r.outputs.filter((o) => o.topic !== 'solver.costs'));
    const a = run(log, { batch: 1, sliceWork: 1_000_000, resequence: false, limits });
    for (const [batch, sliceWork] of [[7, 300_000], [40, 3_000_000]] as const) {
      assert.deepStrictEqual(work(run(log, { batch, sliceWork, resequence: false, shuffleTopics: batch === 7, limits })), work(a), `batch ${batch}`);
    }
    // A snapshot after the copy: the adapted interval and the verdict survive it.
    const cut = log.findIndex((l) => l.topic === 'solver.costs' && l.offset === 20);
    const first = run(log.slice(0, cut), { batch: 5, sliceWork: 1_000_000, resequence: false, limits });
    assert.equal(active(first.core, SID).interval, 11);
    const restored = new PartitionCore(0, { ...DEFAULT_SOLVER_LIMITS, ...limits }, wasmKernel());
    deserialize(serialize(first.core), restored);
    assert.deepStrictEqual(active(restored, SID).verdict, active(first.core, SID).verdict);
    const second = run(log.slice(cut), { batch: 5, sliceWork: 1_000_000, resequence: false, core: restored });
    assert.deepStrictEqual([...work(first), ...work(second)], work(a));
  });

  it('given a REJECTED consensus asking for 8, then the interval shrinks to 8 and the outputs say not verified', () => {
    const { log, copiesAt } = recorded([reached('c-bad', judged, { outcome: 'REJECTED', next: 8, verifiedVotes: 1 })]);
    const after = iterationsOf(run(log, { batch: 3, sliceWork: 1_000_000, resequence: false, limits })).filter((e) => costsOffset(e) > copiesAt[0]!);
    assert.ok(after.length > 5);
    for (const e of after) assert.deepEqual([e.verification_interval, e.verified, e.verification_score, e.swarm_consensus], [8, false, 0.25, 0.75]);
    assert.ok(after.some((e) => e.iterations_in_batch === 8) && after.every((e) => e.iterations_in_batch <= 8));
  });

  it('given an agreed interval outside 0.5x..2x the session\'s, then the solver keeps it within those bounds', () => {
    for (const [asked, kept] of [[1000, 20], [1, 5], [15, 15]] as const) {
      const { log } = recorded([reached(`c-${asked}`, judged, { next: asked })]);
      const r = run(log, { batch: 10, sliceWork: 1_000_000, resequence: false, limits });
      assert.equal(active(r.core, SID).interval, kept, `asked ${asked}`);
      assert.equal(iterationsOf(r).at(-1)!.verification_interval, kept);
    }
  });

  it('given a round closed without agreement, then the outputs say not verified, without an agreement level, and the interval stays', () => {
    const { log, copiesAt } = recorded([reached('c-ok', judged), notReached('c-none', judged + 1)]);
    const after = iterationsOf(run(log, { batch: 4, sliceWork: 1_000_000, resequence: false, limits })).filter((e) => costsOffset(e) > copiesAt[1]!);
    assert.ok(after.length > 0);
    for (const e of after) {
      assert.deepEqual([e.verification_interval, e.verified, e.verification_score, e.swarm_consensus, e.swarm_participants, e.verified_iteration], [11, false, 1 / 3, null, 3, judged + 1]);
    }
  });

  it('given a consensus on an older solution after one on a newer, then the older one changes nothing', () => {
    const { log, copiesAt } = recorded([reached('c-new', judged + 5, { next: 12 }), reached('c-old', judged, { outcome: 'REJECTED', next: 6 })]);
    const r = run(log, { batch: 4, sliceWork: 1_000_000, resequence: false, limits });
    const after = iterationsOf(r).filter((e) => costsOffset(e) > copiesAt[1]!);
    assert.ok(after.length > 0 && after.every((e) => e.verification_interval === 12 && e.verified === true && e.verified_iteration === judged + 5));
  });

  it('given a session that re-converges after a VERIFIED consensus, then its ConvergenceReached carries the verdict and the agreement level', () => {
    const { log, copiesAt } = recorded([reached('c-ok', judged)]);
    const convs = convergencesOf(run(log, { batch: 2, sliceWork: 1_000_000, resequence: false, limits }));
    assert.equal(convs[0]!.swarm_consensus, null);
    const later = convs.filter((e) => costsOffset(e) > copiesAt[0]!);
    assert.ok(later.length > 0);
    for (const e of later) assert.deepEqual([e.verified, e.verification_score, e.swarm_consensus, e.swarm_participants, e.verified_iteration], [true, 0.75, 0.75, 4, judged]);
  });

  it('given a consensus result on solver.verifications, then it is only copied onto solver.costs; the copy queues behind the session\'s work', () => {
    const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    for (const l of toLog(openSession(SID, A, B))) core.fold(l.event, { topic: l.topic, partition: 0, offset: l.offset, eventId: l.event.meta.event_id, occurredAt: AT });
    const raw = reached('c-raw', 1);
    const outs = core.fold(raw, { topic: 'solver.verifications', partition: 0, offset: 3, eventId: raw.meta.event_id, occurredAt: AT });
    assert.deepEqual(outs.map((o) => [o.topic, o.event.type, o.event.meta.causation_id]), [['solver.costs', 'ConsensusReached', 'c-raw']]);
    assert.equal(active(core, SID).intake.jobs.length, 0);
    core.fold(outs[0]!.event as SolverEvent, { topic: 'solver.costs', partition: 0, offset: 0, eventId: outs[0]!.event.meta.event_id, occurredAt: AT });
    assert.equal(active(core, SID).intake.jobs.length, 1);
    assert.equal(active(core, SID).interval, 100, 'not before its turn');
  });
});
