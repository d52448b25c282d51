// Lost consumer-group offsets on the impedance service (issue 15): restarted after its group was
// deleted, the service reads its inputs from the beginning again. Heartbeats and the acks on
// mesh.agent-acks are folded by agent position (a heartbeat not newer, an ack at or below the
// agent's last offset, pass over); but the acks of mesh.acks and the heals of mesh.circuits it
// copied onto mesh.agent-acks would be copied again at new offsets and folded a second time.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AckReceived, ImpedanceUpdated, MeshHealRequested } from '../../../schemas/generated/events';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { topicSpec } from '../../../topics/catalog';
import { waitFor } from '../../support/kafka';
import { ackOf, hb, S } from '../../unit/impedance/helpers';
import { startImpedanceWith, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

const KNOBS = { IMPEDANCE_CHECKPOINT_MS: '0' };
const AGENT = 'S000-C00-A00';
const ACKS = 30;

describe('lost consumer-group offsets on the impedance service (issue 15)', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('impedance-lost-offsets');

  it('given acks and a heal copied and checkpointed (and an ack cut short after them), when the group\'s offsets are deleted and the service restarts, then nothing is copied or folded again', async () => {
    const T = Date.now() * 1000;
    const group = `${w.k.prefix}solvermesh.impedance`;
    const copies = async () => {
      const parts = Array.from({ length: topicSpec('mesh.agent-acks').partitions }, (_, partition) => ({ topic: w.k.topic('mesh.agent-acks'), partition, from: 0 }));
      const rs = await readLog(w.k.brokers, w.k.codec, parts);
      return { acks: rs.filter((r) => r.event?.type === 'AckReceived').length, heals: rs.filter((r) => r.event?.type === 'MeshHealRequested').length };
    };
    /** The agent's acks counted, in its latest changelog entry of a heartbeat at `at`. */
    const counted = async (at: number) => {
      const rs = await readLog(w.k.brokers, w.k.codec, Array.from({ length: topicSpec('mesh.impedance').partitions }, (_, partition) => ({ topic: w.k.topic('mesh.impedance'), partition, from: 0 })));
      const mine = rs.map((r) => r.event).filter((e): e is ImpedanceUpdated => e?.type === 'ImpedanceUpdated' && e.agent_id === AGENT && e.last_heartbeat_at === at);
      return mine.at(-1)?.ack_tally?.count;
    };
    const caughtUp = async () => {
      for (const t of ['mesh.heartbeats', 'mesh.acks', 'mesh.circuits']) await waitCaughtUp(w.k, t);
      await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    };
    // given an agent, 30 acks of it on mesh.acks (every third late) and a heal on mesh.circuits
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, KNOBS);
    await w.k.sendEvents('mesh.heartbeats', [{ key: AGENT, event: hb({ agent: AGENT, at: T, cluster: 'S000-C00', sector: 'S000' }) }]);
    const acks: AckReceived[] = Array.from({ length: ACKS }, (_, i) => ackOf({ agent: AGENT, at: T + (i + 1) * 1000, message: `m${i}`, lateMs: i % 3 === 0 ? 900 : 0 }));
    await w.k.sendEvents('mesh.acks', acks.map((e) => ({ key: e.meta.correlation_id, event: e })));
    const heal: MeshHealRequested = {
      type: 'MeshHealRequested', meta: { event_id: randomUUID(), correlation_id: 'heal', causation_id: null, occurred_at: T + 40_000, producer: 'test', sequence: null },
      operator: 'spec', agent_ids: [AGENT], detail: null,
    };
    await w.k.sendEvents('mesh.circuits', [{ key: 'mesh', event: heal }]);
    await caughtUp();
    const partitions = topicSpec('mesh.agent-acks').partitions;
    await waitFor(async () => (await copies()).heals === partitions, 30_000, 'the heal copied into every partition');
    assert.deepEqual(await copies(), { acks: ACKS, heals: partitions });
    await waitFor(async () => (await counted(T)) === ACKS, 30_000, `a checkpoint of the agent with its ${ACKS} acks`);
    // and, after the copies, an ack cut short on mesh.agent-acks (its schema id known, its body not):
    // dead-lettered, and passed over by the restart's scan of the copies (which stopped on it, found by make soak)
    const whole = await w.k.codec.encode(w.k.topic('mesh.agent-acks'), acks[0]!);
    await w.k.sendRaw('mesh.agent-acks', [{ key: AGENT, value: whole.subarray(0, whole.length - 3) }]);
    await waitCaughtUp(w.k, 'mesh.agent-acks', 60_000, true);
    await w.svc.stop();
    w.svc = undefined;

    // when the group's offsets are deleted and the service restarts
    const admin = w.k.kafka.admin();
    await admin.connect();
    try { await admin.deleteGroups([group]); } finally { await admin.disconnect(); }
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, KNOBS);
    // and the agent heartbeats again (so its entry and registry hash are written again)
    await w.k.sendEvents('mesh.heartbeats', [{ key: AGENT, event: hb({ agent: AGENT, at: T + 5 * S, cluster: 'S000-C00', sector: 'S000' }) }]);
    await caughtUp();
    await waitFor(async () => (await counted(T + 5 * S)) !== undefined, 30_000, 'a checkpoint of the second heartbeat');

    // then every ack and the heal are on mesh.agent-acks once, and the agent counts each ack once
    assert.deepEqual(await copies(), { acks: ACKS, heals: partitions });
    assert.equal(await counted(T + 5 * S), ACKS);
  });
});
