import assert from 'node:assert/strict';
import { releasePoint, replanShiftUs, scheduleLateness, shiftPlan, type Plan, type Send } from '../../../services/coordinator/dispatch';

// Given sends by 10 ms bucket, when the dispatcher picks its next tick with a transport allowance
// of 100 ms and 50 µs of production per message, then the tick goes at the earliest need of any
// bucket (bucket - 100 ms - its sends so far x 50 µs) and sends through that bucket.
const T0 = 1_767_225_600_000; // ms
const sends = (bucketMs: number, n: number, tag: string): Send[] =>
  Array.from({ length: n }, (_, i) => ({ agentId: `${tag}${String(i).padStart(5, '0')}`, sendAt: (T0 + bucketMs) * 1000, bucketAt: (T0 + bucketMs) * 1000, leadMs: 10, processingMs: 5, confidence: 0.9 }));

describe('dispatch release point (bench-coordination: a broadcast\'s burst before T)', () => {
  it('given 1 send at 0 ms and 10,000 at 300 ms, then the burst needs the tick first: at 300 - 100 - ceil(10,001 x 0.05) = -301 ms, through 300 ms (both buckets)', () => {
    const s = [...sends(0, 1, 'a'), ...sends(300, 10_000, 'b')];
    assert.deepEqual(releasePoint(s, 0, 100, 50), { writeAtMs: T0 - 301, throughUs: (T0 + 300) * 1000 });
  });

  it('given 1 send at 0 ms, 1 at 100 ms and 10,000 at 1000 ms, then one tick per small bucket (-101, then -1 ms) and the burst\'s at 1000 - 100 - 500 = 400 ms', () => {
    const s = [...sends(0, 1, 'a'), ...sends(100, 1, 'b'), ...sends(1000, 10_000, 'c')];
    assert.deepEqual(releasePoint(s, 0, 100, 50), { writeAtMs: T0 - 101, throughUs: T0 * 1000 });
    assert.deepEqual(releasePoint(s, 1, 100, 50), { writeAtMs: T0 - 1, throughUs: (T0 + 100) * 1000 });
    assert.deepEqual(releasePoint(s, 2, 100, 50), { writeAtMs: T0 + 400, throughUs: (T0 + 1000) * 1000 });
  });

  it('given no production allowance, then the next bucket, the transport allowance early (one tick per bucket)', () => {
    const s = [...sends(0, 1, 'a'), ...sends(300, 10_000, 'b')];
    assert.deepEqual(releasePoint(s, 0, 100, 0), { writeAtMs: T0 - 100, throughUs: T0 * 1000 });
  });
});

// Given a plan's sends, when its schedule's record was written at some time, then the sends whose
// tick (bucket - 100 ms) was due before then are late, and the earliest by how much.
describe('dispatch: a schedule that comes after its plan needed it (bench-coordination: a cascade stage whose request -> schedule hop outran its path allowance)', () => {
  const plan = (s: Send[]): Plan => ({ correlationId: 'c', messageId: 'm', targetUs: (T0 + 1000) * 1000, terms: { created_at: T0 * 1000, ttl_ms: 1500, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 2, payload_hash: '', trinary_expectation: 'READY' }, sends: s, skipped: 0, shiftUs: 0 });
  const p = plan([...sends(200, 2, 'a'), ...sends(250, 3, 'b'), ...sends(400, 5, 'c')]);

  it('given the schedule written by the first tick\'s time (200 - 100 = 100 ms), then it is on time', () => {
    assert.equal(scheduleLateness(p, T0 + 100, 100), null);
  });

  it('given it written at 160 ms, then the 5 sends of the 200 and 250 ms buckets (ticks due at 100 and 150 ms) are late, the first by 60 ms', () => {
    assert.deepEqual(scheduleLateness(p, T0 + 160, 100), { lateSends: 5, sends: 10, lateByMs: 60 });
  });

  it('given it written after every tick was due, then every send is late', () => {
    assert.deepEqual(scheduleLateness(p, T0 + 600, 100), { lateSends: 10, sends: 10, lateByMs: 500 });
  });

  it('given its first tick needed at 100 ms and written at 160.4 ms, then the tick shifts the plan by 61 ms (whole ms, never early); once the plan has sent, or was shifted, by nothing', () => {
    const sending = { status: 'sending' as const, plan: p, next: 0, expired: [] };
    assert.equal(replanShiftUs(sending, T0 + 100, T0 + 160.4), 61_000);
    assert.equal(replanShiftUs(sending, T0 + 100, T0 + 90), 0);
    assert.equal(replanShiftUs({ ...sending, next: 2 }, T0 + 100, T0 + 160), 0);
    assert.equal(replanShiftUs({ ...sending, plan: shiftPlan(p, 61_000) }, T0 + 100, T0 + 160), 0);
  });

  it('given a shift of 61 ms, then every send, bucket and T move by it, and the plan says so', () => {
    const q = shiftPlan(p, 61_000);
    assert.deepEqual([q.targetUs - p.targetUs, q.shiftUs, q.sends.map((x, i) => [x.sendAt - p.sends[i]!.sendAt, x.bucketAt - p.sends[i]!.bucketAt, x.agentId === p.sends[i]!.agentId])],
      [61_000, 61_000, p.sends.map(() => [61_000, 61_000, true])]);
  });
});
