// Given a session on the real broker, when 10,000 cost updates stream in, then it re-converges
// and its final x solves the final system, checked from the log's inputs alone.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { relativeResidual, type Csr } from '../../../wasm';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { costStream, costUpdated, openSession } from '../../../services/solver/events';
import { unpackFloat64, unpackInt32 } from '../../../schemas/packed';
import type { CostUpdated, SolvermeshEvent } from '../../../schemas/generated/events';
import { TestKafka } from '../../support/kafka';
import { costOffset, iterationsUntil, readAll, readOf, send, sessionOf, startSolver, type SolverChild } from './support';

describe('solver service: a session under a stream of cost updates', function () {
  this.timeout(240_000);
  let k: TestKafka;
  let solver: SolverChild | undefined;
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- solver output ---\n${solver?.output().slice(-4000)}\n`);
    solver?.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given 10,000 updates in bursts with matrix edits, then the final x solves the final system to the tolerance', async () => {
    k = await TestKafka.create('solver-stream');
    const sid = randomUUID();
    const a = poisson2d(50);
    solver = startSolver(k);
    await send(k, 'solver.sessions', openSession(sid, a, smoothRhs(a.n), { verificationInterval: 25 }));
    const stream = costStream(sid, a.n, 10_000, 100);
    // Matrix edits on the diagonal: one with the right old value, one stale (a conflict).
    stream[4999] = costUpdated(sid, 'edit-ok', { matrix: [{ row: 7, col: 7, old_value: 4.1, new_value: 4.5 }], flush: true });
    stream[5099] = costUpdated(sid, 'edit-stale', { matrix: [{ row: 8, col: 8, old_value: 3.9, new_value: 4.5 }], flush: true });
    // An index outside the matrix goes to the DLQ.
    stream.push(costUpdated(sid, 'outside', { indices: [a.n + 5], values: [1] }));
    await send(k, 'solver.costs', stream, 1000);
    const its = await iterationsUntil(k, sid, (list) => list.some((e) => costOffset(e) >= 9_999) && list.at(-1)!.residual_norm <= 1e-8, 60_000);
    await send(k, 'solver.commands', [{ type: 'VerificationRequested', meta: { ...stream[0]!.meta, event_id: randomUUID() }, session_id: sid, requested_by: 'test', probe_count: 1, probe_size: 1, seed: 1 }]);

    const sessions = (await readAll(k, 'solver.sessions')).filter((e) => sessionOf(e) === sid);
    // solver.costs also carries the commands the solver sequenced there.
    const costs = await readOf(k, 'solver.costs', 'CostUpdated', sid);
    const { csr, b } = systemFromLog(sessions, costs);
    let x: Float64Array | undefined;
    for (let tries = 0; !x; tries++) {
      const sol = await readOf(k, 'solver.solutions', 'SolutionPublished', sid);
      const last = sol.at(-1);
      if (last && last.iteration === its.at(-1)!.iteration) x = unpackFloat64(last.values);
      else if (tries > 100) assert.fail('no SolutionPublished for the final iteration');
      else await new Promise((r) => setTimeout(r, 200));
    }
    const residual = relativeResidual(csr, x, b);
    assert.ok(residual <= 1e-8, `independent residual ${residual}`);
    const conflicts = (await readAll(k, 'mesh.conflicts')).filter((e) => e.type === 'ConflictReported' && e.detail.context_hash.startsWith(sid));
    assert.equal(conflicts.length, 1, JSON.stringify((await readAll(k, 'mesh.conflicts')).map((e) => e.type)));
    const dlq = await k.collect('solver.costs.dlq', (r) => r.length >= 1);
    assert.match(dlq[0]!.headers['error.message'] ?? JSON.stringify(dlq[0]!.headers), /outside the 2500-row session/);
    // Iteration numbers only grow, with no gaps between batches.
    for (let i = 1; i < its.length; i++) assert.equal(its[i]!.iteration, its[i - 1]!.iteration + its[i]!.iterations_in_batch);
  });
});

/** A and b as the log defines them: chunks, then each update in costs order (stale edits refused). */
function systemFromLog(sessions: readonly SolvermeshEvent[], costs: readonly CostUpdated[]): { csr: Csr; b: Float64Array } {
  const opened = sessions.find((e) => e.type === 'SessionOpened');
  assert.ok(opened, 'the session has a SessionOpened');
  const n = opened.rows;
  const rowPtr = new Int32Array(n + 1); const cols: number[] = []; const vals: number[] = []; const b = new Float64Array(n);
  for (const c of sessions.filter((e) => e.type === 'MatrixChunkAppended').sort((p, q) => p.row_start - q.row_start)) {
    const rp = unpackInt32(c.row_pointers), ci = unpackInt32(c.col_indices), va = unpackFloat64(c.values), bv = unpackFloat64(c.b_values);
    const base = cols.length;
    for (let r = 0; r < c.row_count; r++) { rowPtr[c.row_start + r + 1] = base + rp[r + 1]!; b[c.row_start + r] = bv[r]!; }
    cols.push(...ci); vals.push(...va);
  }
  const csr = { n, rowPtr, colIdx: Int32Array.from(cols), values: Float64Array.from(vals) };
  for (const u of costs) {
    if (u.delta_indices.some((i) => i >= n)) continue;
    u.delta_indices.forEach((i, j) => { b[i] = b[i]! + u.delta_values[j]!; });
    for (const m of u.matrix_updates) {
      for (let q = csr.rowPtr[m.row]!; q < csr.rowPtr[m.row + 1]!; q++) if (csr.colIdx[q] === m.col && csr.values[q] === m.old_value) csr.values[q] = m.new_value;
    }
  }
  return { csr, b };
}
