// `solvermesh run gateway` as a process against the real broker, registry, Redis and solver:
// on SIGTERM it drains its streams, ends them with the reason and where to resume, and exits 0.
import assert from 'node:assert/strict';
import { poisson2d } from '../../../wasm/src/problems';
import { TestKafka } from '../../support/kafka';
import { startSolver, type SolverChild } from '../solver/support';
import { gatewayEnv, json, solveBody, spawnGateway, StreamReader, TOKENS } from './support';

describe('gateway process: drain on SIGTERM', function () {
  this.timeout(180_000);
  let k: TestKafka;
  let solver: SolverChild;

  before(async () => {
    k = await TestKafka.create('gateway-streams');
    solver = startSolver(k);
  });
  after(async () => {
    solver?.proc.kill('SIGKILL');
    await k?.close();
  });

  it('given `solvermesh run gateway` with a stream open, when it gets SIGTERM, then the stream ends with the reason and where to resume, and the process exits 0', async () => {
    const env = await gatewayEnv(k.prefix, { GATEWAY_DRAIN_MS: '1500' });
    const child = spawnGateway(env);
    try {
      const port = await Promise.race([child.port, child.exited.then(() => { throw new Error(`gateway exited: ${child.output()}`); })]);
      const open = await fetch(`http://127.0.0.1:${port}/api/v1/solve-stream?follow=true`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' }, body: JSON.stringify(solveBody(poisson2d(6))),
      });
      assert.equal(open.status, 200);
      const stream = new StreamReader(open);
      await stream.readUntil((xs) => xs.some((x) => x.includes('"ConvergenceReached"')));
      child.proc.kill('SIGTERM');
      const lines = json(await stream.readUntil(() => false, 20_000));
      const last = lines.at(-1)!;
      assert.equal(last.type, 'stream_closed');
      assert.match(String(last.reason), /^gateway shutting down after a 1500 ms drain/);
      assert.match(String(last.last_event_id), /^i\d-\d+/);
      const exit = await child.exited;
      assert.equal(exit.code, 0, child.output());
      assert.match(child.output(), /SIGTERM received, draining 1 streams/);
    } finally {
      child.proc.kill('SIGKILL');
    }
  });
});
