import assert from 'node:assert/strict';
import type {
  CascadeCompleted, CascadeRequested, CascadeStage, CascadeStageDecided, CascadeStageTimedOut, CascadeStrategy, CoordinationRequested, QuorumDecided,
} from '../../../schemas/generated/events';
import { NO_CASCADE, stageCorrelationId, stageDecidedOf, stageOf, step, type CascadeInput, type CascadeOutput } from '../../../services/coordinator/cascade';

// Given/when/then over the cascade decider (seed 002 §3.3): inputs in partition order, the events out.
const T0 = 1_767_225_600_000_000; // µs
const MS = 1000;
const ID = 'cascade-1';
const meta = (id: string, at: number) => ({ event_id: id, correlation_id: ID, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });

const stage = (label: string, targets: string[], min: number, o: Partial<CascadeStage> = {}): CascadeStage => ({
  label, targets, priority: 0, lead_ms: 300, arrival_window_ms: 200, minimum_response_rate: min, timeout_ms: 1000, ...o,
});
// The seed's wave: sector coordinators (window 200 ms, 0.98), then cluster leads, then agents.
const WAVE = [stage('sector coordinators', ['S000-C00-A000', 'S001-C00-A000'], 0.98), stage('cluster leads', ['cluster:S000-C00'], 0.95), stage('agents', ['sector:S000'], 0.95)];
const request = (strategy: CascadeStrategy, stages: CascadeStage[]): CascadeRequested => ({
  type: 'CascadeRequested', meta: meta('req', T0), strategy, stages, payload_weight: 0, priority: 2, source_agent_id: 'orchestrator',
});
const decided = (index: number, atMs: number, success = true, ready = 10, sent = 10): CascadeStageDecided => ({
  type: 'CascadeStageDecided', meta: meta(`d${index}-${atMs}`, T0 + atMs * MS), stage_index: index, stage_correlation_id: stageCorrelationId(ID, index),
  decision: success ? 'PROCEED' : 'RETRY', success, ready_count: ready, sent_count: sent, applied_through: null, stepped: null,
});
const timedOut = (index: number, deadlineUs: number, atMs: number): CascadeStageTimedOut => ({
  type: 'CascadeStageTimedOut', meta: meta(`t${index}`, T0 + atMs * MS), stage_index: index, deadline_at: deadlineUs, applied_through: null,
});

function given(...inputs: CascadeInput[]): Array<{ at: number; e: CascadeOutput }> {
  let c = NO_CASCADE;
  const out: Array<{ at: number; e: CascadeOutput }> = [];
  inputs.forEach((x, at) => {
    const s = step(c, x);
    out.push(...s.out.map((e) => ({ at, e })));
    c = s.next;
  });
  return out;
}
const requests = (out: ReturnType<typeof given>) => out.flatMap((o) => (o.e.type === 'CoordinationRequested' ? [{ at: o.at, e: o.e as CoordinationRequested }] : []));
const completion = (out: ReturnType<typeof given>): CascadeCompleted => {
  const c = out.filter((o) => o.e.type === 'CascadeCompleted');
  assert.equal(c.length, 1, 'one CascadeCompleted');
  return c[0]!.e as CascadeCompleted;
};

describe('cascade (seed 002 §3.3)', () => {
  it('given a wave of 3 stages, when each stage decides SUCCESS, then the next starts at that decision\'s event time and the cascade ends SUCCESS with latency = last decision - request', () => {
    const out = given(request('WAVE', WAVE), decided(0, 250, true, 2, 2), decided(1, 600, true, 30, 30), decided(2, 950, true, 290, 300));
    const rs = requests(out);
    assert.deepEqual(rs.map((r) => r.at), [0, 1, 2], 'one stage per fact, in order');
    assert.deepEqual(rs.map((r) => r.e.meta.correlation_id), ['cascade-1.s0', 'cascade-1.s1', 'cascade-1.s2']);
    // stage 1 starts at T0 + 250 ms: T = start + lead 300 ms = T0 + 550 ms; the seed's 0.98 for the sector coordinators
    assert.deepEqual([rs[1]!.e.meta.occurred_at, rs[1]!.e.target_arrival_time], [T0 + 250 * MS, T0 + 550 * MS]);
    assert.deepEqual(rs.map((r) => r.e.minimum_response_rate), [0.98, 0.95, 0.95]);
    assert.deepEqual(rs.map((r) => r.e.arrival_window_ms), [200, 200, 200]);
    const c = completion(out);
    assert.deepEqual([c.status, c.failed_stage, c.latency_us, c.agents_reached], ['SUCCESS', null, 950 * MS, 2 + 30 + 290]);
    assert.deepEqual(c.stages.map((s) => [s.outcome, s.started_at, s.ended_at]), [
      ['SUCCESS', T0, T0 + 250 * MS], ['SUCCESS', T0 + 250 * MS, T0 + 600 * MS], ['SUCCESS', T0 + 600 * MS, T0 + 950 * MS],
    ]);
  });

  it('given a wave, when the sector coordinators reach 97% READY (< 0.98), then FAILED at stage 0 (FAILED_AT_SECTOR) and no later stage is requested', () => {
    const out = given(request('WAVE', WAVE), decided(0, 240, false, 97, 100), decided(1, 500));
    assert.equal(requests(out).length, 1);
    const c = completion(out);
    assert.deepEqual([c.status, c.failed_stage, c.latency_us], ['FAILED', 0, 240 * MS]);
    assert.deepEqual(c.stages.map((s) => s.outcome), ['DEGRADED', 'NOT_STARTED', 'NOT_STARTED']);
    assert.deepEqual([c.stages[0]!.decision, c.stages[1]!.correlation_id], ['RETRY', null]);
  });

  it('given a parallel cascade, when its stages decide in any order, then all were requested at once and it ends at the last: PARTIAL when one is short of SUCCESS', () => {
    const out = given(request('PARALLEL', WAVE), decided(2, 700, true), decided(0, 400, false), decided(1, 820, true));
    assert.deepEqual(requests(out).map((r) => r.at), [0, 0, 0]);
    const c = completion(out);
    assert.deepEqual([c.status, c.failed_stage, c.latency_us], ['PARTIAL', null, 820 * MS]);
    assert.deepEqual(out.at(-1)!.at, 3, 'ended by the last decision');
  });

  it('given priority_first with stages given A, D, C (priorities 1, 4, 3), then they run D, C, A, a degraded stage does not stop it, and it ends COMPLETE', () => {
    const stages = [stage('CLASS_A_EDGE', ['class:A'], 0.90, { priority: 1 }), stage('CLASS_D_GPU', ['class:D'], 0.99, { priority: 4 }), stage('CLASS_C_PERSISTENT', ['class:C'], 0.98, { priority: 3 })];
    const out = given(request('PRIORITY_FIRST', stages), decided(1, 300, false), decided(2, 650, true), decided(0, 900, true));
    assert.deepEqual(requests(out).map((r) => r.e.target_agent_ids), [['class:D'], ['class:C'], ['class:A']]);
    const c = completion(out);
    assert.deepEqual([c.status, c.latency_us], ['COMPLETE', 900 * MS]);
    assert.deepEqual(c.stages.map((s) => s.outcome), ['SUCCESS', 'DEGRADED', 'SUCCESS']);
  });

  it('given a wave stage started at T0 (lead 300, window 200, timeout 1000 ms), when its deadline record lands before a decision, then TIMED_OUT ends the wave; the late decision changes nothing', () => {
    const deadline = T0 + (300 + 200 + 1000) * MS;
    const out = given(request('WAVE', WAVE), timedOut(0, deadline - 1, 1500), timedOut(0, deadline, 1502), decided(0, 1600));
    const c = completion(out);
    assert.equal(out.at(-1)!.at, 2, 'a record for another deadline is ignored; the stage\'s own ends it');
    assert.deepEqual([c.status, c.failed_stage, c.latency_us, c.stages[0]!.outcome], ['FAILED', 0, 1502 * MS, 'TIMED_OUT']);
  });

  it('given a request with a stage the impedance service would dead-letter (class:Z), then FAILED at that stage without requesting any', () => {
    const out = given(request('PARALLEL', [WAVE[0]!, stage('bad', ['class:Z'], 0.9)]));
    assert.equal(requests(out).length, 0);
    const c = completion(out);
    assert.deepEqual([c.status, c.failed_stage, c.latency_us], ['FAILED', 1, 0]);
  });

  it('given the same inputs twice, then the same events bit for bit (ids derived, times from the inputs)', () => {
    const inputs = [request('WAVE', WAVE), decided(0, 250), decided(1, 600), decided(2, 950)];
    assert.deepEqual(given(...inputs), given(...inputs));
    assert.deepEqual(given(request('WAVE', WAVE), request('WAVE', WAVE)).length, 1, 'a second request for the same id starts nothing');
  });

  it('given a stage\'s QuorumDecided on mesh.acks, then its copy names the cascade and stage; a coordination that is no stage has none', () => {
    const q = { type: 'QuorumDecided', meta: { ...meta('q1', T0 + 5), correlation_id: 'cascade-1.s2' }, decision: 'PROCEED', gather_status: 'SUCCESS', ready_count: 7, sent_count: 8 } as unknown as QuorumDecided;
    const d = stageDecidedOf(q)!;
    assert.deepEqual([d.meta.correlation_id, d.stage_index, d.stage_correlation_id, d.success, d.ready_count, d.meta.occurred_at, d.meta.causation_id], ['cascade-1', 2, 'cascade-1.s2', true, 7, T0 + 5, 'q1']);
    assert.equal(stageDecidedOf({ ...q, meta: { ...q.meta, correlation_id: '2f6c1e9a-0000-4000-8000-000000000000' } }), null);
    assert.deepEqual(stageOf('a.b.s12'), { cascadeId: 'a.b', index: 12 });
  });
});
