import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type {
  AckReceived, AgentClass, CoordinationRequested, HeartbeatReceived, ImpedanceUpdated,
} from '../../../schemas/generated/events';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { derivedEventId } from '../../../services/runtime/ids';
import { TestKafka, waitFor } from '../../support/kafka';
import { hb, S } from '../../unit/impedance/helpers';
import { collectEvents, dumpRegistry, startImpedance, startImpedanceWith, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 60;
const CLASSES: AgentClass[] = ['CLASS_A_EDGE', 'CLASS_B_SERVERLESS', 'CLASS_C_PERSISTENT'];
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000; // µs, on a 5 s tick

function round(r: number): HeartbeatReceived[] {
  return Array.from({ length: AGENTS }, (_, i) => hb({
    agent: `S00${i % 2}-C0${i % 4}-A${String(i).padStart(2, '0')}`,
    at: T + r * 5 * S + i * 1000,
    cls: CLASSES[i % 3]!,
    cluster: `S00${i % 2}-C0${i % 4}`,
    sector: `S00${i % 2}`,
    latency: 10 + i + r,
    processing: 10 + (i % 5) * 3,
    queue: r % 2,
    caps: i % 2 === 0 ? ['routing', 'cache'] : ['api'],
  }));
}

const send = (k: TestKafka, beats: HeartbeatReceived[]) => k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));

describe('impedance service: heartbeats into the Redis registry and mesh.impedance', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('impedance');

  it('folds heartbeats into agent hashes, indexes and the compacted changelog; summaries every 5 s', async () => {
    // given the service (a changelog checkpoint every batch) and three rounds of heartbeats from 60 agents
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0' });
    await send(w.k, round(0));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    await send(w.k, [...round(1), ...round(2)]);
    await waitCaughtUp(w.k, 'mesh.heartbeats');

    // then the changelog has each agent's third revision (one entry per agent per batch)
    const latest = new Map<string, ImpedanceUpdated>();
    await collectEvents(w.k, 'mesh.impedance', (events) => {
      const e = events[events.length - 1];
      if (e?.type === 'ImpedanceUpdated') latest.set(e.agent_id, e);
      return latest.size === AGENTS && [...latest.values()].every((u) => u.meta.sequence === 3);
    });
    for (const u of latest.values()) assert.equal(u.meta.sequence, 3, `${u.agent_id} revision`);

    // and Redis holds the same values, indexed by class, cluster, sector and capability
    for (const u of latest.values()) {
      const h = await w.redis.hgetall(`${w.prefix}agent:${u.agent_id}`);
      assert.equal(Number(h.score), u.impedance_score);
      assert.equal(Number(h.lat), u.current_latency_ms);
      assert.equal(h.state, u.operational_state[0]);
      assert.equal(Number(await w.redis.zscore(`${w.prefix}z:cluster:${u.cluster_id}`, u.agent_id)), u.impedance_score);
      assert.equal(Number(await w.redis.zscore(`${w.prefix}z:class:${u.agent_class}`, u.agent_id)), u.impedance_score);
    }
    assert.equal(await w.redis.zcard(`${w.prefix}z:cap:routing`), AGENTS / 2);
    const best = await new RegistryStore(w.redis, w.prefix).best('routing', 3, 500);
    assert.equal(best.length, 3);
    assert.ok(best[0]!.score <= best[1]!.score && best[1]!.score <= best[2]!.score);

    // and summaries were published on event-time ticks
    const sums = await collectEvents(w.k, 'mesh.summaries', (es) => es.some((e) => e.type === 'MeshSummarized' && e.total_agents === AGENTS));
    const mesh = sums.filter((e) => e.type === 'MeshSummarized');
    assert.ok(mesh.every((m) => m.active_agents <= m.total_agents && m.meta.occurred_at % 5_000_000 === 0));
  });

  it('replaying the same heartbeats changes nothing', async () => {
    const before = await dumpRegistry(w.redis, w.prefix);
    const changelog = (await w.k.collect('mesh.impedance', (r) => r.length >= 2 * AGENTS)).length;
    // when every heartbeat is produced a second time
    await send(w.k, [...round(0), ...round(1), ...round(2)]);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    // then the registry and the changelog are unchanged
    assert.deepEqual(await dumpRegistry(w.redis, w.prefix), before);
    const after = await w.k.collect('mesh.impedance', (r) => r.length >= changelog);
    assert.equal(after.length, changelog);
  });

  it('answers coordination requests with schedules and measures acks', async () => {
    const now = T + 3 * 5 * S;
    const req: CoordinationRequested = {
      type: 'CoordinationRequested',
      meta: { event_id: derivedEventId('coord', w.k.prefix), correlation_id: 'corr-1', causation_id: null, occurred_at: now, producer: 'test', sequence: null },
      message_id: 'msg-1', source_agent_id: 'orchestrator', target_agent_ids: ['class:CLASS_A_EDGE', 'ghost'], routing_strategy: 'SCATTER_GATHER',
      target_arrival_time: now + 100_000, ttl_ms: 5000, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 2, payload_weight: 0,
      requires_capabilities: [], verb: 'ACT', payload: Buffer.from('go'), payload_hash: 'h', trinary_expectation: 'READY', applied_through: null,
    };
    await w.k.sendEvents('mesh.coordination', [{ key: 'corr-1', event: req }]);
    const [rec] = await w.k.collect('mesh.schedules', (r) => r.length >= 1);
    const sched = (await w.k.codec.decode(rec!.value)).event;
    assert.ok(sched.type === 'ScheduleComputed');
    assert.equal(sched.entries.length, AGENTS / 3 + 1);
    assert.equal(sched.entries.find((e) => e.agent_id === 'ghost')?.skip_reason, 'UNKNOWN_AGENT');
    const scheduled = sched.entries.filter((e) => e.status === 'SCHEDULED');
    assert.ok(scheduled.length > 0);
    assert.ok(scheduled.every((e) => e.send_bucket_at! % 10_000 === 0 && e.send_bucket_at! <= e.send_at!));

    // acks: one 20 ms late, one 80 ms late, one duplicate
    const ack = (agent: string, lateMs: number): AckReceived => ({
      type: 'AckReceived',
      meta: { event_id: derivedEventId('ack', agent), correlation_id: 'corr-1', causation_id: null, occurred_at: req.target_arrival_time + lateMs * 1000, producer: 'test', sequence: null },
      message_id: 'msg-1', agent_id: agent, state: 'READY', actual_arrival_at: req.target_arrival_time + lateMs * 1000, expected_arrival_at: null, processing_ms: 5, conflict: null, payload_hash: null, sender_seq: null, signature: null,
    });
    const [a, b] = scheduled;
    await w.k.sendEvents('mesh.acks', [ack(a!.agent_id, 20), ack(b!.agent_id, 80), ack(a!.agent_id, 20)].map((e) => ({ key: 'corr-1', event: e })));
    await waitCaughtUp(w.k, 'mesh.acks');
    // and each ack, re-keyed by agent onto mesh.agent-acks, is folded into its agent once:
    // 3 heartbeats + 1 ack (the duplicate does not count)
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    await waitFor(async () => (await w.redis.hget(`${w.prefix}agent:${a!.agent_id}`, 'rev')) === '4' && (await w.redis.hget(`${w.prefix}agent:${b!.agent_id}`, 'rev')) === '4', 10_000, 'both acked agents at revision 4');
    // and measured there once each, written to the registry with the fold's position
    const acc = await new RegistryStore(w.redis, w.prefix).accuracy(Math.floor(req.target_arrival_time / 1000));
    assert.deepEqual({ samples: acc.samples, within: acc.within50ms }, { samples: 2, within: 1 });
  });

  it('FLUSHALL, then a restart: the registry is rebuilt identical from mesh.impedance, the acks\' prediction accuracy too', async () => {
    const before = await dumpRegistry(w.redis, w.prefix);
    assert.ok(Object.keys(before).length > AGENTS);
    const accuracy = () => new RegistryStore(w.redis, w.prefix).accuracy(Math.floor((T + 3 * 5 * S) / 1000) + 1000);
    const measured = await accuracy();
    assert.equal(measured.samples, 2);
    await w.svc!.stop();
    w.svc = undefined;
    await w.redis.flushall();
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    await waitFor(async () => (await w.redis.exists(`${w.prefix}built:0`)) === 1, 60_000, 'the registry to be rebuilt');
    await waitFor(async () => isDeepStrictEqual(await dumpRegistry(w.redis, w.prefix), before), 30_000, 'an identical registry');
    assert.deepEqual(await dumpRegistry(w.redis, w.prefix), before);
    // (counted in the acked agents' tallies: restored with them)
    await waitFor(async () => isDeepStrictEqual(await accuracy(), measured), 30_000, 'the same prediction accuracy');
  });
});
