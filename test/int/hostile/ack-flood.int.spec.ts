// Acks of agents never heard from (issue 15): the impedance service holds an ack of an agent
// without a heartbeat until its first heartbeat, so a flood of acks for made-up agents would
// grow without bound. Past IMPEDANCE_MAX_PENDING_ACK_AGENTS per partition they are dead-lettered
// with the reason, and a restarted service, replaying the ack tail, refuses the same ones.
import assert from 'node:assert/strict';
import { partitionOf } from '../../../bench/solver-service/clients';
import type { AckReceived } from '../../../schemas/generated/events';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { topicSpec } from '../../../topics/catalog';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { waitFor } from '../../support/kafka';
import { ackOf, hb, S } from '../../unit/impedance/helpers';
import { startImpedanceWith, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

const BUDGET = 20;
const GHOSTS = 60;
const KNOBS = { IMPEDANCE_MAX_PENDING_ACK_AGENTS: String(BUDGET), IMPEDANCE_CHECKPOINT_MS: '0' };

describe('acks of agents never heard from on the impedance service (issue 15)', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('ack-flood');

  it('given a flood of acks for agents without heartbeats on one partition, then those past the budget are dead-lettered with the reason, a restart refuses the same, and held acks join their agent', async () => {
    const T = Date.now() * 1000;
    const partitions = topicSpec('mesh.agent-acks').partitions;
    const ghosts: string[] = [];
    for (let i = 0; ghosts.length < GHOSTS; i++) if (partitionOf(`S000-C00-G${i}`, partitions) === 0) ghosts.push(`S000-C00-G${i}`);
    const deadLetters = () => readLog(w.k.brokers, w.k.codec, [{ topic: w.k.topic('mesh.agent-acks.dlq'), partition: 0, from: 0 }], { decode: false });
    const sendAcks = (acks: AckReceived[]) => w.k.sendEvents('mesh.acks', acks.map((e) => ({ key: e.meta.correlation_id, event: e })));
    // given the service, and acks of 60 agents never heard from, one after the other
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, KNOBS);
    // (late ones: an agent's reliability shows whether its ack was folded)
    await sendAcks(ghosts.map((g, i) => ackOf({ agent: g, at: T + i * 1000, message: `m-${g}`, lateMs: 900 })));
    // then the acks of 40 of them (those copied after the first 20: mesh.acks partitions are
    // copied in no fixed order between them) are dead letters naming the budget
    await w.k.collect('mesh.agent-acks.dlq', (r) => r.length >= GHOSTS - BUDGET);
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    const dead = await deadLetters();
    const refusedIds = new Set(dead.map((d) => d.key!));
    assert.equal(refusedIds.size, GHOSTS - BUDGET);
    assert.ok([...refusedIds].every((g) => ghosts.includes(g)));
    for (const d of dead) {
      assert.equal(d.headers[DLQ_HEADERS.errorClass], 'REJECTED');
      assert.match(d.headers[DLQ_HEADERS.errorMessage]!, new RegExp(`never heard from, and the acks of ${BUDGET} such agents already wait on this partition \\(IMPEDANCE_MAX_PENDING_ACK_AGENTS\\): partition 0`));
    }

    // when the service restarts (the held acks are not in the changelog: it replays them)
    await w.svc.stop();
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, KNOBS);
    // and a held ghost and a refused one heartbeat, then a new ghost acks
    const held = ghosts.find((g) => !refusedIds.has(g))!;
    const refused = ghosts.find((g) => refusedIds.has(g))!;
    await w.k.sendEvents('mesh.heartbeats', [held, refused].map((a) => ({ key: a, event: hb({ agent: a, at: T + 100 * S, cluster: 'S000-C00', sector: 'S000' }) })));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const late = ghosts.find((g) => refusedIds.has(g) && g !== refused)!;
    await sendAcks([ackOf({ agent: late, at: T + 101 * S, message: 'after-restart' })]);
    await waitCaughtUp(w.k, 'mesh.acks');
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    // then the held ghost's late ack counts against it (1 heartbeat / (1 + 1 late)), the refused
    // one's does not, and the new ghost took the slot the heartbeat freed: no further dead letter
    const rel = (a: string) => w.redis.hget(`${w.prefix}agent:${a}`, 'rel');
    await waitFor(async () => (await rel(held)) !== null && (await rel(refused)) !== null, 30_000, 'both ghosts in the registry');
    assert.equal(Number(await rel(held)), 0.5, 'the held ack joined its agent');
    assert.equal(Number(await rel(refused)), 1, 'the refused ack is not folded after the restart either');
    assert.equal((await deadLetters()).length, GHOSTS - BUDGET, 'the replay dead-letters nothing again, and the new ghost is held');
  });
});
