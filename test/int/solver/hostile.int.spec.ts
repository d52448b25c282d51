// The solver service against hostile records on the real broker (issue 15): values that overflow
// through valid steps, colliding identities, an unbounded slice grant and an orphan flood on one
// partition; forged snapshots; a restart after the group's offsets were deleted. Every hostile
// record gets an event or a dead letter with its reason, and the state stays the log's.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { partitionOf as keyPartition } from '../../../bench/solver-service/clients';
import type { CostUpdated, SessionClosed, SessionOpened, SessionSnapshotted, VerificationRequested } from '../../../schemas/generated/events';
import { unpackFloat64 } from '../../../schemas/packed';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { derivedEventId } from '../../../services/runtime/ids';
import { committedOffsets, readLog } from '../../../services/runtime/kafka/log-reader';
import { DEFAULT_SOLVER_LIMITS, PartitionCore } from '../../../services/solver/domain';
import { costStream, costUpdated, openSession } from '../../../services/solver/events';
import { sequencedId } from '../../../services/solver/outputs';
import { INPUTS, SNAPSHOTS } from '../../../services/solver/processor';
import { snapshotPieces } from '../../../services/solver/restore';
import { snapshotCandidates, snapshotEvents, snapshotKey } from '../../../services/solver/snapshot';
import { SOLVER_PARTITIONS, dlqName } from '../../../topics/catalog';
import { relativeResidual, wasmKernel } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { TestKafka, waitFor } from '../../support/kafka';
import { costOffset, readAll, readOf, send, startSolver, type SolverChild } from './support';

const A = poisson2d(20);
const partitionOf = (key: string) => keyPartition(key, SOLVER_PARTITIONS);
const groupOf = (k: TestKafka) => `${k.prefix}solvermesh.solver`;
const readerOf = (k: TestKafka) => ({ brokers: k.brokers, codec: k.codec, topicPrefix: k.prefix });

/** `count` fresh session ids whose records land on `partition`. */
function idsOn(partition: number, count: number): string[] {
  const out: string[] = [];
  while (out.length < count) { const id = randomUUID(); if (partitionOf(id) === partition) out.push(id); }
  return out;
}

/** The reasons of the dead letters of `topic` so far. */
const dead = async (k: TestKafka, topic: string) =>
  (await readLog(k.brokers, k.codec, [{ topic: k.topic(dlqName(topic)), partition: 0, from: 0 }], { decode: false })).map((r) => r.headers[DLQ_HEADERS.errorMessage] ?? '');

async function convergedThrough(k: TestKafka, sid: string, offset: number, timeoutMs = 90_000): Promise<void> {
  await waitFor(async () => (await readOf(k, 'solver.iterations', 'ConvergenceReached', sid)).some((e) => costOffset(e) >= offset), timeoutMs, `ConvergenceReached of ${sid} through cost offset ${offset}`);
}

/** Offset in solver.costs of the session's last CostUpdated (all of it sent by the spec). */
async function lastCostOffset(k: TestKafka, sid: string): Promise<number> {
  return Math.max(...(await readOf(k, 'solver.costs', 'CostUpdated', sid)).map((e) => e.offset));
}

/** x as the solver holds it after every input so far: the SolutionPublished a VerificationRequested causes at its turn. */
async function currentX(k: TestKafka, sid: string, like: CostUpdated): Promise<Float64Array> {
  const id = await verified(k, sid, like);
  const sol = (await readOf(k, 'solver.solutions', 'SolutionPublished', sid)).find((e) => e.meta.causation_id === sequencedId(id));
  return unpackFloat64(sol!.values);
}

/** Sends a VerificationRequested and waits for its SolutionPublished; returns the request's event id. */
async function verified(k: TestKafka, sid: string, like: CostUpdated): Promise<string> {
  const req: VerificationRequested = { type: 'VerificationRequested', meta: { ...like.meta, event_id: randomUUID(), producer: 'test' }, session_id: sid, requested_by: 'test', probe_count: 1, probe_size: 1, seed: 1 };
  await send(k, 'solver.commands', [req]);
  await waitFor(async () => (await readOf(k, 'solver.solutions', 'SolutionPublished', sid)).some((e) => e.meta.causation_id === sequencedId(req.meta.event_id)),
    90_000, 'the SolutionPublished of the verification request');
  return req.meta.event_id;
}

/** b with every delta of `costs` added once. */
function bAfter(costs: readonly CostUpdated[]): Float64Array {
  const b = Float64Array.from(smoothRhs(A.n));
  for (const u of costs) u.delta_indices.forEach((i, j) => { b[i] = b[i]! + u.delta_values[j]!; });
  return b;
}

async function stop(child: SolverChild): Promise<void> {
  child.proc.kill('SIGTERM');
  const { code } = await child.exited;
  assert.equal(code, 0, `the solver stopped cleanly: ${child.output().slice(-2000)}`);
}

describe('solver service under hostile records', function () {
  this.timeout(600_000);
  const children: SolverChild[] = [];
  const kafkas: TestKafka[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) c.proc.kill('SIGKILL');
    await Promise.all(kafkas.splice(0).map((k) => k.close()));
  });

  it('given an overflowing b, a second open of a live id, costs after a close, an unbounded slice and an orphan flood on one partition, then each gets its event or dead letter and the neighbour keeps converging', async () => {
    const k = await TestKafka.create('solver-hostile');
    kafkas.push(k);
    const [n, x, c, ...orphans] = idsOn(partitionOf(randomUUID()), 3 + 80) as [string, string, string, ...string[]];
    const child = startSolver(k, { SOLVER_MAX_ORPHANS: '50', SOLVER_MAX_SLICE_WORK: '1000000' });
    children.push(child);
    const opens = [n, x, c].map((id) => openSession(id, A, smoothRhs(A.n), { verificationInterval: 20 }));
    await send(k, 'solver.sessions', opens.flat());
    await convergedThrough(k, n, -1);

    const closeC: SessionClosed = { type: 'SessionClosed', meta: { ...opens[2]![0]!.meta, event_id: randomUUID(), producer: 'client' }, session_id: c, reason: 'CLIENT_CLOSED', final_iteration: null, final_residual_norm: null, message: 'client done' };
    const again: SessionOpened = { ...(opens[0]![0] as SessionOpened), meta: { ...opens[0]![0]!.meta, event_id: randomUUID() } };
    await send(k, 'solver.sessions', [again, closeC]);
    await send(k, 'solver.costs', [costUpdated(x, 'big1', { indices: [3], values: [1e308], flush: false }), costUpdated(x, 'big2', { indices: [3], values: [1e308] })]);
    const slice = { type: 'IterationSliceGranted' as const, meta: { ...closeC.meta, event_id: randomUUID(), producer: 'mallory' }, session_id: n, work: 1e15 };
    await send(k, 'solver.commands', [slice]);
    await send(k, 'solver.costs', orphans.map((id, i) => costUpdated(id, `orphan-${i}`, { indices: [0], values: [1] })));
    // Costs for c once its close is in effect (its copy precedes them on the cost partition).
    await waitFor(async () => (await readOf(k, 'solver.costs', 'SessionClosed', c)).length > 0, 60_000, 'the close of c sequenced');
    await send(k, 'solver.costs', [costUpdated(c, 'late', { indices: [1], values: [1] })]);
    const more = costStream(n, A.n, 30, 10, 7);
    await send(k, 'solver.costs', more);
    await convergedThrough(k, n, await lastCostOffset(k, n));

    const sessions = await readAll(k, 'solver.sessions');
    const failed = (await readOf(k, 'solver.sessions', 'SessionClosed', x));
    assert.deepEqual(failed.map((e) => e.reason), ['FAILED']);
    assert.match(failed[0]!.message ?? '', /b\[3\] .* is not finite \(Infinity\)/);
    const dup = sessions.filter((e) => e.type === 'SessionRejected' && e.session_id === n);
    assert.deepEqual(dup.map((e) => e.type === 'SessionRejected' && e.reason), ['DUPLICATE_SESSION']);
    await waitFor(async () => (await dead(k, 'solver.costs')).length >= 31, 30_000, 'the cost dead letters');
    const costDead = await dead(k, 'solver.costs');
    assert.equal(costDead.filter((m) => /SOLVER_MAX_ORPHANS/.test(m)).length, 30, costDead.join('\n'));
    assert.equal(costDead.filter((m) => new RegExp(`session ${c} is closed \\(client done\\): its CostUpdated is not applied`).test(m)).length, 1, costDead.join('\n'));
    await waitFor(async () => (await dead(k, 'solver.commands')).some((m) => /work 1000000000000000 is over the slice limit .*SOLVER_MAX_SLICE_WORK/.test(m)), 30_000, 'the slice dead letter');
    assert.equal(child.proc.exitCode, null, 'the solver runs on');
  });

  it('given forged snapshots on solver.snapshots (beyond the log, an empty state, another producer, garbage, a non-finite b), when the solver restarts, then it refuses them and continues from the log', async () => {
    const k = await TestKafka.create('solver-forged');
    kafkas.push(k);
    const sid = randomUUID();
    const p = partitionOf(sid);
    const env = { SOLVER_SNAPSHOT_EVERY: '20' };
    let child = startSolver(k, env);
    children.push(child);
    const costs = costStream(sid, A.n, 100, 10);
    await send(k, 'solver.sessions', openSession(sid, A, smoothRhs(A.n), { verificationInterval: 20 }));
    // Open before its costs, so the snapshots after them hold the session (not its costs as orphans).
    await convergedThrough(k, sid, -1);
    await send(k, 'solver.costs', costs);
    await convergedThrough(k, sid, await lastCostOffset(k, sid));
    const real = async () => snapshotCandidates(await snapshotPieces(readerOf(k), p), p, INPUTS).candidates;
    await waitFor(async () => (await real()).length > 0, 60_000, 'a snapshot of the partition');
    // Inputs after the last snapshot, so a forgery can claim positions past it and inside the log.
    const tail = costStream(sid, A.n, 5, 5, 3, 100);
    await send(k, 'solver.costs', tail);
    await convergedThrough(k, sid, await lastCostOffset(k, sid));
    await stop(child);

    const committed = await committedOffsets(k.brokers, groupOf(k), INPUTS.map((t) => ({ topic: k.topic(t), partition: p })));
    const through = Object.fromEntries(INPUTS.map((t) => [t, Number(committed.get(`${k.topic(t)}/${p}`)) - 1]).filter(([, o]) => (o as number) >= 0)) as Record<string, number>;
    const forge = (folded: Record<string, number>, edit?: (blob: Buffer) => Buffer): SessionSnapshotted[] => {
      const core = new PartitionCore(p, DEFAULT_SOLVER_LIMITS, wasmKernel());
      Object.assign(core.folded, folded);
      return snapshotEvents(core, 0).map((e) => (edit ? { ...e, state: edit(e.state!) } : e));
    };
    const beyond = forge(Object.fromEntries(Object.keys(through).map((t) => [t, 1_000_000])));
    const empty = forge(through);
    const mallory = forge({ ...through, 'solver.costs': through['solver.costs']! - 1 }).map((e) => ({ ...e, meta: { ...e.meta, producer: 'mallory' } }));
    // The newest real snapshot, filed at later positions, with b[0] set to Infinity.
    const newest = (await real())[0]!;
    const poisonedAt = { ...through, 'solver.costs': through['solver.costs']! - 2 };
    const poisoned = poisonSnapshot(newest.blob, poisonedAt, p);
    const all = [...beyond, ...empty, ...mallory, ...poisoned];
    await k.sendEvents(SNAPSHOTS, all.map((e) => ({ key: snapshotKey(p, e.chunk_index), event: e })));
    await k.sendRaw(SNAPSHOTS, [{ key: snapshotKey(p, 0), value: Buffer.from('not a snapshot at all') }]);

    child = startSolver(k, { ...env, LOG_LEVEL: 'warn' });
    children.push(child);
    const after = costStream(sid, A.n, 10, 10, 11, 200);
    await send(k, 'solver.costs', after);
    await convergedThrough(k, sid, await lastCostOffset(k, sid));
    const x = await currentX(k, sid, after[0]!);
    const residual = relativeResidual(A, x, bAfter([...costs, ...tail, ...after]));
    assert.ok(residual <= 1e-6, `x solves the log's system: residual ${residual}`);
    const log = child.output();
    assert.match(log, /snapshot refused/);
    assert.match(log, /only offsets below/);
    assert.match(log, /sessions are not those solver.sessions opened/);
    assert.match(log, /producer mallory/);
    assert.match(log, /b\[0\] is not finite/);
  });

  it('given a command on solver.costs and the same command cut short (its schema id known, its body not), when the solver first starts on that log, then its restore passes over the cut one, which is dead-lettered, and the session converges', async () => {
    // The restore types a record by its schema id and decodes only the types it needs: a body
    // that does not decode under a known id stopped every start of the solver (found by make soak).
    const k = await TestKafka.create('solver-undecodable-restore');
    kafkas.push(k);
    const sid = randomUUID();
    const costs = costStream(sid, A.n, 20, 10);
    await send(k, 'solver.sessions', openSession(sid, A, smoothRhs(A.n), { verificationInterval: 20 }));
    const req: VerificationRequested = { type: 'VerificationRequested', meta: { ...costs[0]!.meta, event_id: randomUUID(), producer: 'test' }, session_id: sid, requested_by: 'test', probe_count: 1, probe_size: 1, seed: 1 };
    const whole = await k.codec.encode(k.topic('solver.costs'), req);
    await k.sendRaw('solver.costs', [{ key: sid, value: whole }, { key: sid, value: whole.subarray(0, whole.length - 3) }]);
    await send(k, 'solver.costs', costs);
    const child = startSolver(k);
    children.push(child);
    await convergedThrough(k, sid, await lastCostOffset(k, sid));
    await waitFor(async () => (await dead(k, 'solver.costs')).some((m) => /does not decode with schema id \d+ \(VerificationRequested\)/.test(m)), 30_000, 'the cut command dead-lettered');
    assert.equal(child.proc.exitCode, null, 'the solver runs on');
  });

  it('given the solver stopped and its group\'s offsets deleted, when it restarts, then the inputs its snapshot folded are not applied again', async () => {
    const k = await TestKafka.create('solver-lost-offsets');
    kafkas.push(k);
    const sid = randomUUID();
    const p = partitionOf(sid);
    const env = { SOLVER_SNAPSHOT_EVERY: '20' };
    let child = startSolver(k, env);
    children.push(child);
    const costs = costStream(sid, A.n, 100, 10);
    await send(k, 'solver.sessions', openSession(sid, A, smoothRhs(A.n), { verificationInterval: 20 }));
    // Open before its costs, so the snapshots after them hold the session (not its costs as orphans).
    await convergedThrough(k, sid, -1);
    await send(k, 'solver.costs', costs);
    await convergedThrough(k, sid, await lastCostOffset(k, sid));
    await waitFor(async () => snapshotCandidates(await snapshotPieces(readerOf(k), p), p, INPUTS).candidates.some((c) => c.where.some((q) => q.topic === 'solver.costs' && q.offset >= 50)), 60_000, 'a snapshot past cost offset 50');
    // A request after the last snapshot: its copy on solver.costs is written, its offset lost with the group's.
    const asked = await verified(k, sid, costs[0]!);
    await stop(child);

    const admin = k.kafka.admin();
    await admin.connect();
    try { await admin.deleteGroups([groupOf(k)]); } finally { await admin.disconnect(); }
    const left = await committedOffsets(k.brokers, groupOf(k), INPUTS.map((t) => ({ topic: k.topic(t), partition: p })));
    assert.ok([...left.values()].every((o) => o < 0), `no committed offsets left: ${JSON.stringify([...left])}`);

    child = startSolver(k, env);
    children.push(child);
    const after = costStream(sid, A.n, 10, 10, 5, 100);
    await send(k, 'solver.costs', after);
    await convergedThrough(k, sid, await lastCostOffset(k, sid));
    const x = await currentX(k, sid, after[0]!);
    const residual = relativeResidual(A, x, bAfter([...costs, ...after]));
    assert.ok(residual <= 1e-6, `every delta applied once: residual ${residual}`);
    // The inputs after the snapshot are processed again, so its answer is written again, with the same id.
    const answers = new Set((await readOf(k, 'solver.solutions', 'SolutionPublished', sid)).filter((e) => e.meta.causation_id === sequencedId(asked)).map((e) => e.meta.event_id));
    assert.equal(answers.size, 1, `the request met again is not sequenced (and answered) a second time: ${[...answers].join(', ')}`);
  });
});

/** The blob filed at `folded` (header rewritten to match), its first session's b[0] set to Infinity. */
function poisonSnapshot(blob: Buffer, folded: Record<string, number>, partition: number): SessionSnapshotted[] {
  const hlen = blob.readUInt32LE(0);
  const header = JSON.parse(blob.subarray(4, 4 + hlen).toString()) as { folded: Record<string, number>; sessions: Array<{ b: { at: number } | null }> };
  header.folded = folded;
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  const body = Buffer.from(blob.subarray(4 + hlen));
  const active = header.sessions.find((s) => s.b);
  assert.ok(active, `a snapshot with an active session: ${JSON.stringify(header.sessions.map((s) => [(s as { status?: string }).status, (s as { id?: string }).id]))} at ${JSON.stringify(header.folded)}`);
  body.writeDoubleLE(Infinity, active.b!.at);
  const state = Buffer.concat([len, h, body]);
  // The envelope the solver would give these positions (snapshotEvents' ids), over the edited state.
  const core = new PartitionCore(partition, DEFAULT_SOLVER_LIMITS, wasmKernel());
  Object.assign(core.folded, folded);
  const [first] = snapshotEvents(core, 0);
  return [{ ...first!, state, chunk_count: 1, chunk_index: 0, meta: { ...first!.meta, event_id: derivedEventId(first!.snapshot_id, '0') } }];
}
