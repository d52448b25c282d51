import assert from 'node:assert/strict';
import { runCli } from '../../support/process';

// A clean environment apart from what the spec sets: the machine's own variables must not decide
// whether a knob reads as set.
const bare = (env: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...env });

describe('solvermesh configuration from the environment (the compiled CLI)', function () {
  this.timeout(60_000);

  it('given two bad variables, one the runtime\'s and one the solver\'s, when `run solver` starts, then it exits 1 naming both before connecting anywhere', async () => {
    const run = await runCli(['run', 'solver'], bare({ KAFKA_CLIENT: 'java', SOLVER_MAX_ROWS: '-3', KAFKA_BROKERS: '127.0.0.1:1' }));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /invalid configuration \(2 bad variables\)/);
    assert.match(run.stderr, /KAFKA_CLIENT="java": one of rdkafka, kafkajs; e\.g\. KAFKA_CLIENT=rdkafka/);
    assert.match(run.stderr, /SOLVER_MAX_ROWS="-3": a number > 0; e\.g\. SOLVER_MAX_ROWS=2000000/);
  });

  it('given two bad impedance variables, when `run impedance` starts, then it exits 1 naming both', async () => {
    const run = await runCli(['run', 'impedance'], bare({ IMPEDANCE_CHECKPOINT_MS: '-1', IMPEDANCE_CAUGHT_UP_MS: 'soon', KAFKA_BROKERS: '127.0.0.1:1' }));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /IMPEDANCE_CHECKPOINT_MS="-1"/);
    assert.match(run.stderr, /IMPEDANCE_CAUGHT_UP_MS="soon"/);
  });

  it('given one variable set, when `config --service solver` runs, then every runtime and solver knob is listed with its value and source', async () => {
    const run = await runCli(['config', '--service', 'solver', '--json'], bare({ SOLVER_COALESCE_MAX: '77' }));
    assert.equal(run.code, 0, run.stderr);
    const rows = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { set: string; env: string; value: string; source: string });
    assert.deepEqual(rows.find((r) => r.env === 'SOLVER_COALESCE_MAX'), { set: 'solver', env: 'SOLVER_COALESCE_MAX', value: '77', source: 'env' });
    assert.deepEqual(rows.find((r) => r.env === 'KAFKA_BROKERS'), { set: 'runtime', env: 'KAFKA_BROKERS', value: '127.0.0.1:9092', source: 'default' });
    assert.ok(rows.some((r) => r.env === 'SOLVER_TXN_RETRY_BACKOFF_MS'));
    assert.ok(!rows.some((r) => r.set === 'impedance'), 'only the runtime\'s and the solver\'s');
  });

  it('given a bad variable, when `config` runs, then it lists it as invalid and exits 1 with the aggregated message', async () => {
    const run = await runCli(['config'], bare({ HTTP_PORT: '70000', DEMO_MESH_MS: '10' }));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /HTTP_PORT\s+70000\s+invalid/);
    assert.match(run.stderr, /invalid configuration \(2 bad variables\):\n {2}- HTTP_PORT="70000": an integer in \[0, 65535\]; e\.g\. HTTP_PORT=9400\n {2}- DEMO_MESH_MS="10"/);
  });
});
