// Prediction accuracy (seed 002 §11.1) counted where the acks are folded: per agent in its ack
// tally, summed per partition by its fold, over the hour before a summary's tick.
import assert from 'node:assert/strict';
import pino from 'pino';
import { loadEventSchemas } from '../../../schemas/catalog';
import type { AckReceived, HeartbeatReceived, ImpedanceUpdated } from '../../../schemas/generated/events';
import {
  ACCURACY_BUCKET_MS, ACCURACY_KEEP_BUCKETS, CONFLICT_KEY, NO_CELLS, WITHIN_KEY, countAck, decodeCells, encodeCells, measureArrival, windowAccuracy,
  type AccuracyCells,
} from '../../../services/impedance/accuracy';
import { foldAck, NO_ACKS, type AckTally } from '../../../services/impedance/ack-fold';
import { fromImpedanceUpdated, toImpedanceUpdated } from '../../../services/impedance/agent-fold';
import { PartitionFold } from '../../../services/impedance/partition-fold';
import { impedanceProcessor } from '../../../services/impedance/processor';
import type { RegistryStore } from '../../../services/impedance/registry-store';
import { ackOf, hb, S, T0 } from './helpers';

const BUCKET_US = ACCURACY_BUCKET_MS * 1000;
/** T0's 5-minute bucket (T0 is on a bucket boundary). */
const B0 = T0 / BUCKET_US;
const atMs = (us: number) => Math.floor(us / 1000);
const triples = (c: AccuracyCells) => Array.from({ length: c.length / 3 }, (_, i) => [c[3 * i]! - B0, c[3 * i + 1]!, c[3 * i + 2]!]);

/** Folds acks into one tally at offsets 0, 1, ...; undefined (not taken) leaves it as it was. */
function tally(acks: readonly AckReceived[]): AckTally {
  return acks.reduce((t, a, i) => foldAck(t, a, i) ?? t, NO_ACKS);
}

describe('impedance: prediction accuracy counted in the agent-ack fold (seed 002 §11.1)', () => {
  it('given arrivals 20 ms and 80 ms off, a CONFLICT, a re-sent ack, a TRANSIT then its READY, when folded, then each arrival is measured once and the conflict counted', () => {
    const t = tally([
      ackOf({ at: T0 + 1 * S, message: 'm1', lateMs: 20 }),
      ackOf({ at: T0 + 2 * S, message: 'm2', lateMs: -80 }),
      // re-sent: the same message and state (refused by the tally's recent ids)
      ackOf({ at: T0 + 3 * S, message: 'm1', lateMs: 20 }),
      ackOf({ at: T0 + 4 * S, message: 'm3', state: 'CONFLICT', lateMs: 5 }),
      // in transit: not arrived, not measured; its READY is
      ackOf({ at: T0 + 5 * S, message: 'm4', state: 'TRANSIT', lateMs: 400 }),
      ackOf({ at: T0 + 6 * S, message: 'm4', lateMs: 400 }),
      // a CONFLICT about a message already said READY: a conflict, not a second arrival
      ackOf({ at: T0 + 7 * S, message: 'm1', state: 'CONFLICT', lateMs: 20 }),
    ]);
    // then in bucket 0: histogram 20 ms -> 2, 80 ms -> 8, 5 ms -> 0, 400 ms -> 40; 2 within 50 ms; 2 conflicts
    assert.deepEqual(triples(t.accuracy), [[0, CONFLICT_KEY, 2], [0, WITHIN_KEY, 2], [0, 0, 1], [0, 2, 1], [0, 8, 1], [0, 40, 1]]);
    assert.deepEqual(windowAccuracy([t.accuracy], atMs(T0 + 10 * S)), { samples: 4, within50ms: 2, p90ErrorMs: 410, conflicts: 2 });
  });

  it('given an ack at or below the last offset folded (a replayed tail), then it counts nothing', () => {
    const t = foldAck(NO_ACKS, ackOf({ message: 'm1', lateMs: 10 }), 7)!;
    assert.equal(foldAck(t, ackOf({ message: 'm2', lateMs: 10 }), 7), undefined);
    assert.deepEqual(triples(t.accuracy), [[0, WITHIN_KEY, 1], [0, 1, 1]]);
  });

  it('given acks without a prediction (no schedule known), then only their conflicts count', () => {
    const t = tally([ackOf({ message: 'm1', expected: null }), ackOf({ message: 'm2', state: 'CONFLICT', expected: null })]);
    assert.deepEqual(triples(t.accuracy), [[0, CONFLICT_KEY, 1]]);
    assert.deepEqual(windowAccuracy([t.accuracy], atMs(T0)), { samples: 0, within50ms: 0, p90ErrorMs: null, conflicts: 1 });
  });

  it('the window is the hour before the tick by the acks\' event time: its 5-minute bucket and the 11 before, none after', () => {
    const at = (bucket: number) => T0 + bucket * BUCKET_US + 7 * S;
    const t = tally([-1, 0, 1, 11, 12].map((b) => ackOf({ at: at(b), message: `m${b}`, lateMs: 60 })));
    // a tick in bucket 11: buckets 0..11 count (3 acks), -1 is more than an hour before, 12 after the tick
    assert.equal(windowAccuracy([t.accuracy], atMs(T0 + 11 * BUCKET_US + 1 * S)).samples, 3);
    assert.equal(windowAccuracy([t.accuracy], atMs(T0 + 12 * BUCKET_US)).samples, 3);
    assert.deepEqual(windowAccuracy([t.accuracy, t.accuracy], atMs(T0 + 10 * BUCKET_US)), { samples: 6, within50ms: 0, p90ErrorMs: 70, conflicts: 0 });
  });

  it('an agent keeps two hours of buckets behind its newest ack, whatever order the acks come in', () => {
    const m = measureArrival(T0, T0);
    const late = countAck(countAck(NO_CELLS, { bucket: B0, measure: m, conflict: false }), { bucket: B0 + ACCURACY_KEEP_BUCKETS, measure: m, conflict: false });
    assert.deepEqual(triples(late).map((x) => x[0]), [ACCURACY_KEEP_BUCKETS, ACCURACY_KEEP_BUCKETS]);
    const early = countAck(countAck(NO_CELLS, { bucket: B0 + ACCURACY_KEEP_BUCKETS, measure: m, conflict: false }), { bucket: B0, measure: m, conflict: false });
    assert.deepEqual(early, late);
    assert.deepEqual(decodeCells(encodeCells(late)), late);
  });
});

/** Partition inputs: agent x's heartbeats and acks of several agents, one held before its agent's first heartbeat. */
const heartbeats: HeartbeatReceived[] = [0, 1, 2].flatMap((r) => ['x', 'y'].map((a) => hb({ agent: a, at: T0 + r * 5 * S })));
const acks: AckReceived[] = [
  ackOf({ agent: 'x', at: T0 + 1 * S, message: 'm1', lateMs: 30 }),
  ackOf({ agent: 'z', at: T0 + 2 * S, message: 'm1', lateMs: 300 }),
  ackOf({ agent: 'x', at: T0 + 3 * S, message: 'm2', state: 'CONFLICT', lateMs: 90 }),
  ackOf({ agent: 'y', at: T0 + 4 * S, message: 'm1', lateMs: 10 }),
  ackOf({ agent: 'x', at: T0 + 5 * S, message: 'm1', lateMs: 30 }),
  ackOf({ agent: 'z', at: T0 + 6 * S, message: 'm2', lateMs: 20 }),
];

function foldAll(f: PartitionFold, hbs: readonly HeartbeatReceived[], as: readonly AckReceived[], ackFrom = 0): PartitionFold {
  hbs.forEach((h, i) => f.apply(h, i));
  as.forEach((a, i) => f.applyAck(a, ackFrom + i));
  f.commit();
  return f;
}

describe('impedance: a partition\'s accuracy is the sum of what its fold counted', () => {
  const whole = foldAll(new PartitionFold(), heartbeats, acks);

  it('given acks of known agents, an agent not heard from, a CONFLICT and a re-sent ack, then the partition counts each once', () => {
    // x: 30 ms, CONFLICT at 90 ms (its re-sent m1 not counted); y: 10 ms; z (no heartbeat): 300 ms, 20 ms
    assert.deepEqual(windowAccuracy([whole.accuracyCells()], atMs(T0 + 10 * S)), { samples: 5, within50ms: 3, p90ErrorMs: 310, conflicts: 1 });
  });

  it('given the acks folded before the heartbeats, then the partition counts the same', () => {
    const f = new PartitionFold();
    acks.forEach((a, i) => f.applyAck(a, i));
    heartbeats.forEach((h, i) => f.apply(h, i));
    f.commit();
    assert.deepEqual(f.accuracyCells(), whole.accuracyCells());
  });

  it('given a batch rolled back, then its counts are taken back, and folded again they count once', () => {
    const f = foldAll(new PartitionFold(), heartbeats, acks.slice(0, 3));
    const before = f.accuracyCells();
    acks.slice(3).forEach((a, i) => f.applyAck(a, 3 + i));
    f.rollback();
    assert.deepEqual(f.accuracyCells(), before);
    acks.slice(3).forEach((a, i) => f.applyAck(a, 3 + i));
    f.commit();
    assert.deepEqual(f.accuracyCells(), whole.accuracyCells());
  });

  it('given a new owner restoring a checkpoint (through the changelog\'s bytes) and replaying the acks after it, then it counts what one fold of the whole log counts', () => {
    // the checkpoint after 4 acks: z is still held (not heard from), so acks are checkpointed only up to before its first
    const a = foldAll(new PartitionFold(), heartbeats, acks.slice(0, 4));
    const acksThrough = a.acksAppliedThrough();
    assert.equal(acksThrough, 0);
    const schema = loadEventSchemas().get('ImpedanceUpdated')!;
    const entries = a.changelogAgents().map((x) => ({ ...(schema.type.fromBuffer(schema.type.toBuffer(toImpedanceUpdated(x, heartbeats.length - 1, acksThrough))) as object), type: 'ImpedanceUpdated' }) as ImpedanceUpdated);
    assert.ok(entries.some((e) => e.ack_tally?.accuracy !== null), 'the tallies carry their accuracy');
    // when a new owner restores the entries and folds the acks after the checkpoint, to the end
    const b = new PartitionFold();
    b.restore(entries.map(fromImpedanceUpdated), acksThrough, heartbeats.length - 1);
    acks.slice(acksThrough + 1).forEach((x, i) => b.applyAck(x, acksThrough + 1 + i));
    b.commit();
    // then its counts are the whole log's (x's and y's acks before the checkpoint not counted twice, z's counted once)
    assert.deepEqual(b.accuracyCells(), whole.accuracyCells());
  });
});

describe('impedance processor: the prediction metrics observe each arrival its fold counted, once committed', () => {
  function processor() {
    const store = {
      async writeAgents(_p: number, xs: readonly unknown[]) { return { built: true, applied: xs.length }; },
      async writeSummaries(xs: readonly unknown[]) { return xs.length; },
      async markBuilt() {}, async isBuilt() { return true; }, async writeWatermarks() {}, async watermarks() { return []; },
    } as unknown as RegistryStore;
    return impedanceProcessor({
      store, logger: pino({ level: 'silent' }), summaryPartition: 99, now: () => 0, checkpointMs: 60_000, caughtUpMs: 0,
      restore: async (ps) => new Map(ps.map((p) => [p, new Map()])), readTail: async () => [],
    });
  }
  const ctx = (offset: number) => ({ topic: 'mesh.agent-acks', partition: 0, offset: String(offset), timestampMs: 0, key: 'x' });
  const counts = async (p: ReturnType<typeof processor>) => {
    const m = await p.metrics.registry.getSingleMetricAsString('solvermesh_impedance_predictions_total');
    const of = (result: string) => Number(new RegExp(`result="${result}"} (\\d+)`).exec(m)?.[1] ?? 0);
    return { within: of('within_50ms'), outside: of('outside') };
  };

  it('given a batch aborted and folded again, and a re-sent ack, then each arrival is observed once, after its commit', async () => {
    const p = processor();
    await p.handle(hb({ agent: 'x' }) as never, { ...ctx(0), topic: 'mesh.heartbeats' });
    await p.flush!();
    p.onCommitted!({ topic: 'mesh.heartbeats', partition: 0, lastOffset: '0' });
    const batch = [ackOf({ agent: 'x', message: 'm1', lateMs: 20 }), ackOf({ agent: 'x', message: 'm2', lateMs: 70 })];
    // when a batch of two acks is aborted
    for (const [i, a] of batch.entries()) await p.handle(a as never, ctx(i));
    await p.flush!();
    assert.deepEqual(await counts(p), { within: 0, outside: 0 }, 'nothing observed before the commit');
    await p.onAbort!();
    // and consumed again with a re-sent ack, and committed
    for (const [i, a] of [...batch, batch[0]!].entries()) await p.handle(a as never, ctx(i));
    await p.flush!();
    p.onCommitted!({ topic: 'mesh.agent-acks', partition: 0, lastOffset: '2' });
    // then each arrival was observed once
    assert.deepEqual(await counts(p), { within: 1, outside: 1 });
  });
});
