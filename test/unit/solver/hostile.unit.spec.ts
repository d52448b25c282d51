// Hostile but well-formed solver inputs (issue 15): values that turn non-finite through valid
// steps, colliding identities, unbounded slice grants, orphan floods, poisoned snapshots. Each
// gets a clear refusal (InputRejected: the processor dead-letters it) or a clear event, and the
// partition's other sessions keep going.
import assert from 'node:assert/strict';
import type { SessionClosed, SessionRejected } from '../../../schemas/generated/events';
import { DEFAULT_SOLVER_LIMITS, PartitionCore, type Output, type SolverEvent } from '../../../services/solver/domain';
import { costStream, costUpdated, openSession } from '../../../services/solver/events';
import { deserialize, positionsRefusal, serialize, snapshotCandidates, snapshotEvents, SnapshotRefused } from '../../../services/solver/snapshot';
import { csrFromCoo, wasmKernel } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { active, refOf, run, slice, toLog, type Logged } from './harness';

const ID = (k: string) => `6f1c1d1e-0000-4000-8000-0000000e${k.padStart(4, '0')}`;
const X = ID('1'), Y = ID('2');
const A = poisson2d(6);

const ofType = <T extends Output['event']['type']>(outs: Output[], type: T, sid?: string) =>
  outs.map((o) => o.event).filter((e) => e.type === type && (sid === undefined || ('session_id' in e && e.session_id === sid))) as Array<Extract<Output['event'], { type: T }>>;

/** Records after `log`, offsets continuing per topic. */
function after(log: Logged[], events: SolverEvent[]): Logged[] {
  const next: Record<string, number> = {};
  for (const l of log) next[l.topic] = Math.max(next[l.topic] ?? 0, l.offset + 1);
  return toLog(events).map((l) => ({ ...l, offset: (next[l.topic] ?? 0) + l.offset }));
}

describe('solver under hostile input', () => {
  describe('values that become non-finite through valid steps', () => {
    it('given b deltas that overflow (1e308 + 1e308), then the session ends FAILED naming b[i], its later costs are refused, and its neighbour keeps converging', () => {
      const head = toLog([
        ...openSession(X, A, smoothRhs(A.n)), ...openSession(Y, A, smoothRhs(A.n)),
        costUpdated(X, 'big1', { indices: [3], values: [1e308], flush: false }), costUpdated(X, 'big2', { indices: [3], values: [1e308], flush: true }),
      ]);
      const first = run(head, { batch: 3, sliceWork: 1_000_000 });
      const closed = ofType(first.outputs, 'SessionClosed', X);
      assert.equal(closed.length, 1, `one SessionClosed for X among ${first.outputs.map((o) => o.event.type).join(', ')}`);
      assert.equal(closed[0]!.reason, 'FAILED');
      assert.match(closed[0]!.message ?? '', /b\[3\] .*not finite/);
      assert.equal(first.core.sessions.get(X)?.status, 'closed');
      assert.throws(() => first.core.check(costUpdated(X, 'late', { indices: [1], values: [1] })), /session .* is closed/);
      const tail = after(head, costStream(Y, A.n, 20, 5));
      const second = run(tail, { batch: 4, sliceWork: 1_000_000, core: first.core });
      assert.ok(ofType(second.outputs, 'ConvergenceReached', Y).length > 0, 'Y converges after its costs');
      assert.equal(active(second.core, Y).updatesApplied, 20);
    });

    it('given a solve whose products overflow (Gauss-Seidel on 1e200 couplings), then the session ends FAILED and no non-finite x is kept', () => {
      const a = csrFromCoo(2, [0, 0, 1, 1], [0, 1, 0, 1], [1, 1e200, 1e200, 1]);
      const log = toLog([...openSession(X, a, [1, 1], { method: 'GAUSS_SEIDEL', maxIterations: 50, verificationInterval: 1 }), ...openSession(Y, A, smoothRhs(A.n))]);
      const { outputs, core } = run(log, { batch: 2, sliceWork: 1_000_000 });
      const closed = ofType(outputs, 'SessionClosed', X);
      assert.equal(closed.length, 1, `one SessionClosed for X among ${outputs.map((o) => o.event.type).join(', ')}`);
      assert.equal(closed[0]!.reason, 'FAILED');
      assert.match(closed[0]!.message ?? '', /not finite/);
      for (const e of ofType(outputs, 'IterationCompleted', X)) assert.ok(e.x_change_values.every(Number.isFinite) && Number.isFinite(e.residual_norm), `finite outputs: ${JSON.stringify(e.x_change_values)}`);
      assert.equal(ofType(outputs, 'SolutionPublished', X).length, 0);
      assert.ok(ofType(outputs, 'ConvergenceReached', Y).length > 0);
      const restored = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
      deserialize(serialize(core), restored);
      assert.equal(restored.sessions.get(X)?.status, 'closed');
    });

    it('given a snapshot whose b holds Infinity, when restored, then it is refused (SnapshotRefused) and the core is left empty', () => {
      const { core } = run(toLog(openSession(X, A, smoothRhs(A.n))), { batch: 5, sliceWork: 1_000_000 });
      const blob = serialize(core);
      const hlen = blob.readUInt32LE(0);
      const header = JSON.parse(blob.subarray(4, 4 + hlen).toString()) as { sessions: Array<{ b: { at: number } }> };
      const poisoned = Buffer.from(blob);
      poisoned.writeDoubleLE(Infinity, 4 + hlen + header.sessions[0]!.b.at);
      const into = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
      assert.throws(() => deserialize(poisoned, into), (err: unknown) => err instanceof SnapshotRefused && /b\[0\] is not finite/.test(err.message));
      assert.equal(into.sessions.size, 0);
    });
  });

  describe('forged snapshots', () => {
    const INPUTS = ['solver.sessions', 'solver.costs', 'solver.commands', 'solver.verifications'];
    const filed = (folded: Record<string, number>) => {
      const core = new PartitionCore(2, DEFAULT_SOLVER_LIMITS, wasmKernel());
      Object.assign(core.folded, folded);
      return snapshotEvents(core, 0);
    };

    it('given pieces the solver cannot have written (another producer, ids not derived from their positions, positions off the partition\'s inputs), then none makes a candidate, and the real ones come newest first', () => {
      const older = filed({ 'solver.sessions': 3, 'solver.costs': 10 });
      const newer = filed({ 'solver.sessions': 3, 'solver.costs': 20 });
      const [base] = filed({ 'solver.sessions': 3, 'solver.costs': 30 });
      const forged = [
        { ...base!, meta: { ...base!.meta, producer: 'mallory' } },
        { ...base!, applied_through: base!.applied_through.map((q) => ({ ...q, offset: q.offset + 1 })) },
        { ...base!, meta: { ...base!.meta, event_id: ID('f00') } },
        ...filed({ 'solver.sessions': 3, 'mesh.heartbeats': 99 }),
      ];
      const { candidates, refused } = snapshotCandidates([...older, ...forged, ...newer], 2, INPUTS);
      assert.deepEqual(candidates.map((c) => c.snapshotId), [newer[0]!.snapshot_id, older[0]!.snapshot_id]);
      assert.equal(refused.length, 4);
      assert.match(refused.join('\n'), /producer mallory[\s\S]*does not derive from its positions[\s\S]*piece id[\s\S]*outside the partition's inputs/);
    });

    it('given a candidate claiming offsets the group never committed, or filed under positions its state does not hold, then it is refused', () => {
      const [c] = snapshotCandidates(filed({ 'solver.sessions': 3, 'solver.costs': 20 }), 2, INPUTS).candidates;
      assert.equal(positionsRefusal(c!, { 'solver.sessions': 4, 'solver.costs': 21 }), undefined);
      assert.match(positionsRefusal(c!, { 'solver.sessions': 4, 'solver.costs': 20 }) ?? '', /claims solver.costs through offset 20, but the log holds \(or the group committed\) only offsets below 20/);
      const other = filed({ 'solver.sessions': 3, 'solver.costs': 5 })[0]!.state!;
      assert.match(positionsRefusal({ ...c!, blob: other }, { 'solver.sessions': 4, 'solver.costs': 21 }) ?? '', /folded solver.costs through 5, its envelope says 20/);
    });
  });

  describe('duplicate and colliding identities', () => {
    it('given a second SessionOpened with an id in use (another event id), then SessionRejected DUPLICATE_SESSION, the open session untouched; the same event redelivered changes nothing', () => {
      const opening = openSession(X, A, smoothRhs(A.n));
      const again = { ...opening[0]!, meta: { ...opening[0]!.meta, event_id: ID('dup') }, rows: 3, cols: 3 };
      const log = toLog([...opening, again, opening[0]!, ...costStream(X, A.n, 10, 5)]);
      const { outputs, core } = run(log, { batch: 3, sliceWork: 1_000_000 });
      const rejected = ofType(outputs, 'SessionRejected', X) as SessionRejected[];
      assert.equal(rejected.length, 1);
      assert.equal(rejected[0]!.reason, 'DUPLICATE_SESSION');
      assert.equal(rejected[0]!.meta.causation_id, ID('dup'));
      assert.match(rejected[0]!.message, /already/);
      assert.equal(active(core, X).updatesApplied, 10);
      assert.equal(active(core, X).csr.n, A.n);
    });

    it('given costs and client requests for a closed session, then each is refused naming the close, never folded; a verifier\'s correction racing the close is not', () => {
      const closeEv: SessionClosed = { type: 'SessionClosed', meta: { ...openSession(X, A, [])[0]!.meta, event_id: ID('close'), producer: 'client' }, session_id: X, reason: 'CLIENT_CLOSED', final_iteration: null, final_residual_norm: null, message: 'bye' };
      const log = toLog([...openSession(X, A, smoothRhs(A.n)), closeEv]).map((l) => (l.event.type === 'SessionClosed' ? { ...l, topic: 'solver.costs' } : l));
      const { core } = run(log, { batch: 5, sliceWork: 1_000_000 });
      assert.equal(core.sessions.get(X)?.status, 'closed');
      assert.throws(() => core.check(costUpdated(X, 'after', { indices: [0], values: [1] })), /session .* is closed \(bye\): its CostUpdated is not applied/);
      const verify = { type: 'VerificationRequested', meta: { ...closeEv.meta, event_id: ID('v') }, session_id: X, probe_count: 1, probe_size: 1, seed: 1 } as SolverEvent;
      assert.throws(() => core.check(verify), /is closed/);
      // A verifier's correction racing the close is no client's mistake: passed over, not dead-lettered.
      const correction = { type: 'CorrectionRequested', meta: { ...closeEv.meta, event_id: ID('c') }, session_id: X, iteration: 3, verifier_id: 'g1', trigger: 'DRIFT', severity: 0.1, action: 'ADJUST_STEP', step_factor: 0.8, preconditioner: null, method: null } as SolverEvent;
      core.check(correction, 'solver.commands');
    });
  });

  describe('a slice grant asking for unbounded work', () => {
    it('given a grant beyond SOLVER_MAX_SLICE_WORK (or below zero), then it is refused; a grant of one iteration of a larger session is not', () => {
      const limits = { ...DEFAULT_SOLVER_LIMITS, maxSliceWork: 1_000 };
      const { core } = run(toLog(openSession(X, A, smoothRhs(A.n))), { batch: 5, sliceWork: 1_000_000, limits });
      assert.throws(() => core.check(slice(X, 1, Number.MAX_SAFE_INTEGER)), /work 9007199254740991 is over .*SOLVER_MAX_SLICE_WORK/);
      assert.throws(() => core.check(slice(X, 2, -5)), /work -5/);
      assert.throws(() => core.check(slice(ID('none'), 3, 1e12)), /SOLVER_MAX_SLICE_WORK/);
      const iteration = A.values.length + A.n;
      core.check(slice(X, 4, Math.max(1_000, iteration)));
    });
  });

  describe('orphan floods', () => {
    it('given costs for thousands of sessions that never opened, then the partition holds at most SOLVER_MAX_ORPHANS of them and refuses the rest naming the budget', () => {
      const limits = { ...DEFAULT_SOLVER_LIMITS, maxOrphans: 500 };
      const core = new PartitionCore(0, limits, wasmKernel());
      let refused = 0;
      toLog(Array.from({ length: 3000 }, (_, k) => costUpdated(ID(String(100 + k)), k, { indices: [0], values: [1] }))).forEach((l) => {
        try { core.check(l.event, l.topic); } catch (err) { refused++; assert.match((err as Error).message, /SOLVER_MAX_ORPHANS/); return; }
        core.fold(l.event, refOf(l));
      });
      assert.equal(refused, 2500);
      assert.equal([...core.orphans.values()].reduce((n, l) => n + l.length, 0), 500);
      // Chunks come after their SessionOpened on one partition: one for a session never opened is refused, not held.
      const chunk = openSession(ID('8888'), A, smoothRhs(A.n))[1]!;
      assert.throws(() => core.check(chunk, 'solver.sessions'), /was never opened: its chunk 0 is not applied/);
      // A session that opens takes its orphans back: the budget frees up.
      const opened = toLog(openSession(ID('100'), A, smoothRhs(A.n)));
      for (const l of opened) core.fold(l.event, refOf(l));
      core.check(costUpdated(ID('9999'), 'x', { indices: [0], values: [1] }), 'solver.costs');
    });
  });
});

