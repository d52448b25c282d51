import assert from 'node:assert/strict';
import type { AgentStateChanged, CoordinationRequested, SolvermeshEvent } from '../../../schemas/generated/events';
import { coordinatorService } from '../../../services/coordinator';
import { registryPrefix } from '../../../services/impedance';
import { OFFLINE_AFTER_US } from '../../../services/impedance/agent-fold';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { derivedEventId } from '../../../services/runtime/ids';
import { startService, type RunningService } from '../../../services/runtime/service';
import { TestKafka, waitFor } from '../../support/kafka';
import { runCli } from '../../support/process';
import { collectEvents, startImpedance, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

interface SimReport {
  agents: number; heartbeats: number;
  faults: { slow: string[]; dead: string[]; conflicting: string[]; dies_after_periods: number };
}

const simulate = (args: string[], env: NodeJS.ProcessEnv) => runCli(['simulate', 'mesh', ...args], env);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('solvermesh simulate mesh (a child process) against the broker, with the impedance service running', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('simulate');

  it('given 60 agents, 3 dead after 10 s and 3 slow, when 600 heartbeats (~10 periods of event time) are sent, then the dead go OFFLINE 30 s after their last heartbeat and the slow score higher', async () => {
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const run = await simulate(['--agents', '60', '--count', '600', '--seed', '4', '--dead', '3', '--dead-after', '10s', '--slow', '3'], env);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as SimReport;
    assert.equal(report.heartbeats, 600);
    assert.equal(report.faults.dead.length, 3);
    assert.equal(report.faults.dies_after_periods, 2);
    await waitCaughtUp(w.k, 'mesh.heartbeats');

    // then exactly the dead agents went OFFLINE, each at its last heartbeat + 30 s of event time
    const changes = (await collectEvents(w.k, 'mesh.impedance', (es) => es.filter((e) => e.type === 'AgentStateChanged').length >= 3))
      .filter((e): e is AgentStateChanged => e.type === 'AgentStateChanged');
    const offline = changes.filter((c) => c.new_state === 'OFFLINE');
    assert.deepEqual(offline.map((c) => c.agent_id).sort(), report.faults.dead);
    for (const c of offline) {
      assert.equal(c.cause, 'HEARTBEAT_TIMEOUT');
      assert.equal(c.meta.occurred_at, c.last_heartbeat_at! + OFFLINE_AFTER_US);
    }
    // and the registry says so: 60 agents, the dead ones 'O' with the same last heartbeat
    const ids = await w.redis.hkeys(`${w.prefix}summary`);
    assert.equal(ids.length, 60);
    for (const id of ids) {
      const a = await w.redis.hgetall(`${w.prefix}agent:${id}`);
      const dead = report.faults.dead.includes(id);
      assert.equal(a.state === 'O', dead, `${id}: state ${a.state}`);
      if (dead) assert.equal(Number(a.last_hb), offline.find((c) => c.agent_id === id)!.last_heartbeat_at);
    }

    // and every slow agent (5x latency and processing) scores over twice its class's median and
    // is DEGRADED; humans (class F) are left out: their score is at the 1000 cap either way
    const agents = await Promise.all(ids.map(async (id) => {
      const h = await w.redis.hgetall(`${w.prefix}agent:${id}`);
      return { id, class: h.class, score: Number(h.score), state: h.state };
    }));
    const slow = agents.filter((a) => report.faults.slow.includes(a.id) && a.class !== 'CLASS_F_HUMAN');
    assert.ok(slow.length > 0, 'at least one slow agent outside class F');
    for (const a of slow) {
      const peers = agents.filter((p) => p.class === a.class && !report.faults.slow.includes(p.id) && !report.faults.dead.includes(p.id)).map((p) => p.score);
      assert.ok(a.score > 2 * median(peers), `${a.id} (${a.class}) score ${a.score} vs class median ${median(peers)}`);
      assert.equal(a.state, 'D', `${a.id} degraded`);
    }
  });

  it('given 2 agents answering every message with CONFLICT, when coordination requests come while it runs, then the coordinator dispatches them, the simulator acks them and those 2 are QUARANTINED', async () => {
    // fresh topics and registry keys: the same agent ids as above, another mesh
    await w.svc?.stop();
    w.svc = undefined;
    const k2 = await TestKafka.create('simulate-acks');
    let coordinator: RunningService | undefined;
    try {
      const prefix = registryPrefix(k2.prefix);
      w.svc = await startImpedance(k2, w.redisSrv.url);
      const env = { ...process.env, TOPIC_PREFIX: k2.prefix, LOG_LEVEL: 'warn' };
      // the coordinator dispatches the schedules the simulated agents answer
      coordinator = await startService(coordinatorService, { ...env, HTTP_PORT: '0' });
      // 30 agents: one cluster, S000-C00
      const done = simulate(['--agents', '30', '--duration', '40s', '--seed', '7', '--conflicting', '2', '--acks'], env);
      const quarantined = async () => Object.values(await w.redis.hgetall(`${prefix}summary`)).filter((v) => v.split('|')[1] === 'Q').length;
      await waitFor(async () => (await w.redis.hlen(`${prefix}summary`)) >= 30, 30_000, 'all 30 agents in the registry');
      // when a request to the whole cluster, T = now + 3 s (the humans are skipped), comes every 2 s
      // (the simulator's agents join their group at their own pace: messages dispatched before
      // that are not answered), until 2 are quarantined
      let n = 0;
      let lastT = 0;
      await waitFor(async () => {
        const now = Date.now() * 1000;
        lastT = now + 3_000_000;
        const req: CoordinationRequested = {
          type: 'CoordinationRequested',
          meta: { event_id: derivedEventId('sim-spec', String(n)), correlation_id: `corr-${n}`, causation_id: null, occurred_at: now, producer: 'test', sequence: null },
          message_id: `msg-${n}`, source_agent_id: 'orchestrator', target_agent_ids: ['cluster:S000-C00'], routing_strategy: 'SCATTER_GATHER',
          target_arrival_time: lastT, ttl_ms: 10_000, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 2, payload_weight: 0,
          requires_capabilities: [], verb: 'ACT', payload: Buffer.from('go'), payload_hash: 'h', trinary_expectation: 'READY', applied_through: null,
        };
        n++;
        await k2.sendEvents('mesh.coordination', [{ key: req.meta.correlation_id, event: req }]);
        await new Promise((r) => setTimeout(r, 2000));
        return (await quarantined()) >= 2;
      }, 35_000, 'two agents quarantined');
      const run = await done;
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as SimReport;
      assert.equal(report.faults.conflicting.length, 2);
      // then exactly the conflicting agents were quarantined, for 3 CONFLICT acks in a row
      const isQuarantine = (e: SolvermeshEvent): e is AgentStateChanged => e.type === 'AgentStateChanged' && e.new_state === 'QUARANTINED';
      const changes = (await collectEvents(k2, 'mesh.impedance', (es) => es.filter(isQuarantine).length >= 2)).filter(isQuarantine);
      assert.deepEqual(changes.map((c) => c.agent_id).sort(), report.faults.conflicting);
      assert.ok(changes.every((c) => c.cause === 'BYZANTINE_BEHAVIOR'));
      // and the acks were measured against the predictions (seed 002 §11.1)
      const acc = await new RegistryStore(w.redis, prefix).accuracy(Math.floor(lastT / 1000) + 60_000);
      assert.ok(acc.samples >= 28 * 2, `${acc.samples} acks measured`);
    } finally {
      await coordinator?.stop();
      await w.svc?.stop();
      w.svc = undefined;
      await k2.close();
    }
  });

  it('given bad options, then it exits non-zero naming the option', async () => {
    const env = { ...process.env, TOPIC_PREFIX: w.k.prefix, LOG_LEVEL: 'warn' };
    const run = await simulate(['--agents', '60', '--count', '10', '--failing-cluster', 'S999-C99'], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--failing-cluster S999-C99: no such cluster/);
  });
});
