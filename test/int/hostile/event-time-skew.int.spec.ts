// Time from the future (issue 15): one record dated years ahead of its Kafka timestamp must not
// move its partition's watermark. On the solver it would evict every other session of the
// partition as idle; on the impedance service it would take every agent of the partition
// offline. The runner dead-letters it (EVENT_TIME_SKEW) and the partition goes on.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { partitionOf as keyPartition } from '../../../bench/solver-service/clients';
import type { AgentStateChanged, HeartbeatReceived } from '../../../schemas/generated/events';
import { costUpdated, openSession } from '../../../services/solver/events';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { MESH_PARTITIONS, RECORD_TIMESTAMP_AHEAD_MS, SOLVER_PARTITIONS, dlqName } from '../../../topics/catalog';
import { poisson2d, smoothRhs } from '../../../wasm/src/problems';
import { TestKafka, waitFor } from '../../support/kafka';
import { hb, S } from '../../unit/impedance/helpers';
import { readOf, send, startSolver, type SolverChild } from '../solver/support';
import { collectEvents, startImpedance, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

const YEARS_3_US = 3 * 365 * 86_400 * S;

/** `count` ids with `make(i)` whose records land on one partition of `partitions`. */
function onOnePartition(count: number, partitions: number, make: (i: number) => string): string[] {
  const first = make(0);
  const p = keyPartition(first, partitions);
  const out = [first];
  for (let i = 1; out.length < count; i++) { const id = make(i); if (keyPartition(id, partitions) === p) out.push(id); }
  return out;
}

/** The dead letters of `topic`: [error class, message]. */
async function deadLetters(k: TestKafka, topic: string): Promise<Array<[string, string]>> {
  const recs = await readLog(k.brokers, k.codec, [{ topic: k.topic(dlqName(topic)), partition: 0, from: 0 }], { decode: false });
  return recs.map((r) => [r.headers[DLQ_HEADERS.errorClass] ?? '', r.headers[DLQ_HEADERS.errorMessage] ?? '']);
}

describe('event time years ahead of the log (issue 15)', function () {
  this.timeout(300_000);

  describe('at the broker', () => {
    let k: TestKafka;
    after(async () => { await k?.close(); });

    // The bound above is measured from the record's timestamp, which the producer sets: a
    // heartbeat stamped 50 minutes ahead, with its event time to match, passes it.
    it('given an input topic, when a producer stamps a heartbeat\'s record 50 minutes ahead, then the broker refuses it at produce and the log does not hold it', async () => {
      k = await TestKafka.create('skew-stamp');
      const aheadMs = 50 * 60_000;
      assert.ok(aheadMs > RECORD_TIMESTAMP_AHEAD_MS);
      const at = (Date.now() + aheadMs) * 1000;
      const e = hb({ agent: 'S000-C00-A000', at, cluster: 'S000-C00', sector: 'S000' });
      const producer = k.kafka.producer();
      await producer.connect();
      try {
        const value = await k.codec.encode(k.topic('mesh.heartbeats'), e);
        await assert.rejects(
          producer.send({ topic: k.topic('mesh.heartbeats'), acks: -1, messages: [{ key: e.agent_id, value, timestamp: String(Math.floor(at / 1000)) }] }),
          (err: Error) => /timestamp/i.test(`${err.message} ${(err as { type?: string }).type ?? ''}`),
        );
      } finally {
        await producer.disconnect();
      }
      const held = await readLog(k.brokers, k.codec, Array.from({ length: MESH_PARTITIONS }, (_, partition) => ({ topic: k.topic('mesh.heartbeats'), partition, from: 0 })), { decode: false });
      assert.equal(held.length, 0);
    });
  });

  describe('on the solver', () => {
    let k: TestKafka;
    let child: SolverChild | undefined;
    after(async () => { child?.proc.kill('SIGKILL'); await k?.close(); });

    it('given two sessions on one partition, when a cost of one is dated 3 years ahead, then it is dead-lettered as EVENT_TIME_SKEW and the other session is not evicted', async () => {
      k = await TestKafka.create('skew-solver');
      const A = poisson2d(10);
      const now = Date.now() * 1000;
      const [victim, attacker] = onOnePartition(2, SOLVER_PARTITIONS, () => randomUUID()) as [string, string];
      child = startSolver(k);
      // given two live sessions
      await send(k, 'solver.sessions', [victim, attacker].flatMap((id) => openSession(id, A, smoothRhs(A.n), { occurredAt: now })));
      await waitFor(async () => (await readOf(k, 'solver.iterations', 'ConvergenceReached')).length >= 2, 90_000, 'both sessions converged');
      // when one session's cost is dated three years ahead, then a cost of the victim comes at now
      await send(k, 'solver.costs', [costUpdated(attacker, 'future', { indices: [0], values: [1], occurredAt: now + YEARS_3_US })]);
      await send(k, 'solver.costs', [costUpdated(victim, 'after', { indices: [1], values: [0.5], occurredAt: now + S })]);
      await waitFor(async () => (await readOf(k, 'solver.iterations', 'ConvergenceReached', victim)).length >= 2, 90_000, 'the victim re-converged after its cost');
      // then the future record is a dead letter naming the skew
      const dead = await deadLetters(k, 'solver.costs');
      assert.deepEqual(dead.map(([c]) => c), ['EVENT_TIME_SKEW'], JSON.stringify(dead));
      assert.match(dead[0]![1], /CostUpdated occurred_at .* is 3\.0 years ahead of its record's timestamp/);
      // and no session was evicted (SessionClosed TIMEOUT) by a stream time moved three years
      const closed = await readOf(k, 'solver.sessions', 'SessionClosed');
      assert.deepEqual(closed.map((c) => `${c.session_id}:${c.reason}`), []);
    });
  });

  describe('on the impedance service', () => {
    const w = useImpedanceWorld('skew-impedance');

    it('given agents heartbeating on one partition, when one heartbeat is dated 3 years ahead, then it is dead-lettered as EVENT_TIME_SKEW and no agent goes offline', async () => {
      const T = Math.floor(Date.now() / 5_000_000) * 5_000_000 * 1000;
      const agents = onOnePartition(4, MESH_PARTITIONS, (i) => `S000-C00-A${String(i).padStart(3, '0')}`);
      const beat = (agent: string, at: number): HeartbeatReceived => hb({ agent, at, cluster: 'S000-C00', sector: 'S000' });
      const sendBeats = (beats: HeartbeatReceived[]) => w.k.sendEvents('mesh.heartbeats', beats.map((e) => ({ key: e.agent_id, event: e })));
      w.svc = await startImpedance(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0' });
      // given every agent heartbeating
      await sendBeats(agents.map((a, i) => beat(a, T + i * 1000)));
      await waitCaughtUp(w.k, 'mesh.heartbeats');
      // when the last one's next heartbeat is dated three years ahead, then the others beat again
      await sendBeats([beat(agents[3]!, T + YEARS_3_US)]);
      await sendBeats(agents.slice(0, 3).map((a, i) => beat(a, T + 5 * S + i * 1000)));
      await waitCaughtUp(w.k, 'mesh.heartbeats');
      // then the future heartbeat is a dead letter naming the skew
      const dead = await deadLetters(w.k, 'mesh.heartbeats');
      assert.deepEqual(dead.map(([c]) => c), ['EVENT_TIME_SKEW'], JSON.stringify(dead));
      assert.match(dead[0]![1], /HeartbeatReceived occurred_at .* is 3\.0 years ahead/);
      // and no agent was taken offline by a watermark moved three years
      const changes = (await collectEvents(w.k, 'mesh.impedance', (es) => es.filter((e) => e.type === 'ImpedanceUpdated').length >= 7))
        .filter((e): e is AgentStateChanged => e.type === 'AgentStateChanged');
      assert.deepEqual(changes.filter((c) => c.new_state === 'OFFLINE').map((c) => c.agent_id), []);
      const redis = new Redis(w.redisSrv.url);
      try {
        const states = await Promise.all(agents.map((a) => redis.hget(`${w.prefix}agent:${a}`, 'state')));
        assert.deepEqual(states, ['A', 'A', 'A', 'A']);
      } finally {
        redis.disconnect();
      }
    });
  });
});
