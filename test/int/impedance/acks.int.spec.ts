import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { AckReceived, AgentStateChanged, HeartbeatReceived } from '../../../schemas/generated/events';
import { QUARANTINE_HOLD_MS } from '../../../services/impedance/ack-fold';
import { RegistryStore } from '../../../services/impedance/registry-store';
import { waitFor } from '../../support/kafka';
import { ackOf, close, hb, S } from '../../unit/impedance/helpers';
import { collectEvents, dumpRegistry, startImpedance, useImpedanceWorld, waitCaughtUp } from './support';

const AGENTS = 6;
const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000; // µs, on a 5 s tick
const id = (i: number) => `S000-C00-A0${i}`;
const X = id(0); // sends three CONFLICT acks in a row
const Y = id(1); // two of its three acks are stragglers

const round = (r: number): HeartbeatReceived[] =>
  Array.from({ length: AGENTS }, (_, i) => hb({ agent: id(i), at: T + r * 5 * S + i * 1000, cluster: 'S000-C00', sector: 'S000', caps: ['api'] }));

describe('impedance service: acks re-keyed by agent fold into reliability and quarantine', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('impedance-acks');

  const sendBeats = (beats: HeartbeatReceived[]) => w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
  // Keyed by correlation id like every ack on mesh.acks: they land on other partitions than the agents' heartbeats.
  const sendAcks = (acks: AckReceived[]) => w.k.sendEvents('mesh.acks', acks.map((e) => ({ key: e.meta.correlation_id, event: e })));
  const changes = (n: number) => collectEvents(w.k, 'mesh.impedance', (es) => es.filter((e) => e.type === 'AgentStateChanged').length >= n)
    .then((es) => es.filter((e): e is AgentStateChanged => e.type === 'AgentStateChanged'));

  it('given 3 CONFLICT acks in a row from one agent and late acks from another, then the first is QUARANTINED and the second less reliable', async () => {
    // given the service and three rounds of heartbeats (latency 100, processing 50: delay 100 ms)
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    await sendBeats([...round(0), ...round(1), ...round(2)]);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    // when X acks three messages with CONFLICT, and Y one on time and two 900 ms after T (the
    // arrival window is 500 ms), each on its own correlation id
    await sendAcks([
      ...[11, 12, 13].map((t) => ackOf({ agent: X, at: T + t * S, message: `x${t}`, state: 'CONFLICT' })),
      ackOf({ agent: Y, at: T + 11 * S, message: 'y1' }),
      ackOf({ agent: Y, at: T + 12 * S, message: 'y2', lateMs: 900 }),
      ackOf({ agent: Y, at: T + 13 * S, message: 'y3', lateMs: 900 }),
    ]);
    await waitCaughtUp(w.k, 'mesh.acks');
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    // then X is quarantined at the third conflict's event time, by an AgentStateChanged
    const [q] = await changes(1);
    assert.deepEqual([q!.agent_id, q!.previous_state, q!.new_state, q!.cause, q!.meta.occurred_at], [X, 'ACTIVE', 'QUARANTINED', 'BYZANTINE_BEHAVIOR', T + 13 * S]);
    await waitFor(async () => (await w.redis.hget(`${w.prefix}agent:${X}`, 'state')) === 'Q', 10_000, 'X quarantined in the registry');
    // and routing leaves it out
    const best = await new RegistryStore(w.redis, w.prefix).best('api', AGENTS, 1000);
    assert.deepEqual(best.map((b) => b.agentId).sort(), [1, 2, 3, 4, 5].map(id));
    // and Y's reliability is (3 heartbeats + 1 on time) / (3 + 1 + 2 late) = 2/3: score 100 / (2/3)
    await waitFor(async () => (await w.redis.hget(`${w.prefix}agent:${Y}`, 'rev')) === '6', 10_000, 'Y at 3 heartbeats + 3 acks');
    const y = await w.redis.hgetall(`${w.prefix}agent:${Y}`);
    close(Number(y.rel), 2 / 3, 1e-12, 'Y reliability');
    close(Number(y.score), 150, 1e-9, 'Y score');
    assert.equal(y.state, 'A');
  });

  it('when the heartbeats carry event time past the hold, then X is released (RECOVERED) at third conflict + 60 s', async () => {
    const rounds: HeartbeatReceived[] = [];
    for (let r = 3; r <= 15; r++) rounds.push(...round(r));
    await sendBeats(rounds);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const all = await changes(2);
    const release = all.find((c) => c.agent_id === X && c.previous_state === 'QUARANTINED');
    assert.deepEqual([release?.new_state, release?.cause, release?.meta.occurred_at], ['ACTIVE', 'RECOVERED', T + 13 * S + QUARANTINE_HOLD_MS * 1000]);
    // nobody else changed state: every agent kept heartbeating
    assert.deepEqual(all.map((c) => `${c.agent_id} ${c.new_state}`), [`${X} QUARANTINED`, `${X} ACTIVE`]);
    await waitFor(async () => (await w.redis.hget(`${w.prefix}agent:${X}`, 'state')) === 'A', 10_000, 'X active in the registry');
  });

  it('given a stop before the next checkpoint, when Redis is emptied and the service restarts, then the changelog and the tails after it rebuild the same registry', async () => {
    const before = await dumpRegistry(w.redis, w.prefix);
    await w.svc!.stop();
    w.svc = undefined;
    await w.redis.flushall();
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    await waitFor(async () => isDeepStrictEqual(await dumpRegistry(w.redis, w.prefix), before), 60_000, 'an identical registry');
    assert.deepEqual(await dumpRegistry(w.redis, w.prefix), before);
  });
});
