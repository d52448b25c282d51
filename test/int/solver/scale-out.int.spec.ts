// Given two solver instances in one group, when one is killed, then the other takes its
// partitions from the snapshots and the committed tail and every session finishes: no update
// lost, no iteration event missing or repeated.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { costStream, openSession } from '../../../services/solver/events';
import type { IterationCompleted } from '../../../schemas/generated/events';
import { TestKafka } from '../../support/kafka';
import { costOffset, readAll, readOf, send, sessionOf, startSolver, type SolverChild } from './support';

describe('solver service: scale-out and failover', function () {
  this.timeout(300_000);
  const children: SolverChild[] = [];
  let k: TestKafka;
  afterEach(async () => { for (const c of children) c.proc.kill('SIGKILL'); await k?.close(); });

  it('given two instances sharing sessions, when one is killed, then the other continues them all with nothing lost', async () => {
    k = await TestKafka.create('solver-scale');
    const a = poisson2d(30);
    const ids: string[] = Array.from({ length: 6 }, () => randomUUID());
    const env = { SOLVER_SNAPSHOT_EVERY: '50' };
    const first = startSolver(k, env), second = startSolver(k, env);
    children.push(first, second);
    for (const id of ids) await send(k, 'solver.sessions', openSession(id, a, smoothRhs(a.n), { verificationInterval: 10 }));
    const streams = ids.map((id) => costStream(id, a.n, 400, 20));
    for (const s of streams) await send(k, 'solver.costs', s.slice(0, 200));
    // Both instances are working (some snapshots written) before one dies.
    for (let i = 0; (await readAll(k, 'solver.snapshots')).length < 2; i++) {
      if (i > 200) assert.fail('no snapshots written');
      await new Promise((r) => setTimeout(r, 250));
    }
    first.proc.kill('SIGKILL');
    await first.exited;
    for (const s of streams) await send(k, 'solver.costs', s.slice(200));

    const deadline = Date.now() + 180_000;
    let its: IterationCompleted[] = [];
    const perSession = () => ids.map((id) => its.filter((e) => e.session_id === id));
    const last = (id: string) => streams[ids.indexOf(id)]!.length - 1;
    // Offsets per session in the costs partition are not 0..399 (sessions share partitions); the
    // last update of each session is the one to wait for.
    const costsLog = await readAll(k, 'solver.costs');
    const lastOffsets = new Map(ids.map((id) => [id, Math.max(...costsLog.filter((c) => sessionOf(c) === id && c.meta.event_id === streams[ids.indexOf(id)]![last(id)]!.meta.event_id).map((c) => c.offset))]));
    for (;;) {
      its = await readOf(k, 'solver.iterations', 'IterationCompleted');
      if (perSession().every((list, i) => list.some((e) => costOffset(e) >= lastOffsets.get(ids[i]!)!) && list.at(-1)!.residual_norm <= 1e-8)) break;
      if (Date.now() > deadline) assert.fail(`sessions unfinished: ${perSession().map((l) => l.length).join(',')}\n${second.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const list of perSession()) {
      for (let i = 1; i < list.length; i++) assert.equal(list[i]!.iteration, list[i - 1]!.iteration + list[i]!.iterations_in_batch, 'no gap, no duplicate');
    }
  });
});
