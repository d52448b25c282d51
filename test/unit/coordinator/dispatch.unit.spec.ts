import assert from 'node:assert/strict';
import type { DispatchDue, DispatchTerms, ScheduleComputed, ScheduleEntry } from '../../../schemas/generated/events';
import { decide, dispatchEvent, evolve, leftDue, LISTED_EXPIRIES, nextDueAt, NO_DISPATCH, type DispatchInput } from '../../../services/coordinator/dispatch';

// Given/when/then over the dispatch decider: schedule chunks and ticks in partition order, the
// messages and summaries they bring.
const MS = 1000;
const NOW = 1_767_225_600_000_000; // µs, the request's event time
const T = NOW + 3000 * MS;
const CORR = 'corr-d';
const meta = (id: string, at: number) => ({ event_id: id, correlation_id: CORR, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });
const terms: DispatchTerms = { created_at: NOW, ttl_ms: 2000, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 3, payload_hash: 'h-123', trinary_expectation: 'READY' };

const scheduled = (agent: string, leadMs: number): ScheduleEntry => {
  const sendAt = T - leadMs * MS;
  return { agent_id: agent, status: 'SCHEDULED', lead_time_ms: leadMs, send_at: sendAt, expected_processing_ms: leadMs / 2, confidence: 0.7, skip_reason: null, available_ms: null, send_bucket_at: Math.floor(sendAt / 10_000) * 10_000, registry_position: null };
};
const skipped = (agent: string): ScheduleEntry => ({ agent_id: agent, status: 'SKIP', lead_time_ms: 61_000, send_at: null, expected_processing_ms: null, confidence: null, skip_reason: 'INSUFFICIENT_LEAD_TIME', available_ms: 3000, send_bucket_at: null, registry_position: null });
const chunk = (index: number, count: number, entries: ScheduleEntry[], t: DispatchTerms | null = terms): ScheduleComputed => ({
  type: 'ScheduleComputed', meta: meta(`sched-${index}`, NOW), message_id: 'msg-1', target_arrival_time: T, chunk_index: index, chunk_count: count, entries, terms: t, refused_reason: null, restrictions_through: null,
});
const tick = (atUs: number): DispatchDue => ({ type: 'DispatchDue', meta: meta(`tick-${atUs}`, atUs), message_id: 'msg-1', due_at: atUs, shift_us: null, max_sends: null });

function given(...inputs: DispatchInput[]) {
  let d = NO_DISPATCH;
  const events = inputs.map((e) => {
    const out = decide(d, e).map((f) => dispatchEvent(e, f, null)).filter((x) => x !== null);
    d = evolve(d, e);
    return out;
  });
  return { events, state: d };
}

describe('dispatch (seed 002 §3.2 phase 4)', () => {
  // B sends 1,200 ms before T, A and C 1,204 / 1,205 ms before (one 10 ms bucket), D is skipped.
  const a = scheduled('A', 1204), b = scheduled('B', 1200), c = scheduled('C', 1205);
  const bucketAC = a.send_bucket_at!;

  it('given a schedule in two chunks that arrive out of order, when ticks land at the send buckets, then each SCHEDULED agent is sent the message once, in bucket then agent order, and the summary follows the last', () => {
    assert.equal(a.send_bucket_at, c.send_bucket_at);
    const { events, state } = given(chunk(1, 2, [b, skipped('D')]), chunk(0, 2, [c, a]), tick(bucketAC - 1), tick(bucketAC + 3 * MS), tick(b.send_bucket_at! + 1 * MS), tick(T));
    assert.deepEqual(events.map((es) => es.map((e) => (e.type === 'MessageDispatched' ? e.agent_id : e.type))), [[], [], [], ['A', 'C'], ['B', 'DispatchCompleted'], []]);
    const done = events[4]![1]!;
    assert.ok(done.type === 'DispatchCompleted');
    assert.deepEqual([done.dispatched_agent_ids, done.expired, done.skipped_count, done.arrival_window_ms, done.target_arrival_time], [['A', 'C', 'B'], [], 1, 500, T]);
    assert.equal(done.payload_hash, 'h-123', 'the hash of the message sent: the gather checks acks against it');
    assert.equal(state.status, 'done');
  });

  it('then the message carries the seed\'s fields: correlation id, ttl and expiry, payload hash, expected answer, send time, target arrival, compensation', () => {
    const { events } = given(chunk(0, 1, [a]), tick(bucketAC + 2 * MS));
    const m = events[1]![0]!;
    assert.ok(m.type === 'MessageDispatched');
    assert.deepEqual(
      [m.meta.correlation_id, m.agent_id, m.ttl_ms, m.expires_at, m.payload_hash, m.trinary_expectation, m.send_at, m.dispatched_at, m.target_arrival_time, m.priority, m.lead_time_ms, m.expected_processing_ms, m.confidence],
      [CORR, 'A', 2000, NOW + 2000 * MS, 'h-123', 'READY', a.send_at, bucketAC + 2 * MS, T, 3, 1204, 602, 0.7],
    );
  });

  it('given a tick written ahead of its bucket (transport allowance), then it sends that bucket and no later one', () => {
    const early: DispatchDue = { ...tick(bucketAC - 100 * MS), due_at: bucketAC };
    const { events } = given(chunk(0, 1, [a, b, c]), early);
    assert.deepEqual(events[1]!.map((e) => (e.type === 'MessageDispatched' ? [e.agent_id, e.dispatched_at] : e.type)), [['A', bucketAC - 100 * MS], ['C', bucketAC - 100 * MS]]);
  });

  it('given a tick that lands after the ttl ran out (created + 2 s), then the due messages are not sent and the summary says why', () => {
    const late = NOW + 2001 * MS;
    const { events } = given(chunk(0, 1, [a, b]), tick(late));
    assert.deepEqual(events[1]!.map((e) => e.type), ['DispatchCompleted']);
    const done = events[1]![0]!;
    assert.ok(done.type === 'DispatchCompleted');
    assert.deepEqual(done.dispatched_agent_ids, []);
    assert.deepEqual(done.expired, [
      { agent_id: 'A', send_at: a.send_at, expires_at: NOW + 2000 * MS, due_at: late },
      { agent_id: 'B', send_at: b.send_at, expires_at: NOW + 2000 * MS, due_at: late },
    ]);
  });

  it('given a 30,000-agent broadcast whose tick lands after its ttl, then the summary counts all 30,000 expiries and lists the first 100 (the full list was one record over the broker\'s 1 MB limit, and the coordinator retried its transaction forever)', () => {
    const many = Array.from({ length: 30_000 }, (_, i) => scheduled(`S${String(Math.floor(i / 300)).padStart(3, '0')}-C00-A${String(i % 300).padStart(3, '0')}`, 1200 + (i % 7)));
    const { events } = given(chunk(0, 1, many), tick(NOW + 2001 * MS));
    const done = events[1]![0]!;
    assert.ok(done.type === 'DispatchCompleted');
    assert.deepEqual([done.expired_count, done.expired.length, done.dispatched_agent_ids.length], [30_000, 100, 0]);
    assert.equal(LISTED_EXPIRIES, 100);
  });

  it('given a schedule with nothing to send, then the summary comes with its last chunk and no tick is awaited', () => {
    const { events, state } = given(chunk(0, 1, [skipped('D')]));
    assert.deepEqual(events[0]!.map((e) => e.type), ['DispatchCompleted']);
    assert.equal(nextDueAt(state), null);
  });

  it('waits for the next bucket: nextDueAt is the earliest unsent bucket, null once done', () => {
    let d = evolve(NO_DISPATCH, chunk(0, 1, [a, b]));
    assert.equal(nextDueAt(d), bucketAC);
    d = evolve(d, tick(bucketAC));
    assert.equal(nextDueAt(d), b.send_bucket_at);
    d = evolve(d, tick(b.send_bucket_at!));
    assert.equal(nextDueAt(d), null);
  });

  describe('a late schedule re-planned (its first tick written after it was due carries the lateness)', () => {
    // The stage's first send (C, bucket 1,210 ms before T) needed its tick 100 ms before its bucket;
    // the schedule became readable 240 ms after that, and the first tick says so.
    const L = 240 * MS;
    const lateTick = (atUs: number, dueUs: number, shiftUs: number | null): DispatchDue => ({ ...tick(atUs), due_at: dueUs, shift_us: shiftUs });
    const first = lateTick(bucketAC - 100 * MS + L, bucketAC + L, L);

    it('given a plan that has sent nothing, when its first tick carries a shift, then every send time, T, the expiry and the gather\'s T move by it and only the shifted first bucket goes out', () => {
      const { events, state } = given(chunk(0, 1, [a, b, c]), first, lateTick(b.send_bucket_at! + L - 100 * MS, b.send_bucket_at! + L, null));
      assert.deepEqual(events[1]!.map((e) => (e.type === 'MessageDispatched' ? [e.agent_id, e.send_at, e.target_arrival_time, e.expires_at, e.ttl_ms] : e.type)), [
        ['A', a.send_at! + L, T + L, NOW + 2240 * MS, 2240], ['C', c.send_at! + L, T + L, NOW + 2240 * MS, 2240],
      ]);
      const done = events[2]!.at(-1)!;
      assert.ok(done.type === 'DispatchCompleted');
      assert.deepEqual([events[2]!.map((e) => (e.type === 'MessageDispatched' ? e.agent_id : e.type)), done.target_arrival_time], [['B', 'DispatchCompleted'], T + L]);
      assert.equal(state.status, 'done');
    });

    it('given the shifted plan, when a later tick before the shifted bucket lands, then it sends nothing early', () => {
      const { events } = given(chunk(0, 1, [a, b, c]), first, tick(b.send_bucket_at! + 1 * MS));
      assert.deepEqual(events[2], [], 'B\'s bucket moved 240 ms later');
    });

    it('given a plan that has sent already, when a tick carries a shift, then nothing moves (only the first tick may re-plan)', () => {
      const { events } = given(chunk(0, 1, [a, b, c]), tick(bucketAC), lateTick(b.send_bucket_at!, b.send_bucket_at!, L));
      assert.deepEqual(events[2]!.map((e) => (e.type === 'MessageDispatched' ? [e.agent_id, e.target_arrival_time] : e.type)), [['B', T], 'DispatchCompleted']);
    });

    it('given the same late inputs twice (a replay), then the same shifted events', () => {
      const inputs = [chunk(0, 1, [a, b, c]), first, tick(T + L)];
      assert.deepEqual(given(...inputs).events, given(...inputs).events);
    });
  });

  describe('a large release bounded per tick (max_sends)', () => {
    const many = Array.from({ length: 5 }, (_, i) => scheduled(`M${i}`, 1200 + i));
    // written ahead of the buckets, due through T - 1,100 ms: all 5 due
    const bounded = (atUs: number, max: number | null): DispatchDue => ({ ...tick(atUs), meta: meta(`btick-${atUs}`, atUs), due_at: T - 1100 * MS, max_sends: max });

    it('given 5 sends due and ticks bounded at 2, then each tick sends at most 2, says it left some due, and the third sends the last with the summary', () => {
      const at = T - 1500 * MS;
      let d = NO_DISPATCH;
      const sent: string[][] = [];
      const left: boolean[] = [];
      for (const x of [chunk(0, 1, many), bounded(at, 2), bounded(at + 1 * MS, 2), bounded(at + 2 * MS, 2)] as DispatchInput[]) {
        sent.push(decide(d, x).map((f) => (f.kind === 'sent' ? f.send.agentId : f.kind)));
        d = evolve(d, x);
        if (x.type === 'DispatchDue') left.push(leftDue(d, x));
      }
      assert.deepEqual(sent, [[], ['M1', 'M2'], ['M3', 'M4'], ['M0', 'completed']], 'in bucket, then agent order');
      assert.deepEqual(left, [true, true, false]);
      assert.equal(d.status, 'done');
    });

    it('given an unbounded tick (max_sends null, as older writers wrote), then every due send goes out at once', () => {
      const { events } = given(chunk(0, 1, many), bounded(T - 1500 * MS, null));
      assert.equal(events[1]!.length, 6);
    });
  });

  it('given the same inputs twice (a replay), then the same events with the same ids', () => {
    const inputs = [chunk(0, 1, [a, b, c]), tick(bucketAC), tick(T)];
    assert.deepEqual(given(...inputs).events, given(...inputs).events);
  });

  it('given a schedule written before it carried terms, then ttl until T + 500 ms (at least 1 s), window 500 ms, READY expected', () => {
    const { events } = given(chunk(0, 1, [a], null), tick(T + 499 * MS), chunk(0, 1, [a], null));
    const done = events[1]!.find((e) => e.type === 'DispatchCompleted');
    assert.ok(done?.type === 'DispatchCompleted');
    assert.deepEqual([done.dispatched_agent_ids, done.arrival_window_ms, done.minimum_response_rate], [['A'], 500, 0.95]);
    assert.deepEqual(events[2], [], 'a chunk seen again after the dispatch is done sends nothing');
  });
});
