import assert from 'node:assert/strict';
import { csrFromCoo, multiply, relativeResidual } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { costStream, costUpdated, openSession } from '../../../services/solver/events';
import { PartitionCore, DEFAULT_SOLVER_LIMITS } from '../../../services/solver/domain';
import { serialize, deserialize } from '../../../services/solver/snapshot';
import { unpackFloat64 } from '../../../schemas/packed';
import type { IterationCompleted, SolutionPublished } from '../../../schemas/generated/events';
import { wasmKernel, type KernelFactory } from '../../../wasm';
import { active, comparable, kernelOf, refOf, run, toLog } from './harness';

const SID = '6f1c1d1e-0000-4000-8000-000000000001';
const A = poisson2d(20);
const B = smoothRhs(A.n);

function iterations(outputs: ReturnType<typeof run>['outputs']): IterationCompleted[] {
  return outputs.filter((o) => o.event.type === 'IterationCompleted').map((o) => o.event as IterationCompleted);
}

describe('solver domain: sessions as a fold of their inputs', () => {
  const log = toLog([...openSession(SID, A, B, { verificationInterval: 10 }), ...costStream(SID, A.n, 300, 7)]);

  it('given one log, when it is batched differently and the topics interleave differently, then every output is the same bit for bit', () => {
    const a = run(log, { batch: 1, sliceWork: 50_000 });
    const b = run(log, { batch: 97, sliceWork: 3_000_000 });
    const c = run(log, { batch: 13, sliceWork: 7_777, shuffleTopics: true });
    assert.ok(iterations(a.outputs).length > 40);
    assert.deepStrictEqual(comparable(b.outputs), comparable(a.outputs));
    assert.deepStrictEqual(comparable(c.outputs), comparable(a.outputs));
  });

  it('given the final state, then x solves the final system (b with every delta) to the tolerance', () => {
    const { outputs, core } = run(log, { batch: 50, sliceWork: 1_000_000 });
    const b = Float64Array.from(B);
    for (const l of log) if (l.event.type === 'CostUpdated') l.event.delta_indices.forEach((i, k) => { b[i] = b[i]! + (l.event as { delta_values: number[] }).delta_values[k]!; });
    const x = active(core, SID).kernel.readX();
    assert.ok(relativeResidual(A, x, b) <= 1e-8);
    const last = iterations(outputs).at(-1)!;
    assert.ok(last.applied_through.some((p) => p.topic === 'solver.costs' && p.offset === 299));
    const sol = outputs.filter((o) => o.event.type === 'SolutionPublished').at(-1)!.event as SolutionPublished;
    assert.ok(sol.iteration <= last.iteration);
  });

  it('given a snapshot at a quiet point, when it is restored and the tail refolded, then the outputs continue exactly', () => {
    const head = log.slice(0, 150), tail = log.slice(150);
    const full = run(log, { batch: 10, sliceWork: 1_000_000 });
    const first = run(head, { batch: 10, sliceWork: 1_000_000 });
    const restored = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    deserialize(serialize(first.core), restored);
    const second = run(tail, { batch: 10, sliceWork: 1_000_000, core: restored });
    assert.deepStrictEqual(comparable([...first.outputs, ...second.outputs]), comparable(full.outputs));
  });

  it('given a snapshot written when open groups held their CostUpdated events, when it is restored, then the outputs continue exactly', () => {
    // Cut where the open group holds updates (costStream's bursts flush every 7th), one a matrix edit.
    const edit = costUpdated(SID, 'legacy-edit', { matrix: [{ row: 3, col: 3, old_value: 4.1, new_value: 4.2 }, { row: 4, col: 4, old_value: 9, new_value: 1 }], indices: [5], values: [0.25], flush: false });
    const events = [...openSession(SID, A, B, { verificationInterval: 10 }), ...costStream(SID, A.n, 60, 7).slice(0, 59), edit, ...costStream(SID, A.n, 30, 7, 9, 500)];
    const legacyLog = toLog(events);
    const cut = legacyLog.findIndex((l) => l.event === edit) + 1;
    // Every flush closes at once (no ticks): the layout is under test, not where ticks land.
    const limits = { minGroupIntervalMicros: 0 };
    const full = run(legacyLog, { batch: 10, sliceWork: 1_000_000, limits });
    const first = run(legacyLog.slice(0, cut), { batch: 10, sliceWork: 1_000_000, limits });
    const open = legacyLog.slice(0, cut).filter((l) => l.event.type === 'CostUpdated').slice(-active(first.core, SID).intake.open.count).map((l) => l.event);
    assert.ok(open.length >= 2 && open.at(-1) === edit, `the cut leaves an open group ending in the edit (${open.length})`);
    // The old layout: the same snapshot with the open group as its events.
    const blob = serialize(first.core);
    const hlen = blob.readUInt32LE(0);
    const header = JSON.parse(blob.subarray(4, 4 + hlen).toString());
    header.sessions[0].open = open;
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h.length);
    const restored = new PartitionCore(0, { ...DEFAULT_SOLVER_LIMITS, ...limits }, wasmKernel());
    deserialize(Buffer.concat([len, h, blob.subarray(4 + hlen)]), restored);
    const second = run(legacyLog.slice(cut), { batch: 10, sliceWork: 1_000_000, core: restored });
    assert.deepStrictEqual(comparable([...first.outputs, ...second.outputs]), comparable(full.outputs));
    assert.equal(second.outputs.filter((o) => o.topic === 'mesh.conflicts').length, 1, 'the stale half of the edit is a conflict after the restore');
  });

  it('given flushes faster than SOLVER_MIN_GROUP_INTERVAL_MS, then groups close where the solver\'s ticks land, every update is applied, and the recorded log refolds the same in any batching', () => {
    // Each update flushed, 1 ms apart in event time, against a 5 ms minimum between groups.
    const fast = costStream(SID, A.n, 120, 1);
    const live = run(toLog([...openSession(SID, A, B, { verificationInterval: 10 }), ...fast]), { batch: 5, sliceWork: 1_000_000 });
    const ticks = live.consumed.filter((l) => l.topic === 'solver.costs' && l.event.type === 'IterationSliceGranted');
    const groups = new Set(iterations(live.outputs).map((i) => i.applied_through.find((p) => p.topic === 'solver.costs')?.offset ?? -1));
    assert.ok(ticks.length > 0, 'deferred flushes asked for ticks');
    assert.ok(groups.size < fast.length / 3, `${fast.length} flushes coalesced into ${groups.size} groups`);
    // Every update applied: the final x solves b with every delta.
    const b = Float64Array.from(B);
    for (const e of fast) e.delta_indices.forEach((i, k) => { b[i] = b[i]! + e.delta_values[k]!; });
    assert.ok(relativeResidual(A, active(live.core, SID).kernel.readX(), b) <= 1e-8);
    assert.equal(active(live.core, SID).updatesApplied, fast.length);
    // The recorded log (ticks where they landed) refolds to the same outputs, however batched.
    const recorded = live.consumed;
    const work = (r: ReturnType<typeof run>) => comparable(r.outputs.filter((o) => o.topic !== 'solver.costs'));
    for (const batch of [1, 13, 200]) {
      assert.deepStrictEqual(work(run(recorded, { batch, sliceWork: 1_000_000, resequence: false, shuffleTopics: batch === 13 })), work(live), `batch ${batch}`);
    }
  });

  it('given a matrix update with a stale old_value, then it is a DATA_CONTRADICTION conflict and A keeps its value', () => {
    const events = [...openSession(SID, A, B), costUpdated(SID, 'm1', { matrix: [{ row: 0, col: 1, old_value: 9, new_value: -2 }] }), costUpdated(SID, 'm2', { matrix: [{ row: 0, col: 0, old_value: 4.1, new_value: 5 }] })];
    const { outputs, core } = run(toLog(events), { batch: 5, sliceWork: 1_000_000 });
    const conflicts = outputs.filter((o) => o.topic === 'mesh.conflicts');
    assert.equal(conflicts.length, 1);
    assert.equal((conflicts[0]!.event as { detail: { conflict_type: string } }).detail.conflict_type, 'DATA_CONTRADICTION');
    const s = active(core, SID);
    assert.equal(s.csr.values[0], 5);
    assert.equal(s.csr.values[1], -1);
    const ax = multiply(s.csr, s.kernel.readX());
    assert.equal(ax.length, A.n);
  });

  it('given an index outside the matrix, then check() rejects the record (it goes to the DLQ) and nothing is folded', () => {
    const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    for (const l of toLog(openSession(SID, A, B))) core.fold(l.event, refOf(l));
    assert.throws(() => core.check(costUpdated(SID, 'bad', { indices: [A.n], values: [1] })), /outside the 400-row session/);
    assert.throws(() => core.check(costUpdated(SID, 'bad2', { matrix: [{ row: 0, col: 5, old_value: 0, new_value: 1 }] })), /not in the sparsity pattern/);
  });

  it('given cost updates before their session opens, then they wait (up to coalesce_max, the rest to the DLQ) and apply first once it opens', () => {
    const core = new PartitionCore(0, { ...DEFAULT_SOLVER_LIMITS, coalesceMax: 3 }, wasmKernel());
    const early = [0, 1, 2].map((i) => costUpdated(SID, `early-${i}`, { indices: [i], values: [1], flush: i === 2 }));
    early.forEach((e, i) => { core.check(e); core.fold(e, { topic: 'solver.costs', partition: 0, offset: i, eventId: e.meta.event_id, occurredAt: e.meta.occurred_at }); });
    assert.throws(() => core.check(costUpdated(SID, 'early-3', { indices: [3], values: [1] })), /not open yet and 3 of its records already wait/);
    for (const l of toLog(openSession(SID, A, B))) core.fold(l.event, refOf(l));
    const s = active(core, SID);
    assert.equal(s.intake.jobs.length, 1, 'the three waiting updates form one group');
    core.work();
    assert.equal(s.updatesApplied, 3);
    assert.deepStrictEqual([0, 1, 2].map((i) => s.b[i]! - B[i]!), [1, 1, 1]);
  });

  it('given a session over the row limit, then it is rejected with the limit and its chunks are refused', () => {
    const core = new PartitionCore(0, { ...DEFAULT_SOLVER_LIMITS, maxRows: 100 }, wasmKernel());
    const [opened, chunk] = toLog(openSession(SID, A, B));
    const out = core.fold(opened!.event, refOf(opened!));
    assert.deepStrictEqual((({ type, reason, limit, actual }) => ({ type, reason, limit, actual }))(out[0]!.event as never), { type: 'SessionRejected', reason: 'TOO_LARGE', limit: 100, actual: 400 });
    assert.throws(() => core.check(chunk!.event), /rejected/);
  });

  it('given a CorrectionRequested to restart with another method, then the next iterations run it', () => {
    const events = [...openSession(SID, A, B, { verificationInterval: 5 }), {
      type: 'CorrectionRequested' as const, meta: { event_id: 'c1', correlation_id: SID, causation_id: null, occurred_at: 1, producer: 'v', sequence: null },
      session_id: SID, iteration: 1, verifier_id: 'v1', trigger: 'DRIFT' as const, severity: 0.7, action: 'RESTART_METHOD' as const,
      step_factor: null, preconditioner: null, method: 'JACOBI' as const,
    }, costUpdated(SID, 'after', { indices: [3], values: [1] })];
    const its = iterations(run(toLog(events), { batch: 1, sliceWork: 1_000_000 }).outputs);
    assert.equal(its[0]!.method, 'CG');
    assert.equal(its.at(-1)!.method, 'JACOBI');
  });

  const correction = (id: string, method: 'JACOBI' | 'GAUSS_SEIDEL') => ({
    type: 'CorrectionRequested' as const, meta: { event_id: id, correlation_id: SID, causation_id: null, occurred_at: 1, producer: 'v', sequence: null },
    session_id: SID, iteration: 1, verifier_id: 'v1', trigger: 'DRIFT' as const, severity: 0.7, action: 'RESTART_METHOD' as const,
    step_factor: null, preconditioner: null, method,
  });

  it('given a command on solver.commands, then it is only copied onto solver.costs, and it takes effect where the copy lands', () => {
    const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    for (const l of toLog(openSession(SID, A, B))) core.fold(l.event, refOf(l));
    core.work();
    const raw = correction('c-seq', 'JACOBI');
    const outs = core.fold(raw, { topic: 'solver.commands', partition: 0, offset: 0, eventId: 'c-seq', occurredAt: 1 });
    assert.equal(outs.length, 1);
    assert.equal(outs[0]!.topic, 'solver.costs');
    assert.equal(outs[0]!.event.meta.causation_id, 'c-seq');
    assert.notEqual(outs[0]!.event.meta.event_id, 'c-seq');
    assert.equal(active(core, SID).intake.jobs.length, 0, 'the raw command queues nothing');
    core.fold(outs[0]!.event as never, { topic: 'solver.costs', partition: 0, offset: 0, eventId: outs[0]!.event.meta.event_id, occurredAt: 1 });
    assert.equal(active(core, SID).intake.jobs.length, 1, 'the sequenced copy queues the command');
  });

  it('given a recorded log where command copies sit among the cost groups, when the topics interleave differently, then the outputs are the same bit for bit', () => {
    // As a live run leaves it: raw commands on solver.commands, their copies in the cost
    // partition after cost record 20 and 30. Restore and replay merge the topics in some other
    // order; the copies' positions decide which group each command follows.
    const core0 = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    const raws = [correction('c-a', 'JACOBI'), correction('c-b', 'GAUSS_SEIDEL')];
    const copies = raws.map((r) => core0.fold(r, { topic: 'solver.commands', partition: 0, offset: 0, eventId: r.meta.event_id, occurredAt: 1 })[0]!.event as never);
    const costs = costStream(SID, A.n, 40, 3);
    const log = [...toLog([...openSession(SID, A, B, { verificationInterval: 4 }), ...raws]),
      ...[...costs.slice(0, 20), copies[0]!, ...costs.slice(20, 30), copies[1]!, ...costs.slice(30)].map((event, offset) => ({ topic: 'solver.costs', offset, event }))];
    const work = (r: ReturnType<typeof run>) => comparable(r.outputs.filter((o) => o.topic !== 'solver.costs'));
    // A recorded log without ticks: every flush closes its group at once.
    const limits = { minGroupIntervalMicros: 0 };
    const a = run(log, { batch: 1, sliceWork: 1_000_000, resequence: false, limits });
    const b = run(log, { batch: 7, sliceWork: 1_000_000, shuffleTopics: true, resequence: false, limits });
    const c = run([...log].reverse().sort((p, q) => (p.topic === q.topic ? p.offset - q.offset : 0)), { batch: 40, sliceWork: 300_000, resequence: false, limits });
    const methods = iterations(a.outputs).map((i) => i.method);
    const firstJacobi = methods.indexOf('JACOBI'), firstGs = methods.indexOf('GAUSS_SEIDEL');
    assert.ok(firstJacobi > 0 && firstGs > firstJacobi && methods.at(-1) === 'GAUSS_SEIDEL', 'each correction took effect after its group');
    assert.ok(methods.slice(firstGs).every((m) => m === 'GAUSS_SEIDEL'));
    assert.deepStrictEqual(work(b), work(a));
    assert.deepStrictEqual(work(c), work(a));
  });

  it('given a solve that converges, then ConvergenceReached follows 10 iterations in a row under the tolerance (seed 000 §3.3)', () => {
    const { outputs } = run(toLog(openSession(SID, A, B, { verificationInterval: 1000 })), { batch: 10, sliceWork: 1_000_000 });
    const its = iterations(outputs);
    const conv = outputs.filter((o) => o.event.type === 'ConvergenceReached').map((o) => o.event as { iteration: number; iterations_below_threshold: number; residual_norm: number; tolerance: number });
    assert.equal(conv.length, 1);
    assert.equal(conv[0]!.iterations_below_threshold, 10);
    // The converged IterationCompleted, then one for the 9 confirming iterations, then the signal.
    assert.equal(its.length, 2);
    assert.ok(its[0]!.residual_norm <= conv[0]!.tolerance);
    assert.equal(its[1]!.iterations_in_batch, 9);
    assert.equal(conv[0]!.iteration, its[0]!.iteration + 9);
    assert.equal(conv[0]!.residual_norm, its[1]!.residual_norm);
    assert.ok(conv[0]!.residual_norm <= its[0]!.residual_norm, 'confirming iterations do not undo convergence');
  });

  it('given consecutive = 1, then ConvergenceReached comes with the converged iteration and no confirming iterations run', () => {
    const { outputs } = run(toLog(openSession(SID, A, B, { verificationInterval: 1000 })), { batch: 10, sliceWork: 1_000_000, limits: { consecutive: 1 } });
    const its = iterations(outputs);
    const conv = outputs.filter((o) => o.event.type === 'ConvergenceReached').map((o) => o.event as { iteration: number; iterations_below_threshold: number });
    assert.equal(its.length, 1);
    assert.deepStrictEqual(conv.map((c) => [c.iteration, c.iterations_below_threshold]), [[its[0]!.iteration, 1]]);
  });

  it('given an idle session past the timeout in event time, then it is evicted and its memory released', () => {
    // A factory whose kernels count their free(): eviction must release the evicted one's memory.
    let freed = 0;
    const counting: KernelFactory = (a) => {
      const k = wasmKernel()(a);
      const free = k.free.bind(k);
      k.free = () => { freed += 1; free(); };
      return k;
    };
    const core = new PartitionCore(0, { ...DEFAULT_SOLVER_LIMITS, idleTimeoutMicros: 1e6 }, counting);
    const other = '6f1c1d1e-0000-4000-8000-000000000002';
    const log2 = toLog([...openSession(SID, A, B), ...openSession(other, A, B, { occurredAt: 1_767_225_600_000_000 + 5e6 })]);
    const outs = log2.flatMap((l) => core.fold(l.event, refOf(l)));
    assert.ok(outs.map((o) => o.event.type).includes('SessionClosed'));
    assert.equal(core.sessions.get(SID)!.status, 'closed');
    assert.equal(kernelOf(core.sessions.get(SID)!), undefined);
    assert.equal(freed, 1, 'the evicted session\'s kernel is freed, the other one\'s is not');
  });

  it('given a solution, then SolutionPublished carries x in packed chunks', () => {
    const { outputs, core } = run(toLog(openSession(SID, csrFromCoo(3, [0, 1, 2], [0, 1, 2], [2, 4, 8]), [2, 4, 8])), { batch: 3, sliceWork: 100 });
    const sol = outputs.find((o) => o.event.type === 'SolutionPublished')!.event as SolutionPublished;
    assert.deepStrictEqual(Array.from(unpackFloat64(sol.values)), [1, 1, 1]);
    assert.ok(active(core, SID).iteration > 0);
  });
});

describe('solver domain: flushes faster than SOLVER_MIN_GROUP_INTERVAL_MS while a tick is on its way', () => {
  it('given a flush every 1 ms and a tick that lands 30 ms late, then no flush closes a group before it lands, two groups close per round trip, and the flush after the late tick asks for the next one', () => {
    const at = 1_767_225_600_000_000;
    const core = new PartitionCore(0, DEFAULT_SOLVER_LIMITS, wasmKernel());
    const offsets: Record<string, number> = {};
    const fold = (topic: string, e: Parameters<PartitionCore['fold']>[0]) => {
      const offset = (offsets[topic] = (offsets[topic] ?? -1) + 1);
      const out = core.fold(e, { topic, partition: 0, offset, eventId: e.meta.event_id, occurredAt: e.meta.occurred_at });
      return [...out, ...core.work()];
    };
    for (const e of openSession(SID, A, B, { occurredAt: at })) fold('solver.sessions', e);
    const groups: number[] = [];
    const update = (k: number) => {
      const before = active(core, SID).updatesApplied;
      const out = fold('solver.costs', costUpdated(SID, k, { indices: [k % A.n], values: [0.01], occurredAt: at + (10 + k) * 1000 }));
      if (active(core, SID).updatesApplied > before) groups.push(active(core, SID).updatesApplied - before);
      return out.filter((o) => o.event.type === 'IterationSliceGranted');
    };

    assert.equal(update(0).length, 0, 'the first flush closes at once, no tick');
    const [tick] = update(1);
    assert.ok(tick, 'an early flush closes at once too and asks for a tick');
    // 29 more, 1 ms apart: some of them 5 ms after the last group, yet the tick is on its way.
    for (let k = 2; k <= 30; k++) assert.deepEqual(update(k), []);
    assert.deepEqual(groups, [1, 1]);

    const before = active(core, SID).updatesApplied;
    fold('solver.costs', tick!.event as Parameters<PartitionCore['fold']>[0]);
    assert.equal(active(core, SID).updatesApplied - before, 29, 'the waiting flushes closed one group where the tick landed');
    // The tick carries update 1's time; the group it closed ends at update 30's.
    assert.equal(update(31).length, 1, 'the next flush, 1 ms after update 30, is early: it closes and asks for the next tick');
    assert.deepEqual(update(32), [], 'and the one after it waits');
  });
});
