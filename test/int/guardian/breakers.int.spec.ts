// Given the guardian against the real broker and registry, when agents' state changes arrive on
// mesh.impedance and event time is driven by tick records on mesh.guardian (no sleeps), then a
// failing cluster's breaker opens, goes half-open at +30 s of event time and closes after
// recovery; three clusters failing within 1 s give one cascade witness; the guardian's own tick
// writer fires a probe that is due by the wall clock; and a restarted guardian rebuilds its fold
// from the log and goes on where the first left off.
import assert from 'node:assert/strict';
import type { CircuitStateChanged } from '../../../schemas/generated/events';
import { TestKafka } from '../../support/kafka';
import { startRun, childrenOfEachTest } from '../solver/support';
import { agent, tick } from '../../unit/guardian/events';
import { circuits, readTopic, until, witnesses } from './support';

const S = 1_000_000;

const life = (cs: CircuitStateChanged[], id: string) => cs.filter((c) => c.scope_id === id).map((c) => `${c.previous_state}->${c.new_state}`);

describe('guardian service: breakers and the cascade reflex against the broker', function () {
  this.timeout(240_000);
  const children = childrenOfEachTest();
  let k: TestKafka;
  afterEach(async () => { await k?.close(); });

  it('given a failing cluster, its breaker opens, is half-open 30 s of event time later and closes after recovery; restarted, the guardian goes on from the log', async () => {
    k = await TestKafka.create('guardian-breaker');
    children.push(startRun(k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    const t0 = Date.now() * 1000;
    const offline = Array.from({ length: 6 }, (_, i) => agent(`c1-a${i}`, 'c1', 's1', 'OFFLINE', t0 + i * 1000));
    await k.sendEvents('mesh.impedance', offline.map((e) => ({ key: e.agent_id, event: e })));
    const opened = await until('the breaker to open', () => circuits(k), (cs) => cs.length >= 1);
    assert.deepEqual(life(opened, 'c1'), ['CLOSED->OPEN']);
    assert.deepEqual([opened[0]!.scope, opened[0]!.failure_count, opened[0]!.failure_threshold, opened[0]!.next_probe_at], ['CLUSTER', 6, 5, t0 + 5000 + 30 * S]);

    // Recovery, then event time moved past the probe by a record, not by waiting.
    const back = offline.map((e) => agent(e.agent_id, 'c1', 's1', 'ACTIVE', t0 + 10 * S));
    await k.sendEvents('mesh.impedance', back.map((e) => ({ key: e.agent_id, event: e })));
    // The ticks must land after the recoveries' copies: the probe reads the cluster as they left it.
    await until('the recoveries sequenced', () => readTopic(k, 'mesh.guardian', 1), (es) => es.filter((e) => e.type === 'AgentStateChanged').length === 12);
    await k.sendEvents('mesh.guardian', [{ key: 'mesh', event: tick(t0 + 29 * S) }, { key: 'mesh', event: tick(t0 + 31 * S) }]);
    const half = await until('half-open', () => circuits(k), (cs) => cs.length >= 2);
    assert.deepEqual(life(half, 'c1'), ['CLOSED->OPEN', 'OPEN->HALF_OPEN']);
    assert.equal(half[1]!.next_probe_at, t0 + 91 * S);

    // A guardian restarted in the half-open state rebuilds it from mesh.guardian and closes it.
    for (const c of children.splice(0)) { c.proc.kill('SIGKILL'); await c.exited; }
    children.push(startRun(k, ['guardian'], { GUARDIAN_TICK_MS: '0' }));
    await k.sendEvents('mesh.guardian', [{ key: 'mesh', event: tick(t0 + 92 * S) }]);
    const closed = await until('closed', () => circuits(k), (cs) => cs.length >= 3);
    assert.deepEqual(life(closed, 'c1'), ['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
    assert.equal(closed.length, 3, 'no change twice (the restart neither lost nor repeated one)');
    // One incident, detected by the 6th agent down, restored at the close (seed 002 §11.1).
    assert.deepEqual(closed.map((c) => [c.incident_detected_at, c.recovery_time_us]), [[t0 + 5000, null], [t0 + 5000, null], [t0 + 5000, t0 + 92 * S - (t0 + 5000)]]);
  });

  it('given agents of three clusters going down within 1 s, one cascade witness and the three breakers open; a probe due by the wall clock is fired by the guardian\'s own tick', async () => {
    k = await TestKafka.create('guardian-cascade');
    children.push(startRun(k, ['guardian'], { GUARDIAN_TICK_MS: '200' }));
    // 40 s ago in event time: the breakers' probes (at +30 s) are due by the wall clock now.
    const t0 = (Date.now() - 40_000) * 1000;
    const down = [agent('a', 'c1', 's1', 'OFFLINE', t0), agent('b', 'c2', 's1', 'OFFLINE', t0 + 400_000), agent('c', 'c3', 's2', 'OFFLINE', t0 + 800_000), agent('d', 'c3', 's2', 'OFFLINE', t0 + 900_000)];
    await k.sendEvents('mesh.impedance', down.map((e) => ({ key: e.agent_id, event: e })));
    const ws = await until('the cascade witness', () => witnesses(k), (w) => w.length >= 1);
    const cs = await until('three open breakers', () => circuits(k), (c) => c.filter((x) => x.new_state === 'OPEN').length >= 3);
    assert.deepEqual(cs.filter((x) => x.new_state === 'OPEN').map((x) => x.scope_id).sort(), ['c1', 'c2', 'c3']);
    assert.equal(ws.length, 1);
    assert.equal(ws[0]!.trigger, 'CASCADE');
    assert.deepEqual(ws[0]!.component_states.map((s) => s.component_id), ['cluster:c1', 'cluster:c2', 'cluster:c3']);
    // The chain is in mesh.guardian's order: agents' records come from six partitions, in any interleaving.
    // It fires at the third cluster: c3's second agent is in the chain when it came before that.
    assert.ok([3, 4].includes(ws[0]!.causal_chain.length));
    assert.ok(ws[0]!.causal_chain.every((l) => down.some((e) => e.meta.event_id === l.event_id)));
    // Nobody sends a tick: the guardian writes one itself, and the probes fire where it lands.
    const probed = await until('the probes', () => circuits(k), (c) => c.filter((x) => x.new_state === 'HALF_OPEN').length >= 3, 30_000);
    const ticks = (await readTopic(k, 'mesh.guardian', 1)).filter((e) => e.type === 'GuardianClockTicked');
    assert.ok(ticks.length >= 1);
    assert.deepEqual(probed.filter((x) => x.new_state === 'HALF_OPEN').map((x) => x.scope_id).sort(), ['c1', 'c2', 'c3']);
    assert.equal((await witnesses(k)).length, 1, 'still one witness');
  });
});
