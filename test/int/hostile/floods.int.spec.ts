// Floods and amplification on the impedance service (issue 15): a heartbeat with an enormous
// capability list or an id holding the registry's separators is dead-lettered with its reason;
// a coordination request repeating one selector 30,000 times is scheduled once per agent, and
// one naming thousands of distinct selectors is refused (AMPLIFICATION) before the mesh is
// listed many times over.
import assert from 'node:assert/strict';
import type { CoordinationRequested, HeartbeatReceived, ScheduleComputed } from '../../../schemas/generated/events';
import { MAX_SELECTORS } from '../../../services/impedance/schedule-reactor';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { sectorRequest } from '../../support/coordination';
import { waitFor } from '../../support/kafka';
import { hb } from '../../unit/impedance/helpers';
import { collectEvents, startImpedance, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

describe('floods and amplification on the impedance service (issue 15)', function () {
  this.timeout(180_000);
  const w = useImpedanceWorld('floods');

  it('given hostile heartbeats and coordination requests among valid ones, then each hostile one is a dead letter with its reason and the selectors are resolved once', async () => {
    const T = Date.now() * 1000;
    const beat = (agent: string, over: Partial<HeartbeatReceived> = {}): HeartbeatReceived => ({ ...hb({ agent, at: T, cluster: 'S000-C00', sector: 'S000' }), ...over });
    w.svc = await startImpedance(w.k, w.redisSrv.url);
    const good = Array.from({ length: 5 }, (_, i) => `S000-C00-A0${i}`);
    const hostile = [
      beat('S000-C00-B00', { capabilities: Array.from({ length: 10_000 }, (_, i) => `c${i}`) }),
      beat('S000-C00|A99'),
      beat('S000-C00-B01', { capabilities: ['api,database'] }),
      beat('S000-C00-B02', { cluster_id: 'z:cap:api' }),
    ];
    await w.k.sendEvents('mesh.heartbeats', [...hostile, ...good.map((a) => beat(a))].map((e) => ({ key: e.agent_id, event: e })));
    await waitCaughtUp(w.k, 'mesh.heartbeats');
    const dead = await w.k.collect('mesh.heartbeats.dlq', (r) => r.length >= 4);
    const reasons = new Map(dead.map((d) => [d.key, `${d.headers[DLQ_HEADERS.errorClass]}: ${d.headers[DLQ_HEADERS.errorMessage]}`]));
    assert.match(reasons.get('S000-C00-B00')!, /^VALIDATION_FAILED: .*capabilities has 10000 entries, over maxCapabilities 64/);
    assert.match(reasons.get('S000-C00|A99')!, /agent_id "S000-C00\|A99" holds "\|", a separator/);
    assert.match(reasons.get('S000-C00-B01')!, /capabilities\[0\] "api,database" holds ","/);
    assert.match(reasons.get('S000-C00-B02')!, /cluster_id "z:cap:api" holds ":"/);
    await waitFor(async () => (await w.redis.zcard(`${w.prefix}z:sector:S000`)) === 5, 30_000, 'the five good agents in the sector index');

    // when: one selector 30,000 times over, and more distinct selectors than MAX_SELECTORS
    const repeated = sectorRequest(Array.from({ length: 30_000 }, () => 'sector:S000'), 60_000, 500);
    const many = sectorRequest(Array.from({ length: MAX_SELECTORS + 1 }, (_, i) => `cluster:S000-C${i}`), 60_000, 500);
    const send = (r: CoordinationRequested) => w.k.sendEvents('mesh.coordination', [{ key: r.meta.correlation_id, event: r }]);
    await send(repeated);
    await send(many);
    // then: the repeated selector is scheduled once per agent
    const schedules = (await collectEvents(w.k, 'mesh.schedules', (es) => es.some((e) => e.type === 'ScheduleComputed' && e.message_id === repeated.message_id)))
      .filter((e): e is ScheduleComputed => e.type === 'ScheduleComputed' && e.message_id === repeated.message_id);
    assert.deepEqual(schedules.flatMap((s) => s.entries.map((x) => x.agent_id)).sort(), good);
    // and the selector flood is a dead letter naming the amplification
    const coordDead = await w.k.collect('mesh.coordination.dlq', (r) => r.length >= 1);
    assert.equal(coordDead.length, 1);
    assert.equal(coordDead[0]!.headers[DLQ_HEADERS.errorClass], 'AMPLIFICATION');
    assert.match(coordDead[0]!.headers[DLQ_HEADERS.errorMessage]!, new RegExp(`more than ${MAX_SELECTORS} distinct selectors`));
  });
});
