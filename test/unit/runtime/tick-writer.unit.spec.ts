import assert from 'node:assert/strict';
import pino from 'pino';
import type { SolvermeshEvent } from '../../../schemas/generated/events';
import type { OutRecord, Producer } from '../../../services/runtime/kafka/types';
import { TickWriter, type TickRecord } from '../../../services/runtime/tick-writer';

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// A producer that records what it is asked to send, failing the first `failures` sends.
function fakeProducer(failures = 0): Producer & { sent: OutRecord[] } {
  let left = failures;
  const sent: OutRecord[] = [];
  return {
    sent,
    async send(records) {
      if (left-- > 0) throw new Error('broker away');
      sent.push(...records);
      return records.map((_, i) => ({ partition: 0, offset: i }));
    },
    async close() {},
  };
}

const codec = { encode: async (topic: string, e: SolvermeshEvent) => Buffer.from(`${topic}:${e.meta.event_id}`) };
const tick = (id: string, atMs: number): TickRecord => ({
  topic: 'mesh.schedules', key: 'c',
  event: { type: 'DispatchDue', meta: { event_id: id, correlation_id: 'c', causation_id: null, occurred_at: atMs * 1000, producer: 'spec', sequence: null }, message_id: 'm', due_at: atMs * 1000, shift_us: null, max_sends: null },
});

describe('TickWriter: tick records written at a wall time', () => {
  it('given an id armed twice, then the earlier time is kept and one record is written, stamped when written', async () => {
    const p = fakeProducer();
    const w = new TickWriter({ producer: async () => p, codec, topicPrefix: 'x.', logger: pino({ level: 'silent' }) });
    const now = Date.now();
    const stamps: number[] = [];
    w.arm('a', now + 30, (at) => { stamps.push(at); return tick('late', at); });
    w.arm('a', now + 10, (at) => { stamps.push(at); return tick('early', at); });
    await waitFor(() => p.sent.length === 1 && w.pending === 0, 2000, 'one tick');
    assert.equal(p.sent[0]!.topic, 'x.mesh.schedules');
    assert.equal(String(p.sent[0]!.value), 'x.mesh.schedules:early');
    assert.ok(stamps[0]! >= now + 10, 'stamped no earlier than due');
    await w.close();
  });

  it('given a time further ahead than setTimeout can wait (a deadline in 2100), then it is not written at once but stays pending', async () => {
    const p = fakeProducer();
    const w = new TickWriter({ producer: async () => p, codec, topicPrefix: '', logger: pino({ level: 'silent' }) });
    w.arm('far', Date.UTC(2100, 0, 1), (at) => tick('far', at));
    w.arm('near', Date.now() + 5, (at) => tick('near', at));
    await waitFor(() => p.sent.length >= 1 && w.pending === 1, 2000, 'the near tick');
    assert.deepEqual(p.sent.map((r) => String(r.value)), ['mesh.schedules:near'], 'an overflowing delay would have fired first');
    await w.close();
  });

  it('given a failing producer, when the write fails, then it is tried again until it goes', async () => {
    const p = fakeProducer(2);
    const w = new TickWriter({ producer: async () => p, codec, topicPrefix: '', logger: pino({ level: 'silent' }), retryMs: 5 });
    w.arm('b', Date.now(), (at) => tick('b', at));
    await waitFor(() => p.sent.length === 1, 2000, 'the tick after two failures');
    await w.close();
  });

  it('given timers of revoked partitions, when cancelled, then nothing is written', async () => {
    const p = fakeProducer();
    const w = new TickWriter({ producer: async () => p, codec, topicPrefix: '', logger: pino({ level: 'silent' }) });
    w.arm('dispatch/1/c', Date.now() + 20, (at) => tick('gone', at));
    w.arm('dispatch/2/c', Date.now() + 20, (at) => tick('kept', at));
    w.cancel((id) => id.startsWith('dispatch/1/'));
    await waitFor(() => p.sent.length === 1 && w.pending === 0, 2000, 'the kept tick');
    assert.equal(String(p.sent[0]!.value), 'mesh.schedules:kept');
    await w.close();
  });
});
