// The attack suite (issue 20, seed 002 §9): against the real broker, registry and Redis, with
// the impedance and coordinator services running and signing required (the default).
import assert from 'node:assert/strict';
import type { AckReceived, ConflictQuarantined, ConflictReported, HeartbeatReceived, QuorumDecided, SolvermeshEvent, StructuralWitnessRecorded } from '../../../schemas/generated/events';
import { windowOf, RATE_WINDOW_US } from '../../../services/identity/abuse';
import { signingKeyFromSeed } from '../../../services/identity/ed25519';
import { keyRotated } from '../../../services/identity/key-events';
import { publishKeyEvents } from '../../../services/identity/key-publisher';
import { KeySource } from '../../../services/identity/key-source';
import { coordinatorService } from '../../../services/coordinator';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { startService, type RunningService } from '../../../services/runtime/service';
import { simulatedKey } from '../../../services/simulator/identity';
import pino from 'pino';
import { MESH_PARTITIONS } from '../../../topics/catalog';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { waitFor, type ConsumedRecord } from '../../support/kafka';
import { ackOf, hb } from '../../unit/impedance/helpers';
import { gatherInputs } from '../../support/gathers';
import { collectEvents, startImpedanceWith, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

const S = 1_000_000;
/** The registry's code for QUARANTINED (registry-store.ts STATE_CODE). */
const QUARANTINED = 'Q';

describe('attacks on signed agent messages (seed 002 §9): forged, replayed, flooding, rotated keys', function () {
  this.timeout(240_000);
  const w = useImpedanceWorld('security');
  let coordinator: RunningService | undefined;
  let nowUs = 0;
  const mallory = signingKeyFromSeed('mallory');

  before(async () => {
    nowUs = Date.now() * 1000;
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0', KEYS_POLL_MS: '500' }, { INSTANCE_ID: 'security-impedance' });
    coordinator = await startService(coordinatorService, { ...process.env, TOPIC_PREFIX: w.k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'warn', INSTANCE_ID: 'security-coordinator', KEYS_POLL_MS: '500' });
  });
  after(async () => { await coordinator?.stop(); });

  const agentHash = (id: string) => w.redis.hgetall(`${w.prefix}agent:${id}`);
  const dlq = (topic: string, done: (rs: ConsumedRecord[]) => boolean) => w.k.collect(`${topic}.dlq`, done, 60_000);
  const reasons = (rs: ConsumedRecord[]) => rs.map((r) => r.headers[DLQ_HEADERS.errorClass]);
  const refusals = (es: SolvermeshEvent[], agent: string) => es.filter((e): e is ConflictReported => e.type === 'ConflictReported' && e.agent_id === agent && e.forgery !== null);

  it('given a forged, a wrongly signed and an unsigned heartbeat claiming an agent, then none is applied: each is dead-lettered with its reason, a HASH_MISMATCH conflict names the agent, and the agent is not quarantined', async () => {
    const victim = 'S001-C01-A01';
    await w.k.sendEvents('mesh.heartbeats', [{ key: victim, event: hb({ agent: victim, at: nowUs, latency: 40 }) }]);
    await waitFor(async () => (await agentHash(victim)).last_hb === String(nowUs), 60_000, 'the victim in the registry');
    const before = await agentHash(victim);
    const claim = (at: number) => hb({ agent: victim, at, latency: 9_999 });
    const byMallory = w.k.signer.sign(claim(nowUs + 1 * S), mallory);
    // Mallory names the victim's real key id, but cannot make its signature.
    const underOwnId: HeartbeatReceived = { ...w.k.signer.sign(claim(nowUs + 2 * S), mallory), signature: { key_id: simulatedKey(victim).keyId, sig: byMallory.signature!.sig } };
    await w.k.sendEvents('mesh.heartbeats', [byMallory, underOwnId, claim(nowUs + 3 * S)].map((event) => ({ key: victim, event })), { unsigned: true });

    const dead = await dlq('mesh.heartbeats', (rs) => rs.length >= 3);
    assert.deepEqual(reasons(dead).sort(), ['FORGED', 'UNKNOWN_KEY', 'UNSIGNED']);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const after = await agentHash(victim);
    assert.deepEqual(after, before, 'the registry entry is what the signed heartbeat made');
    const conflicts = await collectEvents(w.k, 'mesh.conflicts', (es) => refusals(es, victim).length >= 3 && es.filter((e) => e.type === 'ConflictQuarantined' && e.agent_id === victim).length >= 3, 60_000);
    const reported = refusals(conflicts, victim);
    assert.ok(reported.every((r) => r.detail.conflict_type === 'HASH_MISMATCH' && r.forgery!.source_topic === 'mesh.heartbeats'));
    assert.deepEqual(reported.map((r) => [r.forgery!.reason, r.forgery!.own_key]).sort(), [['FORGED', false], ['UNKNOWN_KEY', false], ['UNSIGNED', false]]);
    const quarantined = conflicts.filter((e): e is ConflictQuarantined => e.type === 'ConflictQuarantined' && e.agent_id === victim);
    assert.ok(quarantined.every((q) => q.suggested_strategy.method === 'MANUAL_REVIEW' && !q.suggested_strategy.steps.includes('Isolate the agent')), 'the conflict record is kept for review; the agent is not isolated');
    assert.notEqual(after.state, QUARANTINED);
  });

  it('given an ack sent again byte for byte (a replay), then it is dead-lettered as REPLAYED by both readers of mesh.acks, reported once, and not folded again', async () => {
    const agent = 'S001-C02-A03';
    const ack: AckReceived = ackOf({ agent, at: nowUs, message: `replay-${nowUs}` });
    await w.k.registerSenders([ack]);
    const signed = w.k.signer.sign(ack, simulatedKey(agent));
    const value = await w.k.codec.encode(w.k.topic('mesh.acks'), signed);
    await w.k.sendRaw('mesh.acks', [{ key: ack.meta.correlation_id, value }]);
    await w.k.sendRaw('mesh.acks', [{ key: ack.meta.correlation_id, value }]);
    const dead = await dlq('mesh.acks', (rs) => rs.length >= 2);
    assert.deepEqual(reasons(dead), ['REPLAYED', 'REPLAYED']);
    assert.deepEqual(dead.map((r) => r.headers[DLQ_HEADERS.processor]).sort(), ['coordinator', 'impedance']);
    await waitCaughtUp(w.k, 'mesh.acks');
    const agentAcks = await readLog(w.k.brokers, w.k.codec, Array.from({ length: MESH_PARTITIONS }, (_, partition) => ({ topic: w.k.topic('mesh.agent-acks'), partition, from: 0 })));
    assert.equal(agentAcks.filter((r) => r.event?.type === 'AckReceived' && r.event.agent_id === agent).length, 1, 'the replay is not repartitioned to the agent\'s fold');
    const conflicts = await collectEvents(w.k, 'mesh.conflicts', (es) => refusals(es, agent).length >= 2, 60_000);
    const ids = new Set(refusals(conflicts, agent).map((r) => r.conflict_id));
    assert.equal(ids.size, 1, 'both services name the same conflict');
    assert.equal(refusals(conflicts, agent)[0]!.forgery!.reason, 'REPLAYED');
  });

  it('given a key rotated with a 2 s overlap, then the new key is accepted from the rotation, the old one inside the overlap, and refused (KEY_EXPIRED) after it', async () => {
    const agent = 'S003-C00-A00';
    const k1 = simulatedKey(agent);
    const k2 = signingKeyFromSeed(`${agent} second key`);
    const t = nowUs + 20 * S;
    await w.k.sendEvents('mesh.heartbeats', [{ key: agent, event: hb({ agent, at: t - 5 * S }) }]);
    const keys = new KeySource({ brokers: w.k.brokers, codec: w.k.codec, topicPrefix: w.k.prefix, logger: pino({ level: 'silent' }), pollMs: 0 });
    await keys.start();
    await publishKeyEvents({ brokers: w.k.brokers, codec: w.k.codec, topicPrefix: w.k.prefix }, [keyRotated(keys.book(), agent, k2, k1.keyId, t, 2_000, 'spec')]);
    const sign = (at: number, key: typeof k1) => ({ key: agent, event: w.k.signer.sign(hb({ agent, at }), key) });
    await w.k.sendEvents('mesh.heartbeats', [sign(t + 1 * S, k2), sign(t + 1.5 * S, k1), sign(t + 3 * S, k1)], { unsigned: true });
    const dead = await dlq('mesh.heartbeats', (rs) => rs.some((r) => r.key === agent));
    const mine = dead.filter((r) => r.key === agent);
    assert.deepEqual(reasons(mine), ['KEY_EXPIRED']);
    assert.equal((await w.k.codec.decode(mine[0]!.value)).event.meta.occurred_at, t + 3 * S);
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    await waitFor(async () => (await agentHash(agent)).last_hb === String(t + 1.5 * S), 30_000, 'the heartbeat inside the overlap applied');
  });

  it('given an agent flooding at 20x its rate (120 heartbeats in a 30 s window), then 60 are throttled (dead-lettered, not applied) and one rate witness is recorded', async () => {
    const agent = 'S002-C00-A00';
    const from = windowOf(nowUs - 90 * S);
    const flood = Array.from({ length: 120 }, (_, i) => ({ key: agent, event: hb({ agent, at: from + Math.floor((i * RATE_WINDOW_US) / 120) }) }));
    await w.k.sendEvents('mesh.heartbeats', flood);
    const dead = await dlq('mesh.heartbeats', (rs) => rs.filter((r) => r.key === agent).length >= 60);
    assert.deepEqual([...new Set(reasons(dead.filter((r) => r.key === agent)))], ['THROTTLED']);
    const witnesses = await collectEvents(w.k, 'mesh.witnesses', (es) => es.some((e) => e.type === 'StructuralWitnessRecorded' && e.pattern_name === 'heartbeat_rate'), 30_000);
    const rate = witnesses.filter((e): e is StructuralWitnessRecorded => e.type === 'StructuralWitnessRecorded' && e.pattern_name === 'heartbeat_rate');
    assert.equal(rate.length, 1);
    assert.equal(rate[0]!.action_taken, 'RATE_LIMIT');
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const last = flood[59]!.event.meta.occurred_at;
    assert.equal((await agentHash(agent)).last_hb, String(last), 'the 60th heartbeat was the last one applied');
    assert.equal(dead.filter((r) => r.key === agent).length, 60);
  });

  it('given a gather of 2 agents, when one signs an ack naming another payload_hash than the message dispatched, then it is not counted (1 READY of 2, 1 silent), a PAYLOAD_HASH_MISMATCH conflict names it under its own key, and the report is copied to its fold', async () => {
    const corr = `hash-${nowUs}`;
    const [honest, liar] = ['S004-C00-A00', 'S004-C00-A01'];
    const sent = 'sha256-of-what-was-sent';
    const inputs = gatherInputs(corr, [honest, liar], [[honest, 'READY', 0], [liar, 'READY', 10]], nowUs).map((e) => {
      if (e.type === 'DispatchCompleted') return { ...e, payload_hash: sent };
      if (e.type === 'AckReceived') return { ...e, payload_hash: e.agent_id === liar ? 'sha256-of-something-else' : sent };
      return e;
    });
    await w.k.sendEvents('mesh.acks', inputs.map((event) => ({ key: corr, event })));
    const acks = await collectEvents(w.k, 'mesh.acks', (es) => es.some((e) => e.type === 'QuorumDecided' && e.meta.correlation_id === corr), 60_000);
    const q = acks.find((e): e is QuorumDecided => e.type === 'QuorumDecided' && e.meta.correlation_id === corr)!;
    assert.deepEqual([q.sent_count, q.ready_count, q.silent_count, q.closed_by], [2, 1, 1, 'WINDOW_CLOSED']);
    const conflicts = await collectEvents(w.k, 'mesh.conflicts', (es) => refusals(es, liar).length >= 1, 60_000);
    const r = refusals(conflicts, liar);
    assert.deepEqual(r.map((x) => [x.detail.conflict_type, x.forgery!.reason, x.forgery!.own_key]), [['HASH_MISMATCH', 'PAYLOAD_HASH_MISMATCH', true]]);
    assert.deepEqual(refusals(conflicts, honest), []);
    const copies = await collectEvents(w.k, 'mesh.agent-acks', (es) => es.some((e) => e.type === 'ConflictReported' && e.agent_id === liar), 60_000);
    assert.ok(copies.some((e) => e.type === 'ConflictReported' && e.conflict_id === r[0]!.conflict_id));
  });

  it('given an agent whose own key signs 3 newer heartbeats under a sequence it already used, then each is refused REPLAYED under its own key and the agent is quarantined (BYZANTINE_BEHAVIOR)', async () => {
    const rogue = 'S005-C00-A00';
    const key = simulatedKey(rogue);
    const first = hb({ agent: rogue, at: nowUs + 30 * S, latency: 40 });
    await w.k.sendEvents('mesh.heartbeats', [{ key: rogue, event: first }]);
    await waitFor(async () => (await agentHash(rogue)).last_hb === String(first.meta.occurred_at), 60_000, 'the rogue in the registry');
    const [applied] = await collectEvents(w.k, 'mesh.heartbeats', (es) => es.some((e) => e.type === 'HeartbeatReceived' && e.agent_id === rogue), 30_000)
      .then((es) => es.filter((e): e is HeartbeatReceived => e.type === 'HeartbeatReceived' && e.agent_id === rogue));
    const reused = [1, 2, 3].map((i) => ({ key: rogue, event: w.k.signer.sign(hb({ agent: rogue, at: nowUs + (30 + 5 * i) * S, latency: 40 }), key, applied!.sender_seq!) }));
    await w.k.sendEvents('mesh.heartbeats', reused, { unsigned: true });
    const dead = await dlq('mesh.heartbeats', (rs) => rs.filter((r) => r.key === rogue).length >= 3);
    assert.deepEqual(reasons(dead.filter((r) => r.key === rogue)), ['REPLAYED', 'REPLAYED', 'REPLAYED']);
    await waitFor(async () => (await agentHash(rogue)).state === QUARANTINED, 60_000, 'the rogue quarantined');
    const changes = await collectEvents(w.k, 'mesh.impedance', (es) => es.some((e) => e.type === 'AgentStateChanged' && e.agent_id === rogue && e.new_state === 'QUARANTINED'), 60_000);
    const q = changes.find((e) => e.type === 'AgentStateChanged' && e.agent_id === rogue && e.new_state === 'QUARANTINED');
    assert.equal(q?.type === 'AgentStateChanged' && q.cause, 'BYZANTINE_BEHAVIOR');
  });

  it('given the impedance service restarted, when a heartbeat it applied before the restart is sent again byte for byte, then it is still refused as REPLAYED (the last sequences are read back from the log), and a forgery it refused does not raise the bar for the agent', async () => {
    const agent = 'S006-C00-A00';
    const key = simulatedKey(agent);
    const old = w.k.signer.sign(hb({ agent, at: nowUs + 40 * S }), key);
    await w.k.registerSenders([old]);
    const value = await w.k.codec.encode(w.k.topic('mesh.heartbeats'), old);
    await w.k.sendRaw('mesh.heartbeats', [{ key: agent, value }]);
    await w.k.sendEvents('mesh.heartbeats', [{ key: agent, event: w.k.signer.sign(hb({ agent, at: nowUs + 45 * S }), key) }], { unsigned: true });
    await waitFor(async () => (await agentHash(agent)).last_hb === String(nowUs + 45 * S), 60_000, 'both heartbeats applied');
    // Mallory names the agent's key id with a sequence far above its own: refused FORGED, so not a sequence to read back.
    const forged = w.k.signer.sign(hb({ agent, at: nowUs + 46 * S }), mallory, 2 ** 52);
    await w.k.sendEvents('mesh.heartbeats', [{ key: agent, event: { ...forged, signature: { key_id: key.keyId, sig: forged.signature!.sig } } }], { unsigned: true });
    await dlq('mesh.heartbeats', (rs) => rs.some((r) => r.key === agent));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    await w.svc!.stop();
    w.svc = await startImpedanceWith(w.k, w.redisSrv.url, { IMPEDANCE_CHECKPOINT_MS: '0', KEYS_POLL_MS: '500' }, { INSTANCE_ID: 'security-impedance' });
    await w.k.sendRaw('mesh.heartbeats', [{ key: agent, value }]);
    await w.k.sendEvents('mesh.heartbeats', [{ key: agent, event: w.k.signer.sign(hb({ agent, at: nowUs + 50 * S }), key) }], { unsigned: true });
    const dead = await dlq('mesh.heartbeats', (rs) => rs.filter((r) => r.key === agent).length >= 2);
    assert.deepEqual(reasons(dead.filter((r) => r.key === agent)), ['FORGED', 'REPLAYED']);
    await waitFor(async () => (await agentHash(agent)).last_hb === String(nowUs + 50 * S), 60_000, 'the agent\'s next heartbeat applied after the restart');
  });
});
