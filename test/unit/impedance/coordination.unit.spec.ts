import assert from 'node:assert/strict';
import type { ScheduleComputed, ScheduleEntry } from '../../../schemas/generated/events';
import { coordinationRequested, parseArrival, ScheduleGather, scheduleLine, summarizeSchedule } from '../../../services/impedance/coordination';
import { schemaValidator } from '../../../services/runtime/validation';

const NOW = 1_790_000_000_000_000;
const T = NOW + 2_000_000;

const scheduled = (id: string, sendAt: number, confidence: number): ScheduleEntry => ({
  agent_id: id, status: 'SCHEDULED', lead_time_ms: (T - sendAt) / 1000, send_at: sendAt, expected_processing_ms: 10, confidence,
  skip_reason: null, available_ms: null, send_bucket_at: sendAt - (sendAt % 10_000), registry_position: null,
});
const skipped = (id: string): ScheduleEntry => ({
  agent_id: id, status: 'SKIP', lead_time_ms: 60_000, send_at: null, expected_processing_ms: null, confidence: null,
  skip_reason: 'INSUFFICIENT_LEAD_TIME', available_ms: 2000, send_bucket_at: null, registry_position: null,
});

describe('coordination requests and schedule summaries (pure)', () => {
  it('given targets and T, when the request is built, then it passes the decode-time validation and keeps what was asked', () => {
    const r = coordinationRequested({ targets: ['cluster:S000-C00', ' agent-7 '], arrivalAtUs: T, nowUs: NOW, weight: 1.5, capabilities: ['nlp'] });
    assert.deepEqual(schemaValidator()(r), []);
    assert.deepEqual(r.target_agent_ids, ['cluster:S000-C00', 'agent-7']);
    assert.equal(r.target_arrival_time, T);
    assert.equal(r.payload_weight, 1.5);
    assert.equal(r.ttl_ms, 2500, 'until T plus the 500 ms window');
    assert.equal(r.meta.correlation_id, r.message_id.slice(4));
  });

  it('given bad values, then the error names them', () => {
    const base = { targets: ['class:A'], arrivalAtUs: T, nowUs: NOW };
    assert.throws(() => coordinationRequested({ ...base, targets: [' '] }), /no targets/);
    assert.throws(() => coordinationRequested({ ...base, targets: ['class:G'] }), /classes are A to F/);
    assert.throws(() => coordinationRequested({ ...base, weight: -1 }), /payload weight/);
    assert.throws(() => coordinationRequested({ ...base, priority: 4 }), /priority/);
    assert.throws(() => coordinationRequested({ ...base, verb: 'SHOUT' }), /verb "SHOUT": use one of OBSERVE/);
    assert.throws(() => coordinationRequested({ ...base, windowMs: 1.5 }), /arrival window/);
  });

  it('given +2s, +500ms, an ISO time or µs, then T is µs since the epoch; anything else is refused', () => {
    assert.equal(parseArrival('+2s', NOW), NOW + 2_000_000);
    assert.equal(parseArrival('+500ms', NOW), NOW + 500_000);
    assert.equal(parseArrival('+1m', NOW), NOW + 60_000_000);
    assert.equal(parseArrival('2026-11-23T12:00:00.250Z', NOW), Date.parse('2026-11-23T12:00:00.250Z') * 1000);
    assert.equal(parseArrival(String(T), NOW), T);
    assert.throws(() => parseArrival('1790000000000', NOW), /16 digits/);
    assert.throws(() => parseArrival('soon', NOW), /--at "soon"/);
  });

  it('given the chunks of a schedule out of order and another request\'s chunk, then the gather completes with only its own entries, in chunk order', () => {
    const chunk = (corr: string, index: number, count: number, entries: ScheduleEntry[]): ScheduleComputed => ({
      type: 'ScheduleComputed', meta: { event_id: `${corr}-${index}`, correlation_id: corr, causation_id: null, occurred_at: NOW, producer: 't', sequence: null },
      message_id: `msg-${corr}`, target_arrival_time: T, chunk_index: index, chunk_count: count, entries, terms: null, refused_reason: null, restrictions_through: null,
    });
    const g = new ScheduleGather('c1');
    assert.equal(g.add(chunk('c1', 1, 2, [skipped('b')])), true);
    assert.equal(g.complete, false);
    assert.equal(g.add(chunk('c2', 0, 1, [skipped('x')])), false);
    g.add(chunk('c1', 0, 2, [scheduled('a', T - 50_000, 0.9)]));
    assert.equal(g.complete, true);
    assert.deepEqual(g.entries().map((e) => e.agent_id), ['a', 'b']);
    assert.equal(g.targetArrivalUs, T);
  });

  it('given sends 150 and 42 ms before T in two buckets and a skip, then the summary counts them and the line says so', () => {
    const s = summarizeSchedule([scheduled('a', T - 150_000, 0.9), scheduled('b', T - 42_000, 0.7), scheduled('c', T - 41_000, 0.8), skipped('d')], T);
    assert.deepEqual(s, { scheduled: 3, skipped: { INSUFFICIENT_LEAD_TIME: 1 }, buckets: 2, firstSendMsBeforeT: 150, lastSendMsBeforeT: 41, meanConfidence: 0.8000000000000002 });
    assert.equal(scheduleLine(s), '3 SCHEDULED, SKIP: 1 INSUFFICIENT_LEAD_TIME; sends in 2 bucket(s) of 10 ms, from 150 to 41 ms before T, mean confidence 0.80');
    assert.equal(scheduleLine(summarizeSchedule([skipped('d')], T)), '0 SCHEDULED, SKIP: 1 INSUFFICIENT_LEAD_TIME; nothing to send');
  });
});
