// Seed 000 §9.1-§9.4 as a user runs them: test/seed/seed-curls.sh (real curl and jq) against the
// real gateway, solver, broker, registry and Redis. The script checks every status itself and
// exits non-zero with a FAIL line on the first answer that is not the expected one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../schemas/project-root';
import type { RunningGateway } from '../../../services/gateway';
import { TestKafka } from '../../support/kafka';
import { startSolver, type SolverChild } from '../solver/support';
import { startTestGateway, TOKENS } from './support';

const SCRIPT = join(projectRoot(), 'test', 'seed', 'seed-curls.sh');

function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', [SCRIPT, ...args], { env: { ...process.env, GATEWAY_URL: '', TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('seed 000 §9.1-§9.4 curl commands (test/seed/seed-curls.sh)', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let solver: SolverChild;
  let gw: RunningGateway;
  let url: string;

  before(async () => {
    k = await TestKafka.create('gateway-curls');
    solver = startSolver(k);
    gw = await startTestGateway(k.prefix);
    url = `http://127.0.0.1:${gw.port}`;
  });
  after(async () => {
    await gw?.stop(0);
    solver?.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given the gateway and a solver, when the script runs with a token that may open sessions, then it exits 0: each seed request that contradicts itself gets its 400, each corrected one succeeds', async () => {
    const r = await runScript([url, TOKENS.alice]);
    const out = `${r.stdout}\n--- stderr ---\n${r.stderr}\n--- solver ---\n${solver.output().slice(-2000)}`;
    assert.equal(r.code, 0, out);
    assert.match(r.stdout, /matrix\.data\.row_indices does not belong to format csr/, out);
    assert.match(r.stdout, /^\d\d:\d\d:\d\d\.\d{3}: \{"type":"session_accepted"/m, out);
    assert.match(r.stdout, /^\d\d:\d\d:\d\d\.\d{3}: \{"type":"stream_closed".*"reason":"ConvergenceReached"/m, out);
    assert.match(r.stdout, /delta_costs\.indices\[0\] is 100, outside 0\.\.2/, out);
    assert.match(r.stdout, /"probe_count": 20/, out);
    const sid = /seed curls OK: session ([0-9a-f-]{36})$/m.exec(r.stdout)?.[1];
    assert.ok(sid, out);
    assert.match(r.stdout, new RegExp(`"session_id": "${sid}",[^}]*"state": "converged"`, 's'), out);
    // The session the script opened is on the log, owned by the token's subject.
    const st = await (await fetch(`${url}/api/v1/status/${sid}`, { headers: { authorization: `Bearer ${TOKENS.admin}` } })).json() as { owner: string; updates_applied: number };
    assert.equal(st.owner, 'alice');
    assert.ok(st.updates_applied >= 1);
  });

  it('when the token may only read, then the script stops at the first request with a FAIL line naming the step and the status, and exits 1', async () => {
    const r = await runScript([url, TOKENS.reader]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^FAIL: §9\.1 \(seed\): expected HTTP 400, got 403: .*lacks scope \\"open\\"/m);
    assert.doesNotMatch(r.stdout, /seed curls OK/);
  });

  it('when no gateway answers or no arguments are given, then it says so and exits non-zero', async () => {
    const down = await runScript(['http://127.0.0.1:9', TOKENS.alice]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /FAIL: §9\.1 \(seed\): curl failed \(is the gateway at http:\/\/127\.0\.0\.1:9 up\?\)/);
    const usage = await runScript([]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^usage: /);
  });
});
