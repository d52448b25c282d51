import assert from 'node:assert/strict';
import pino from 'pino';
import type { SummaryDue } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { dueTickOf, mergeMarks, QUIET_PARTITION_MS, reachedTickOf, summaryTickOf, type PartitionMark } from '../../../services/impedance/summary-clock';
import { summaryDueTimer } from '../../../services/impedance/summary-due';
import { partitionOf } from '../../../services/runtime/kafka/partition-key';
import type { OutRecord } from '../../../services/runtime/kafka/types';
import { TickWriter } from '../../../services/runtime/tick-writer';
import { topicSpec } from '../../../topics/catalog';

const S = 1_000_000;
const mark = (partition: number, watermarkUs: number, seenMs = 1_000, behind = false): PartitionMark => ({ partition, watermarkUs, seenMs, behind });

describe('impedance: the summary tick every heartbeat partition reached', () => {
  it('given partitions at 47 s, 12 s and 33 s, when a summary is due, then it is taken at 10 s (the slowest, rounded down to a 5 s tick)', () => {
    assert.equal(summaryTickOf([mark(0, 47 * S), mark(1, 12 * S), mark(2, 33 * S)], 1_000), 10 * S);
  });

  it('given a burst read as far as 80 s on partition 0 and 40.1 s on the others, then the tick is 40 s, not 80 s', () => {
    assert.equal(summaryTickOf([mark(0, 80 * S), mark(1, 40.1 * S), mark(2, 40.1 * S)], 1_000), 40 * S);
  });

  it('given a partition at the end of its log that got no batch for 10 s of wall time (its agents silent), then it is not waited for; one with records unread always is', () => {
    const marks = [mark(0, 80 * S, 10_000), mark(1, 12 * S, 10_000 - QUIET_PARTITION_MS), mark(2, 61 * S, 10_000)];
    assert.equal(summaryTickOf(marks, 10_000), 60 * S);
    // 1 ms younger: still waited for.
    assert.equal(summaryTickOf([marks[0]!, mark(1, 12 * S, 10_001 - QUIET_PARTITION_MS), marks[2]!], 10_000), 10 * S);
    assert.equal(summaryTickOf([marks[0]!, mark(1, 12 * S, 0, true), marks[2]!], 10_000), 10 * S);
  });

  it('given every partition quiet, then the slowest still bounds the tick', () => {
    assert.equal(summaryTickOf([mark(0, 80 * S, 0), mark(1, 22 * S, 0)], 60_000), 20 * S);
  });

  it('given an assigned partition without a heartbeat yet and not quiet, then no tick; once quiet, it is left out', () => {
    const marks = [mark(0, 80 * S, 1_000), mark(1, -Infinity, 1_000)];
    assert.equal(summaryTickOf(marks, 1_000), null);
    assert.equal(summaryTickOf([mark(0, 80 * S, 11_000), mark(1, -Infinity, 1_000)], 11_000), 80 * S);
    assert.equal(summaryTickOf([], 0), null);
  });

  it('given published marks and the owned folds, then the owned folds win for their partitions', () => {
    assert.deepEqual(mergeMarks([mark(2, 5 * S), mark(0, 1 * S)], [mark(0, 9 * S)]), [mark(0, 9 * S), mark(2, 5 * S)]);
  });

  describe('a tick reached and not summarised (SummaryDue)', () => {
    it('given partition 0 at 47 s and partition 1 silent at 12 s, then 45 s is reached, and a SummaryDue for it is taken: partition 1 has nothing unread', () => {
      const marks = [mark(0, 47 * S), mark(1, 12 * S)];
      assert.equal(summaryTickOf(marks, 1_000), 10 * S);
      assert.equal(reachedTickOf(marks), 45 * S);
      assert.equal(dueTickOf(marks, 45 * S), 45 * S);
    });

    it('given a partition below the due tick with records unread, then the due tick waits; one at or past it may be behind', () => {
      assert.equal(dueTickOf([mark(0, 47 * S), mark(1, 12 * S, 1_000, true)], 45 * S), null);
      assert.equal(dueTickOf([mark(0, 47 * S, 1_000, true), mark(1, 12 * S)], 45 * S), 45 * S);
      assert.equal(dueTickOf([mark(0, 47 * S)], -Infinity), null);
      assert.equal(reachedTickOf([mark(0, -Infinity)]), null);
    });

    it('given the timer armed for 40 s and then 45 s, then one SummaryDue for 40 s (reached a full quiet spell before it is written) is written onto the summary partition of mesh.heartbeats after the quiet spell; cancelled, none', async () => {
      const sent: OutRecord[] = [];
      const events: SummaryDue[] = [];
      const ticks = () => new TickWriter({
        producer: async () => ({ async send(rs) { sent.push(...rs); return rs.map((_, i) => ({ partition: 0, offset: i })); }, async close() {} }),
        codec: { encode: async (_t, e) => { events.push(e as SummaryDue); return Buffer.from('x'); } }, topicPrefix: 'p.', logger: pino({ level: 'silent' }),
      });
      const t = summaryDueTimer(ticks(), 0, { quietMs: 0 });
      t.arm(40 * S);
      t.arm(45 * S);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.topic, 'p.mesh.heartbeats');
      assert.equal(partitionOf(String(sent[0]!.key), topicSpec('mesh.heartbeats').partitions), 0);
      assert.deepEqual([events[0]!.type, events[0]!.partition, events[0]!.tick_at], ['SummaryDue', 0, 40 * S]);
      assert.deepEqual(validateEvent(events[0]!), []);
      const c = summaryDueTimer(ticks(), 0, { quietMs: 0 });
      c.arm(50 * S);
      c.cancel();
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(sent.length, 1);
      await t.close();
      await c.close();
    });
  });
});
