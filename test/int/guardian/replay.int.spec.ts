// Given a guardian that ran over a failing cluster, a shrinking mesh, learned and deviating
// traces, a latency regression and a confirmed crash (its own ticks among the inputs), when `solvermesh mesh replay`
// refolds mesh.guardian, then every breaker, mode, partition and witness event comes out byte for
// byte as recorded; `mesh health` summarises the same fold; and an event the guardian never
// decided, slipped onto mesh.circuits, is named as a divergence (exit 1).
import assert from 'node:assert/strict';
import type { CircuitStateChanged, SolvermeshEvent } from '../../../schemas/generated/events';
import type { GuardianHealth } from '../../../services/guardian/health';
import { derivedEventId } from '../../../services/runtime/ids';
import { TestKafka } from '../../support/kafka';
import { runCli } from '../../support/process';
import { startRun, childrenOfEachTest } from '../solver/support';
import { agent, structural, summary } from '../../unit/guardian/events';
import { readTopic, until } from './support';

const S = 1_000_000;

/** One request: api calls auth at `at`, auth calls db `latencyUs` later, api ends. Keyed alike, so it stays in order. */
function trace(req: number, at: number, latencyUs: number): SolvermeshEvent[] {
  return [
    structural('api', 'CALL', at, { request_id: req, peer_component_id: 'auth' }),
    structural('auth', 'CALL', at + latencyUs, { request_id: req, peer_component_id: 'db' }),
    structural('api', 'REQUEST_END', at + latencyUs + 100, { request_id: req, success: true }),
  ];
}

describe('guardian replay and health (solvermesh mesh replay | health)', function () {
  this.timeout(240_000);
  const children = childrenOfEachTest();
  let k: TestKafka;
  afterEach(async () => { await k?.close(); });

  it('given a recorded run, the replay reproduces every event byte for byte, health summarises it, and a forged event is a divergence', async () => {
    k = await TestKafka.create('guardian-replay');
    children.push(startRun(k, ['guardian'], { GUARDIAN_TICK_MS: '200' }));
    // 40 s back in event time: the open breaker's probe is due by the wall clock, and the
    // guardian's own tick (a failed probe: the cluster is still down) joins the recorded inputs.
    const t0 = (Date.now() - 40_000) * 1000;
    await k.sendEvents('mesh.summaries', [summary(10, 10, t0), summary(7, 10, t0 + S)].map((event) => ({ key: 'mesh', event })));
    const down = Array.from({ length: 6 }, (_, i) => agent(`c1-a${i}`, 'c1', 's1', 'OFFLINE', t0 + 2 * S + i));
    await k.sendEvents('mesh.impedance', down.map((e) => ({ key: e.agent_id, event: e })));
    const traces = Array.from({ length: 12 }, (_, r) => trace(r, t0 + 3 * S + r * 10_000, 400)).flat();
    traces.push(...trace(99, t0 + 4 * S, 2000));
    await k.sendEvents('mesh.witnesses', traces.map((event) => ({ key: 'api', event })));
    const slow = [...Array(10).fill(100), ...Array(10).fill(500)].map((l, i) => structural('db', 'REQUEST_START', t0 + 5 * S + i, { request_id: 1000 + i, latency_us: l }));
    await k.sendEvents('mesh.witnesses', slow.map((event) => ({ key: 'db', event })));
    // A failed delivery to an agent that also missed its heartbeats: a confirmed crash.
    const failedCall = structural('dispatcher', 'CALL_RETURN', t0 + 6 * S, { request_id: 500, success: false, peer_component_id: 'c1-a0' });
    await k.sendEvents('mesh.witnesses', [{ key: 'dispatcher', event: failedCall }]);

    const types = (es: SolvermeshEvent[]) => new Set<string>(es.filter((e) => e.meta.producer === 'guardian').map((e) => (e.type === 'StructuralWitnessRecorded' ? e.trigger : e.type)));
    await until('every kind of decision', async () => [...types(await readTopic(k, 'mesh.circuits')), ...types(await readTopic(k, 'mesh.witnesses'))],
      (ts) => ['CircuitStateChanged', 'OperationalModeChanged', 'MeshFrozen', 'PATTERN_DEVIATION', 'LATENCY_REGRESSION', 'AgentCrashConfirmed'].every((t) => ts.includes(t)));
    await until('the failed probe', async () => (await readTopic(k, 'mesh.circuits')).filter((e): e is CircuitStateChanged => e.type === 'CircuitStateChanged'),
      (cs) => cs.some((c) => c.previous_state === 'OPEN' && c.new_state === 'OPEN'));

    const env = { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' };
    const ok = await runCli(['mesh', 'replay'], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const m = /^OK guardian: (\d+) events identical byte for byte \((\d+) inputs .* (\d+) events recomputed, (\d+) recorded\)/.exec(ok.stdout);
    assert.ok(m, ok.stdout);
    assert.ok(Number(m[1]) >= 6 && m[1] === m[3] && m[3] === m[4], ok.stdout);
    assert.ok((await readTopic(k, 'mesh.guardian', 1)).some((e) => e.type === 'GuardianClockTicked'), 'the guardian\'s own ticks are among the replayed inputs');

    const health = await runCli(['mesh', 'health', '--json'], env);
    assert.equal(health.code, 0, health.stderr);
    const h = JSON.parse(health.stdout) as GuardianHealth;
    assert.equal(h.mode, 'DEGRADED_MODERATE');
    assert.notEqual(h.frozenSince, null);
    assert.deepEqual(h.openBreakers.map((b) => [b.breaker, b.state]), [['CLUSTER:c1', 'OPEN']]);
    assert.deepEqual(h.patterns.map((p) => [p.sequence, p.occurrences, p.learned]), [['api->auth auth->db', 13, true]]);
    assert.deepEqual(h.recentWitnesses.map((w) => w.trigger).sort(), ['LATENCY_REGRESSION', 'PATTERN_DEVIATION']);
    assert.equal(h.componentsMonitored, 1);
    assert.deepEqual(h.crashed, ['c1-a0']);
    assert.deepEqual(h.suspected, ['c1-a1', 'c1-a2', 'c1-a3', 'c1-a4', 'c1-a5']);
    const text = await runCli(['mesh', 'health'], env);
    assert.match(text.stdout, /breakers not closed: 1\n\s+CLUSTER:c1\s+OPEN/);

    // Given an event the guardian never decided, then the replay names it and exits 1.
    const forged: CircuitStateChanged = {
      type: 'CircuitStateChanged',
      meta: { event_id: derivedEventId('forged', '1'), correlation_id: 'CLUSTER:c9', causation_id: null, occurred_at: t0, producer: 'guardian', sequence: null },
      scope: 'CLUSTER', scope_id: 'c9', previous_state: 'CLOSED', new_state: 'OPEN', failure_count: 6, failure_threshold: 5, reason: 'forged', next_probe_at: null, incident_detected_at: t0, recovery_time_us: null,
    };
    await k.sendEvents('mesh.circuits', [{ key: 'CLUSTER:c9', event: forged }]);
    const bad = await runCli(['mesh', 'replay'], env);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`^DIVERGED guardian at CircuitStateChanged ${forged.meta.event_id}: not recomputed`));
  });
});
