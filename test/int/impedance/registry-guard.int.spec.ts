import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { foldHeartbeat, timeoutAgent, type AgentState } from '../../../services/impedance/agent-fold';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { hb, S, T0 } from '../../unit/impedance/helpers';
import { freePort, PrivateRedis } from './support';

/** The agent after heartbeats every 5 s from `from` s to `to` s. */
function agent(from: number, to: number): AgentState {
  let a: AgentState | undefined;
  for (let t = from; t <= to; t += 5) a = foldHeartbeat(a, hb({ at: T0 + t * S }))!.agent;
  return a!;
}

describe('impedance registry (Redis): which write wins', function () {
  this.timeout(30_000);
  let srv: PrivateRedis;
  let redis: Redis;
  let store: RegistryStore;
  const get = () => redis.hmget('g:agent:agent-1', 'rev', 'last_hb', 'state');

  before(async () => {
    srv = new PrivateRedis(await freePort());
    await srv.start();
    redis = new Redis(srv.url);
    store = new RegistryStore(redis, 'g:');
  });
  after(async () => {
    redis?.disconnect();
    await srv?.stop();
  });

  it('given revision 9, when a zombie writes revision 5 of the same log, then the registry keeps 9', async () => {
    const nine = agent(0, 40);
    await store.writeAgents(0, [nine]);
    await store.writeAgents(0, [agent(0, 20)]);
    assert.deepEqual(await get(), ['9', String(T0 + 40 * S), 'A']);
  });

  it('given the same heartbeat, when its offline timeout (a revision later) is written, then it wins', async () => {
    const nine = agent(0, 40);
    await store.writeAgents(0, [timeoutAgent(nine, T0 + 70 * S)!.agent]);
    assert.deepEqual(await get(), ['10', String(T0 + 40 * S), 'O']);
  });

  it('given a previous log left revision 10, when a log started afresh writes revision 2 with newer heartbeats, then the new one wins (the stale-registry regression)', async () => {
    await store.writeAgents(0, [agent(100, 105)]);
    assert.deepEqual(await get(), ['2', String(T0 + 105 * S), 'A']);
  });

  it('given an agent written and an entry with fewer fields, when the compact entries are read back, then each field is the written one and missing fields read as empty', async () => {
    const a = agent(200, 210);
    await store.writeAgents(0, [a]);
    await redis.hset('g:summary', 'agent-old', `250|D|${T0}|C9|S9`);
    const byId = new Map((await store.snapshots()).map((x) => [x.agentId, x]));
    assert.deepEqual(byId.get('agent-1'), {
      agentId: 'agent-1', clusterId: a.clusterId, sectorId: a.sectorId, score: a.score, state: a.state, lastHeartbeatAt: a.lastHeartbeatAt, drift: a.drift,
    });
    assert.deepEqual(byId.get('agent-old'), { agentId: 'agent-old', clusterId: 'C9', sectorId: 'S9', score: 250, state: 'DEGRADED', lastHeartbeatAt: T0, drift: 0 });
  });

  it('given a summary entry, when summary-only writes carry an older and then a newer heartbeat, then only the newer replaces it, and it reads back as the full write would have written it', async () => {
    const full = agent(300, 320);
    await store.writeAgents(0, [full]);
    const entry = async () => redis.hget('g:summary', 'agent-1');
    const written = await entry();
    assert.equal(await store.writeSummaries([agent(300, 310)]), 0);
    assert.equal(await entry(), written, 'an older heartbeat does not roll the entry back');
    const newer = agent(300, 330);
    assert.equal(await store.writeSummaries([newer]), 1);
    await store.writeAgents(0, [newer]);
    const byFull = await entry();
    await store.writeSummaries([newer]);
    assert.equal(await entry(), byFull, 'the same string as the full write');
    const back = (await store.snapshots()).find((x) => x.agentId === 'agent-1');
    assert.equal(back?.lastHeartbeatAt, newer.lastHeartbeatAt);
    assert.equal(back?.score, newer.score);
  });
});
