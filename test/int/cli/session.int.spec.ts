// solvermesh session open / session watch / produce cost / sessions, run as child processes
// against the real broker and registry, with the real solver service as its own process.
// Given a 2D Poisson system in Matrix Market files, when a user opens a session, watches it,
// pushes cost updates from NDJSON and lists the sessions, then each command says what the log says.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeMatrixMarketCsr, writeMatrixMarketVector } from '../../../services/solver/matrix-market';
import { poisson2d } from '../../../wasm/src/problems';
import { TestKafka } from '../../support/kafka';
import { runCli as cli, type CliRun as Run } from '../../support/process';
import { readAll, readOf, sessionOf, startSolver, type SolverChild } from '../solver/support';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

describe('solvermesh session open / watch, produce cost, sessions', function () {
  this.timeout(90_000);
  const a = poisson2d(12); // 144 unknowns
  const TOL = 1e-8;
  let k: TestKafka;
  let solver: SolverChild;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let sid: string;
  let costsSent = 0;

  before(async () => {
    k = await TestKafka.create('cli-session');
    dir = mkdtempSync(join(tmpdir(), 'solvermesh-cli-'));
    writeFileSync(join(dir, 'A.mtx'), writeMatrixMarketCsr(a, 'poisson2d(12)'));
    writeFileSync(join(dir, 'b.mtx'), writeMatrixMarketVector(Float64Array.from({ length: a.n }, (_, i) => 1 + Math.sin(i))));
    writeFileSync(join(dir, 'big.mtx'), writeMatrixMarketCsr(poisson2d(40)));
    // Sessions over 1,000 rows are rejected, so the big one shows a rejection.
    solver = startSolver(k, { SOLVER_MAX_ROWS: '1000' });
    env = { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' };
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- solver output ---\n${solver?.output().slice(-3000)}\n`);
  });
  after(async () => {
    solver?.proc.kill('SIGKILL');
    await k?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('given A.mtx and b.mtx, when a session is opened, then stdout is its id alone and the log holds SessionOpened + chunks as asked', async () => {
    const r = await cli(['session', 'open', '--matrix', join(dir, 'A.mtx'), '--rhs', join(dir, 'b.mtx'), '--method', 'cg', '--tol', String(TOL), '--precond', 'none', '--verification-interval', '5'], env);
    ok(r, 'session open');
    assert.equal(lines(r.stdout).length, 1, r.stdout);
    sid = r.stdout.trim();
    assert.match(sid, UUID);
    assert.match(r.stderr, new RegExp(`144 unknowns, ${a.values.length} non-zeros in 1 chunk`));
    const mine = (await readAll(k, 'solver.sessions')).filter((e) => sessionOf(e) === sid);
    assert.deepEqual(mine.map((e) => e.type), ['SessionOpened', 'MatrixChunkAppended']);
    const opened = mine[0];
    assert.ok(opened?.type === 'SessionOpened');
    assert.equal(opened.method, 'CG');
    assert.equal(opened.rows, 144);
    assert.equal(opened.options.tolerance, TOL);
    assert.equal(opened.options.preconditioner, 'NONE');
    assert.equal(opened.options.verification_interval, 5);
  });

  it('when it is watched --until-converged, then one line per IterationCompleted and exit 0 at ConvergenceReached', async () => {
    const r = await cli(['session', 'watch', sid, '--until-converged', '--timeout', '40'], env);
    ok(r, 'session watch');
    const out = lines(r.stdout);
    const its = out.filter((l) => l.startsWith('iteration '));
    assert.ok(its.length >= 2, r.stdout);
    // iteration N residual R rate Q method M interval I applied_through <positions> (no verifier runs: no verdict)
    const parsed = its.map((l) => /^iteration (\d+) residual (\S+) rate (\S+) method CG interval 5 applied_through (\S+)$/.exec(l));
    assert.ok(parsed.every(Boolean), r.stdout);
    assert.ok(Number(parsed.at(-1)![2]) <= TOL);
    assert.match(parsed[0]![4]!, /^solver\.sessions\[\d\]@1$/);
    assert.match(out.at(-1)!, /^converged at iteration \d+ residual \S+ <= tol 1e-8/);
    assert.match(r.stderr, new RegExp(`session ${sid} converged`));
  });

  it('when cost updates come through produce cost (NDJSON on stdin and flags), then it re-converges on all of them, a stale edit is a conflict and a bad index a dead letter', async () => {
    const updates = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ delta_indices: [(i * 7) % a.n], delta_values: [0.001 * ((i % 5) - 2)], flush: i % 250 === 249 }));
    const diag = a.values[a.rowPtr[3]! + [...a.colIdx.subarray(a.rowPtr[3]!, a.rowPtr[4]!)].indexOf(3)]!;
    updates.splice(1000, 0, JSON.stringify({ matrix_updates: [{ row: 3, col: 3, old_value: diag, new_value: diag + 0.5 }], flush: true }));
    const piped = await cli(['produce', 'cost', '--session', sid, '--stdin', '--batch', '300'], env, `${updates.join('\n')}\n`);
    ok(piped, 'produce cost --stdin');
    assert.deepEqual(JSON.parse(piped.stdout), { session: sid, updates: 2001, lines: 2001, last_flush: true, seconds: JSON.parse(piped.stdout).seconds });
    const stale = await cli(['produce', 'cost', '--session', sid, '--a', `5,5,${diag + 1},9`, '--b', '5=0.25'], env);
    ok(stale, 'produce cost --a (stale)');
    // An index outside the 144-row session: the solver dead-letters it, so nothing waits for it.
    const outside = await cli(['produce', 'cost', '--session', sid, '--b', '144=1'], env);
    ok(outside, 'produce cost --b (outside)');
    costsSent = 2003;

    // solver.costs also carries the solver's command copies and ticks.
    const costs = await readOf(k, 'solver.costs', 'CostUpdated', sid);
    assert.equal(costs.length, costsSent);
    assert.deepEqual(JSON.parse(JSON.stringify(costs[1000]!.matrix_updates)), [{ row: 3, col: 3, old_value: diag, new_value: diag + 0.5 }]);
    assert.deepEqual(costs.at(-2)!.delta_indices, [5]);
    assert.deepEqual(costs.at(-1)!.delta_indices, [144]);
    const lastApplicable = costs.at(-2)!.offset;

    const r = await cli(['session', 'watch', sid, '--until-converged', '--timeout', '40', '--json'], env);
    ok(r, 'session watch after the updates');
    const events = lines(r.stdout).map((l) => JSON.parse(l) as {
      type: string; applied_through?: Array<{ topic: string; offset: number }>; residual_norm?: number; detail?: { conflict_type: string };
      source?: { topic: string; offset: number }; error_message?: string;
    });
    const dead = events.filter((e) => e.type === 'DeadLetter');
    assert.equal(dead.length, 1, r.stdout);
    assert.deepEqual([dead[0]!.source!.topic, dead[0]!.source!.offset], ['solver.costs', costs.at(-1)!.offset]);
    assert.match(dead[0]!.error_message!, /144/);
    const last = events.filter((e) => e.type === 'ConvergenceReached').at(-1)!;
    assert.equal(last.applied_through!.find((p) => p.topic === 'solver.costs')?.offset, lastApplicable);
    assert.ok(last.residual_norm! <= TOL);
    const conflicts = events.filter((e) => e.type === 'ConflictReported');
    assert.equal(conflicts.length, 1, 'the stale edit of A[5][5], and only it');
    assert.equal(conflicts[0]!.detail!.conflict_type, 'DATA_CONTRADICTION');
    assert.ok(events.filter((e) => e.type === 'ConvergenceReached').length >= 2, 'converged before and after the updates');
  });

  it('when a session is over the solver limit, then watch --until-converged exits non-zero with the rejection', async () => {
    const big = await cli(['session', 'open', '--matrix', join(dir, 'big.mtx'), '--method', 'jacobi'], env);
    ok(big, 'session open (big)');
    const r = await cli(['session', 'watch', big.stdout.trim(), '--until-converged', '--timeout', '40'], env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^rejected TOO_LARGE: rows 1600 is over the solver limit 1000/m);
    assert.match(r.stderr, /solvermesh: session \S+ was rejected \(TOO_LARGE\)/);
  });

  it('then sessions lists both from the log: converged with every update applied, and rejected', async () => {
    const [r, table] = await Promise.all([cli(['sessions', '--json'], env), cli(['sessions'], env)]);
    ok(r, 'sessions --json');
    const rows = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(rows.length, 2, r.stdout);
    const mine = rows.find((s) => s.session_id === sid)!;
    const lastIteration = (await readOf(k, 'solver.iterations', 'IterationCompleted', sid)).at(-1)!;
    assert.deepEqual({ ...mine, opened_at: undefined }, {
      session_id: sid, state: 'converged', reason: null, unknowns: 144, nnz: a.values.length, method: 'CG', running: 'CG', tolerance: TOL, opened_at: undefined,
      iteration: lastIteration.iteration, residual: lastIteration.residual_norm, updates_sent: costsSent, updates_applied: costsSent - 1, updates_dead_lettered: 1, conflicts: 1,
      // Opened by the CLI, not through the gateway's tokens; no verifier ran.
      owner: null, verification: null,
    });
    const other = rows.find((s) => s.session_id !== sid)!;
    assert.equal(other.state, 'rejected');
    assert.match(String(other.reason), /^TOO_LARGE: rows 1600/);

    ok(table, 'sessions');
    assert.match(table.stdout, /^SESSION\s+STATE\s+UNKNOWNS/);
    assert.match(table.stdout, new RegExp(`^${sid}\\s+converged\\s+144\\s+${a.values.length}\\s+CG\\s+${lastIteration.iteration}\\s+\\S+\\s+${costsSent - 1}/${costsSent} \\(1 dlq\\)\\s+1\\s`, 'm'));
  });

  it('given bad input, then each command exits non-zero with a message and sends nothing it did not report', async () => {
    writeFileSync(join(dir, 'bad.mtx'), '%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 4\n2 2 x\n');
    // A session nobody opened: its updates only show what produce sent.
    const other = randomUUID();
    const ndjson = ['{"delta_indices":[1],"delta_values":[0.5]}', '', '{"delta_indices":[2],"delta_values":[0.5],"flush":false}', '{"delta_indices":[3],"delta_values":["lots"]}', '{"delta_indices":[4],"delta_values":[0.5]}'].join('\n');
    // Independent commands, run side by side (flag and line parsing in detail: the unit spec).
    const [missing, invalid, method, bad, never] = await Promise.all([
      cli(['session', 'open', '--matrix', join(dir, 'nope.mtx'), '--method', 'cg'], env),
      cli(['session', 'open', '--matrix', join(dir, 'bad.mtx'), '--method', 'cg'], env),
      cli(['session', 'open', '--matrix', join(dir, 'A.mtx'), '--method', 'newton'], env),
      cli(['produce', 'cost', '--session', other, '--stdin'], env, ndjson),
      cli(['session', 'watch', randomUUID(), '--until-converged', '--timeout', '2'], env),
    ]);

    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read matrix '.*nope\.mtx': ENOENT/);
    assert.equal(missing.stdout, '');
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /matrix '.*bad\.mtx': Matrix Market line 4: value 'x' is not a finite number/);
    assert.equal(method.code, 1);
    assert.match(method.stderr, /--method must be one of jacobi, gauss_seidel, cg, bicgstab, neumann, hybrid \(got 'newton'\)/);

    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /stdin line 4: delta_values\[0\] must be a finite number, got "lots"; sent 2 update\(s\) \(through stdin line 3\), nothing from line 4 on/);
    const sent = (await readAll(k, 'solver.costs')).filter((e) => sessionOf(e) === other);
    assert.deepEqual(sent.map((c) => (c.type === 'CostUpdated' ? c.delta_indices : c.type)), [[1], [2]]);

    assert.equal(never.code, 1);
    assert.match(never.stderr, /nothing in .*solver\.sessions yet/);
    assert.match(never.stderr, /did not converge on every update within 2 s \(no iteration seen\)/);
  });
});
