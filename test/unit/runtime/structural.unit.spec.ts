import assert from 'node:assert/strict';
import pino from 'pino';
import type { StructuralEventObserved } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { SEED_POLICY } from '../../../services/guardian/policy';
import { guardianProcessor } from '../../../services/guardian/processor';
import type { EventCodec } from '../../../services/runtime/codec';
import type { OutRecord, Producer } from '../../../services/runtime/kafka/types';
import { consumerLagReporter, LagWatch, SpikeDetector, StructuralEmitter } from '../../../services/runtime/structural';

// A producer that keeps what it is asked to send; the codec keeps the event itself.
function capture(): { producer: Producer; sent: OutRecord[]; events: StructuralEventObserved[] } {
  const sent: OutRecord[] = [];
  const producer: Producer = { async send(records) { sent.push(...records); return records.map((_, i) => ({ partition: 0, offset: i })); }, async close() {} };
  return { producer, sent, events: [] };
}

function emitter(c: ReturnType<typeof capture>, nowMs = 1_700_000_000_000): StructuralEmitter {
  const codec = { encode: async (_t: string, e: unknown) => { c.events.push(e as StructuralEventObserved); return Buffer.from('x'); } };
  return new StructuralEmitter({ component: 'solver', producer: async () => c.producer, codec, topicPrefix: 'p.', logger: pino({ level: 'silent' }), now: () => nowMs });
}

describe('runtime: structural events from the services (seed 004)', () => {
  describe('spike detector', () => {
    it('given fewer than 10 samples, then nothing is a spike, however large', () => {
      const d = new SpikeDetector();
      for (let i = 0; i < 9; i++) assert.equal(d.observe(1).spike, false);
      assert.deepEqual(d.observe(1000), { spike: false, median: null });
    });

    it('given 10 samples 1..10 (median 5.5), then 27.5 is not a spike (5x); with it in the window (median 6), 30.1 is', () => {
      const d = new SpikeDetector();
      for (let i = 1; i <= 10; i++) d.observe(i);
      assert.deepEqual(d.observe(27.5), { spike: false, median: 5.5 });
      // The window now holds 1..10 and 27.5: median 6.
      assert.deepEqual(d.observe(30.1), { spike: true, median: 6 });
    });

    it('given a window of 4, then the median is of the last 4 values only', () => {
      const d = new SpikeDetector(4, 2, 2);
      for (const v of [100, 100, 1, 1, 1, 1]) d.observe(v);
      assert.deepEqual(d.observe(2.5), { spike: true, median: 1 });
    });
  });

  describe('emitter', () => {
    it('given slices 10 ms then one of 80 ms, then one RESOURCE_SPIKE on mesh.witnesses, keyed by the component, valid', async () => {
      const c = capture();
      const e = emitter(c);
      for (let i = 0; i < 10; i++) assert.equal(e.sample('slice_ms', 10, 10), false);
      assert.equal(e.sample('slice_ms', 80, 80, 'slice of s1'), true);
      await e.flush();
      assert.deepEqual(c.sent.map((r) => [r.topic, r.key]), [['p.mesh.witnesses', 'solver']]);
      const ev = c.events[0]!;
      assert.deepEqual([ev.kind, ev.component_id, ev.resource, ev.value, ev.latency_us, ev.meta.occurred_at], ['RESOURCE_SPIKE', 'solver', 'slice_ms', 80, 80_000, 1_700_000_000_000_000]);
      assert.match(ev.error!, /slice of s1: 80.000 over 5x the running median 10.000/);
      assert.deepEqual(validateEvent(ev), []);
    });

    it('given a write of 600 ms against a 500 ms limit, then one event; 500 ms is not over it', async () => {
      const c = capture();
      const e = emitter(c);
      assert.equal(e.slow('redis_write_ms', 500, 500), false);
      assert.equal(e.slow('redis_write_ms', 600, 500, 'registry write'), true);
      await e.flush();
      assert.equal(c.events.length, 1);
      assert.equal(c.events[0]!.latency_us, 600_000);
      assert.match(c.events[0]!.error!, /registry write: 600.0 ms over the 500 ms limit/);
    });

    it('given a producer that fails, then the observation is dropped and nothing throws', async () => {
      const e = new StructuralEmitter({ component: 'x', producer: async () => { throw new Error('broker away'); }, codec: { encode: async () => Buffer.from('x') }, topicPrefix: '', logger: pino({ level: 'silent' }) });
      assert.doesNotThrow(() => e.spike('r', 1, null, 'why'));
      await assert.doesNotReject(e.flush());
    });
  });

  describe('consumer lag', () => {
    it('given a 1000-record limit, then 1000 is not over it, 1001 is, once; it is reported again only after coming back to 500', () => {
      const w = new LagWatch(1000);
      assert.deepEqual([1000, 1001, 5000, 501, 2000].map((lag) => w.observe('t/0', lag)), [false, true, false, false, false]);
      assert.deepEqual([500, 1001].map((lag) => w.observe('t/0', lag)), [false, true]);
    });

    it('given two partitions, then each is judged on its own; a revoked one is judged afresh', () => {
      const w = new LagWatch(10);
      assert.deepEqual([w.observe('t/0', 11), w.observe('t/1', 11), w.observe('t/0', 11)], [true, true, false]);
      w.forget('t/0');
      assert.equal(w.observe('t/0', 11), true);
    });

    it('given a partition 250,000 records behind its end at a commit with a 100,000 limit, then one RESOURCE_SPIKE consumer_lag naming it, valid', async () => {
      const c = capture();
      const e = emitter(c);
      const r = consumerLagReporter(e, 100_000);
      const p = { topic: 'mesh.heartbeats', partition: 3, position: '750000', highWatermark: '1000000', lag: 250_000 };
      r.committed({ ...p, lag: 90_000 });
      r.committed(p);
      r.committed({ ...p, lag: 260_000 });
      await e.flush();
      assert.deepEqual(c.events.map((x) => [x.kind, x.component_id, x.resource, x.value, x.latency_us]), [['RESOURCE_SPIKE', 'solver', 'consumer_lag', 250_000, null]]);
      assert.match(c.events[0]!.error!, /mesh\.heartbeats\[3\] 250000 records behind its end \(position 750000, high watermark 1000000\): over the 100000-record limit/);
      assert.deepEqual(validateEvent(c.events[0]!), []);
      r.revoked([{ topic: 'mesh.heartbeats', partition: 3 }]);
      r.committed(p);
      await e.flush();
      assert.equal(c.events.length, 2);
    });

    it('given the guardian\'s own consumer lagging, then its observation names producer guardian/observed and the guardian copies it onto mesh.guardian (it is not one of its decisions, which it skips and its replay compares)', async () => {
      const c = capture();
      const codec = { encode: async (_t: string, e: unknown) => { c.events.push(e as StructuralEventObserved); return Buffer.from('x'); } };
      const e = new StructuralEmitter({ component: 'guardian', producer: async () => c.producer, codec, topicPrefix: '', logger: pino({ level: 'silent' }) });
      consumerLagReporter(e, 10).committed({ topic: 'mesh.summaries', partition: 0, position: '1', highWatermark: '100', lag: 99 });
      await e.flush();
      const observed = c.events[0]!;
      assert.equal(observed.meta.producer, 'guardian/observed');
      const g = guardianProcessor({ logger: pino({ level: 'silent' }), policy: SEED_POLICY, tickMs: 0, brokers: [], codec: {} as EventCodec, topicPrefix: '', groupId: 'g', producer: async () => c.producer });
      const out = await g.handle(observed, { topic: 'mesh.witnesses', partition: 0, offset: '0', timestampMs: 0, key: 'guardian' });
      assert.deepEqual(out.map((x) => [x.topic, x.event.type]), [['mesh.guardian', 'StructuralEventObserved']]);
    });
  });
});
