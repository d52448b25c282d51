// Given QuorumDecided records on mesh.acks among many acks, when an operator runs
// `solvermesh mesh status` (a child process), then the status box is followed by the coordination
// KPIs of the newest decisions, read back from the partitions' tails however far the older ones
// lie behind the acks.
import assert from 'node:assert/strict';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import { agentIds, gatherInputs, KPI_GATHERS } from '../../support/gathers';
import { TestKafka } from '../../support/kafka';
import { runCli } from '../../support/process';

describe('mesh status: the coordination KPIs (seed 002 §11.1) from the newest decisions on mesh.acks', function () {
  this.timeout(180_000);
  let k: TestKafka;
  before(async () => {
    k = await TestKafka.create('kpi-status');
  });
  after(async () => k?.close());

  const T0 = Date.now() * 1000;
  const send = (events: SolvermeshEvent[]) => k.sendEvents('mesh.acks', events.map((event) => ({ key: event.meta.correlation_id, event })));

  it('given no decision yet, then the KPIs say n/a, not 0 or 100 %', async () => {
    const r = await runCli(['mesh', 'status'], { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /COORDINATION KPIs \(no decisions on mesh\.acks\)/);
    assert.match(r.stdout, /Coordination success: n\/a SUCCESS/);
  });

  it('given c1, then 6,000 acks of another gather in its partition, then c2 and c3: --decisions 2 covers c2 and c3, the default all three (c1 found past the first 4,096 records)', async () => {
    // c1's key, so the acks land behind it in its partition
    await send([KPI_GATHERS.allReady(T0)]);
    const filler = gatherInputs('c1', agentIds(1000), agentIds(1000).map((a) => [a, 'READY', 0] as const), T0).filter((e) => e.type === 'AckReceived');
    for (let i = 0; i < 6; i++) await send(filler.map((e) => ({ ...e, meta: { ...e.meta, event_id: `${e.meta.event_id}-${i}` } })));
    await send([KPI_GATHERS.oneLate(T0 + 1_000_000), KPI_GATHERS.silent(T0 + 2_000_000)]);
    const env = { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' };

    const two = await runCli(['mesh', 'status', '--decisions', '2'], env);
    assert.equal(two.code, 0, two.stderr);
    // c2 + c3: SUCCESS 0/2; in window (19 + 85) / 120 = 86.7 %; conflicts 6 / 104 = 5.8 %
    assert.match(two.stdout, /COORDINATION KPIs \(last 2 decisions/);
    assert.match(two.stdout, /Coordination success: 0\.0% SUCCESS \(target >= 99\.0%\), PROCEED 0\.0%/);
    assert.match(two.stdout, /Arrival window hit: 86\.7% of agents sent/);
    assert.match(two.stdout, /Conflict rate: 5\.8% of answers/);

    const all = await runCli(['mesh', 'status'], env);
    assert.equal(all.code, 0, all.stderr);
    // c1 + c2 + c3: 1/3; 108 / 124 = 87.1 %; 6 / 108 = 5.6 %
    assert.match(all.stdout, /COORDINATION KPIs \(last 3 decisions/);
    assert.match(all.stdout, /Coordination success: 33\.3% SUCCESS .* PROCEED 33\.3%/);
    assert.match(all.stdout, /Arrival window hit: 87\.1% of agents sent/);
    assert.match(all.stdout, /Conflict rate: 5\.6% of answers/);
  });

  it('given --decisions 0, then exit non-zero with what to give', async () => {
    const r = await runCli(['mesh', 'status', '--decisions', '0'], { ...process.env, TOPIC_PREFIX: k.prefix, LOG_LEVEL: 'warn' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--decisions "0": give a whole number >= 1/);
  });
});
