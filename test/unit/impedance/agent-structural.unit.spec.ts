import assert from 'node:assert/strict';
import pino from 'pino';
import type { StructuralEventObserved } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { queueCrossing } from '../../../services/impedance/agent-structural';
import { impedanceProcessor } from '../../../services/impedance/processor';
import type { RegistryStore } from '../../../services/impedance/registry-store';
import { hb, S, T0 } from './helpers';

const store = {
  async writeAgents(_p: number, xs: readonly unknown[]) { return { built: true, applied: xs.length }; },
  async markBuilt() {}, async isBuilt() { return true; }, async writeSummaries(xs: readonly unknown[]) { return xs.length; },
  async writeWatermarks() {}, async watermarks() { return []; },
} as unknown as RegistryStore;

describe('impedance: agents\' queue depth as structural events (issue 19)', () => {
  it('given a 100-message limit, then 100 is not over it, 101 is; only the crossings are reported, up and back', () => {
    const at = (q: number, i: number) => hb({ agent: 'a1', at: T0 + i * S, queue: q });
    assert.equal(queueCrossing(undefined, at(100, 0), 100), null);
    const up = queueCrossing(100, at(101, 1), 100)!;
    assert.deepEqual([up.kind, up.component_id, up.queue_depth, up.meta.causation_id], ['QUEUE_DEPTH', 'a1', 101, at(101, 1).meta.event_id]);
    assert.match(up.error!, /queue depth 101 over the 100-message limit \(cluster S001-C01\)/);
    assert.deepEqual(validateEvent(up), []);
    assert.equal(queueCrossing(101, at(500, 2), 100), null);
    const back = queueCrossing(500, at(100, 3), 100)!;
    assert.deepEqual([back.queue_depth, back.error], [100, null]);
    assert.equal(queueCrossing(undefined, at(101, 4), 100)?.queue_depth, 101);
    assert.equal(queueCrossing(0, at(1e6, 5), 0), null);
  });

  it('given the processor, when an agent\'s heartbeats go 0, 150, 160, 20, then two QUEUE_DEPTH on mesh.witnesses keyed by the agent, a duplicate adds none', async () => {
    const proc = impedanceProcessor({ store, logger: pino({ level: 'silent' }), summaryPartition: 99, now: () => 0, agentQueueLimit: 100, restore: async (ps) => new Map(ps.map((p) => [p, new Map()])), readTail: async () => [] });
    await proc.onAssigned!([{ topic: 'mesh.heartbeats', partition: 0 }]);
    const beats = [0, 150, 160, 20].map((q, i) => hb({ agent: 'a1', at: T0 + i * S, queue: q }));
    const out = [];
    for (const [i, b] of [...beats, beats[1]!].entries()) out.push(...(await proc.handle(b, { topic: 'mesh.heartbeats', partition: 0, offset: String(i), timestampMs: 0, key: 'a1' })));
    const witnessed = out.filter((e) => e.topic === 'mesh.witnesses');
    assert.deepEqual(witnessed.map((e) => [e.key, (e.event as StructuralEventObserved).queue_depth]), [['a1', 150], ['a1', 20]]);
  });
});
