// Given the impedance service (with its registry in a private Redis) and the guardian, when a
// cluster fails and the mesh degrades, then the schedules obey the guardian: the cluster's agents
// are SKIPped with CIRCUIT_OPEN while its breaker is open, and in DEGRADED_MODERATE a scatter over
// 1000 agents is refused with the reason while a small one is still scheduled.
import assert from 'node:assert/strict';
import type { ScheduleEntry } from '../../../schemas/generated/events';
import { runCli as cli } from '../../support/process';
import { useImpedanceWorld, startImpedance, waitCaughtUp } from '../impedance/support';
import { startRun, type SolverChild } from '../solver/support';
import { agent, summary } from '../../unit/guardian/events';
import { circuits, readTopic, until } from './support';

interface Waited { entries: ScheduleEntry[] }

describe('guardian decisions enforced in the impedance schedules (seed 002 §6.2-6.3)', function () {
  this.timeout(240_000);
  const w = useImpedanceWorld('guardian-enforce');
  const children: SolverChild[] = [];
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const c of children) process.stderr.write(`--- ${c.proc.spawnargs.slice(2).join(' ')}\n${c.output()}\n`);
  });
  after(() => { for (const c of children.splice(0)) c.proc.kill('SIGKILL'); });

  it('given a failing cluster and a degraded mesh, its agents are SKIPped with CIRCUIT_OPEN and a scatter over 1000 agents is refused', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    children.push(startRun(w.k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const sim = await cli(['simulate', 'mesh', '--agents', '60', '--count', '60', '--seed', '5'], env);
    assert.equal(sim.code, 0, sim.stderr);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const c00 = await w.redis.zrange(`${w.prefix}z:cluster:S000-C00`, 0, -1);
    const c01 = await w.redis.zrange(`${w.prefix}z:cluster:S000-C01`, 0, -1);
    assert.deepEqual([c00.length, c01.length], [30, 30]);

    // Six of S000-C00's agents reported down: its breaker opens (> 5).
    const now = Date.now() * 1000;
    const down = c00.slice(0, 6).map((id, i) => agent(id, 'S000-C00', 'S000', 'OFFLINE', now + i));
    await w.k.sendEvents('mesh.impedance', down.map((e) => ({ key: e.agent_id, event: e })));
    await until('the breaker', () => circuits(w.k), (cs) => cs.some((c) => c.scope_id === 'S000-C00' && c.new_state === 'OPEN'));
    await until('the impedance service to hold it', () => w.redis.hget(`${w.prefix}restrictions`, 'CLUSTER:S000-C00'), (v) => v?.startsWith('OPEN|') === true);

    const run = await cli(['mesh', 'coordinate', '--targets', 'cluster:S000-C00,cluster:S000-C01', '--at', '+3s', '--wait', '60', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    const { entries } = JSON.parse(run.stdout.trim()) as Waited;
    const of = (ids: string[]) => entries.filter((e) => ids.includes(e.agent_id));
    assert.deepEqual(of(c00).map((e) => e.skip_reason), Array(30).fill('CIRCUIT_OPEN'));
    assert.ok(of(c01).every((e) => e.skip_reason !== 'CIRCUIT_OPEN'));
    assert.ok(of(c01).some((e) => e.status === 'SCHEDULED'), 'the healthy cluster is scheduled');

    // 42 of 60 active (0.7): DEGRADED_MODERATE.
    await w.k.sendEvents('mesh.summaries', [{ key: 'mesh', event: summary(42, 60, now + 10_000_000) }]);
    await until('the mode', () => readTopic(w.k, 'mesh.circuits'), (es) => es.some((e) => e.type === 'OperationalModeChanged' && e.new_mode === 'DEGRADED_MODERATE'));
    await until('the impedance service to hold it', () => w.redis.hget(`${w.prefix}restrictions`, 'mode'), (v) => v?.startsWith('DEGRADED_MODERATE|') === true);
    const many = Array.from({ length: 1001 }, (_, i) => `X${i}`).join(',');
    const refused = await cli(['mesh', 'coordinate', '--targets', many, '--at', '+3s', '--wait', '60'], env);
    assert.equal(refused.code, 4, refused.stdout);
    assert.match(refused.stderr, /refused by the mesh: DEGRADED_MODERATE: scatter operations over 1000 agents are disabled \(1001 targets\)/);
    const small = await cli(['mesh', 'coordinate', '--targets', 'cluster:S000-C01', '--at', '+3s', '--wait', '60', '--json'], env);
    assert.equal(small.code, 0, small.stderr);
    assert.equal((JSON.parse(small.stdout.trim()) as Waited).entries.length, 30);
  });
});
