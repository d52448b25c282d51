import assert from 'node:assert/strict';
import type { CoordinationRequested } from '../../../schemas/generated/events';
import { validateEvent } from '../../../schemas/validate';
import { computeSchedule, confidence, estimateProcessingMs, parseTarget, sendBuckets, type ScheduleAgent } from '../../../services/impedance/schedule';
import { close, S, T0 } from './helpers';

const NOW = T0;
const MS = 1000;

function request(targetInMs: number, over: Partial<CoordinationRequested> = {}): CoordinationRequested {
  return {
    type: 'CoordinationRequested',
    meta: { event_id: '6f1c1d8e-9b7a-5c3d-8e2f-1a2b3c4d5e6f', correlation_id: 'corr-1', causation_id: null, occurred_at: NOW, producer: 'test', sequence: null },
    message_id: 'msg-1', source_agent_id: 'orchestrator', target_agent_ids: ['c1'], routing_strategy: 'SCATTER_GATHER',
    target_arrival_time: NOW + targetInMs * MS, ttl_ms: 5000, arrival_window_ms: 500, minimum_response_rate: 0.95, priority: 2,
    payload_weight: 1, requires_capabilities: [], verb: 'ACT', payload: Buffer.from('x'), payload_hash: 'h', trinary_expectation: 'READY', applied_through: null,
    ...over,
  };
}

// class C, L 200, P 200 measured, Q 1, drift 0.1, R 0.9, heard from 2 s ago
const c1: ScheduleAgent = {
  agentId: 'c1', agentClass: 'CLASS_C_PERSISTENT', latencyMs: 200, processingMs: 200, sampleCount: 12, queueDepth: 1, drift: 0.1,
  reliability: 0.9, lastHeartbeatAt: NOW - 2 * S, state: 'ACTIVE', capabilities: ['batch', 'reasoning'], clusterId: 'S000-C00', sectorId: 'S000',
};

describe('impedance: send schedules (seed 002 §3.1-3.2)', () => {
  it('processing estimate = base * (1 + 0.5 w) * (1 + 0.1 Q), base measured or the class table', () => {
    close(estimateProcessingMs(c1, 1), 330); // 200 * 1.5 * 1.1
    close(estimateProcessingMs({ agentClass: 'CLASS_A_EDGE', processingMs: 0, sampleCount: 0, queueDepth: 0 }, 1), 15);
    close(estimateProcessingMs({ agentClass: 'CLASS_F_HUMAN', processingMs: 0, sampleCount: 0, queueDepth: 2 }, 0), 72_000);
  });

  it('confidence = clamp(0.5 R - 0.3 drift + 0.2 if heard from within 10 s)', () => {
    close(confidence(c1, NOW), 0.62);
    close(confidence({ ...c1, lastHeartbeatAt: NOW - 11 * S }, NOW), 0.42);
    assert.equal(confidence({ ...c1, drift: 3 }, NOW), 0);
  });

  it('SCHEDULED: send_at = T - (L/2 + processing + drift buffer), in its 10 ms bucket', () => {
    // lead = 100 + 330 + 0.1 * 200 = 450 ms; T = now + 1000 ms -> send at now + 550 ms
    const [chunk] = computeSchedule(request(1000), ['c1'], () => c1);
    const e = chunk!.entries[0]!;
    assert.equal(e.status, 'SCHEDULED');
    close(e.lead_time_ms, 450, 1e-9, 'lead');
    assert.equal(e.send_at, NOW + 550 * MS);
    assert.equal(e.send_bucket_at, NOW + 550 * MS);
    close(e.expected_processing_ms, 330);
    close(e.confidence, 0.62);
    assert.deepEqual(validateEvent(chunk!), []);
  });

  it('capabilities match partially above 70% (seed 003): 3 of 4 scheduled, 2 of 3 SKIP MISSING_CAPABILITY', () => {
    const four = { ...c1, agentId: 'four', capabilities: ['a', 'b', 'c'] };
    const three = { ...c1, agentId: 'three', capabilities: ['a', 'b', 'x'] };
    const at = (caps: string[], a: ScheduleAgent) => computeSchedule(request(5000, { target_agent_ids: [a.agentId], requires_capabilities: caps }), [a.agentId], () => a)[0]!.entries[0]!;
    assert.equal(at(['a', 'b', 'c', 'd'], four).status, 'SCHEDULED'); // 3/4 = 0.75
    assert.equal(at(['a', 'b', 'c'], three).skip_reason, 'MISSING_CAPABILITY'); // 2/3 = 0.667
  });

  it('SKIP insufficient_lead_time with the would-need and available times', () => {
    const e = computeSchedule(request(400), ['c1'], () => c1)[0]!.entries[0]!;
    assert.equal(e.status, 'SKIP');
    assert.equal(e.skip_reason, 'INSUFFICIENT_LEAD_TIME');
    close(e.lead_time_ms, 450);
    assert.equal(e.available_ms, 400);
    assert.equal(e.send_at, null);
  });

  it('SKIP unknown, offline and incapable agents; schedules are in bucket order and chunked', () => {
    const fast: ScheduleAgent = { ...c1, agentId: 'a1', agentClass: 'CLASS_A_EDGE', latencyMs: 12, processingMs: 10, queueDepth: 0, drift: 0 };
    const fast2: ScheduleAgent = { ...fast, agentId: 'a2', latencyMs: 14 };
    const agents = new Map<string, ScheduleAgent>([['c1', c1], ['a1', fast], ['a2', fast2], ['off', { ...c1, agentId: 'off', state: 'OFFLINE' }]]);
    const req = request(1000, { requires_capabilities: ['batch'] });
    const noCap: ScheduleAgent = { ...c1, agentId: 'nocap', capabilities: ['other'] };
    agents.set('nocap', noCap);
    const chunks = computeSchedule(req, ['a2', 'ghost', 'c1', 'off', 'a1', 'nocap', 'a1'], (id) => agents.get(id), 2);
    const entries = chunks.flatMap((c) => c.entries);
    assert.deepEqual(entries.map((e) => `${e.agent_id}:${e.status}${e.skip_reason ? `:${e.skip_reason}` : ''}`), [
      'c1:SCHEDULED', 'a1:SCHEDULED', 'a2:SCHEDULED', 'ghost:SKIP:UNKNOWN_AGENT', 'nocap:SKIP:MISSING_CAPABILITY', 'off:SKIP:AGENT_OFFLINE',
    ]);
    assert.deepEqual(chunks.map((c) => [c.chunk_index, c.chunk_count]), [[0, 3], [1, 3], [2, 3]]);
    // a1: lead 6 + 15 = 21 ms -> 979 ms; a2: 7 + 15 = 22 ms -> 978 ms: same 970 ms bucket
    const buckets = sendBuckets(chunks);
    assert.deepEqual(buckets.get(NOW + 970 * MS), ['a1', 'a2']);
    assert.deepEqual(buckets.get(NOW + 550 * MS), ['c1']);
    for (const c of chunks) assert.deepEqual(validateEvent(c), []);
  });

  it('targets may select by class, cluster, sector or capability', () => {
    assert.deepEqual(parseTarget('class:CLASS_A_EDGE'), { kind: 'class', value: 'CLASS_A_EDGE' });
    assert.deepEqual(parseTarget('capability:llm_inference'), { kind: 'capability', value: 'llm_inference' });
    assert.deepEqual(parseTarget('S001-C01-A01'), { kind: 'agent', id: 'S001-C01-A01' });
  });
});
