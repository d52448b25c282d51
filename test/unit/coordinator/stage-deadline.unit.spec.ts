import assert from 'node:assert/strict';
import type { CascadeRequested, CascadeStage, CascadeStageTimedOut, DispatchDue, ScheduleComputed, ScheduleEntry } from '../../../schemas/generated/events';
import { awaited, NO_CASCADE, stageCorrelationId, step, type Cascade, type CascadeInput } from '../../../services/coordinator/cascade';
import { dispatchStep, heldDeadline, NO_DISPATCH, type Dispatch, type DispatchInput } from '../../../services/coordinator/dispatch';

// A cascade stage's deadline follows the stage's shift (issue 18): the cascade's deadline tick is
// written to the stage's partition of mesh.schedules, where the tick that shifts a late stage also
// lands, and the dispatch passes it on to the cascade only once due at deadline + shift. Given the
// stage's partition and the cascade's in log order, the pure deciders of both.
const MS = 1000;
const T0 = 1_767_225_600_000_000; // µs, the cascade's request
const ID = 'cascade-late';
const S0 = stageCorrelationId(ID, 0);
const meta = (id: string, correlation: string, at: number) => ({ event_id: id, correlation_id: correlation, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });

// One stage: T = start + 300 ms, window 200 ms, timeout 1 s: its deadline T0 + 1.5 s.
const STAGE: CascadeStage = { label: 'leads', targets: ['A', 'B'], priority: 0, lead_ms: 300, arrival_window_ms: 200, minimum_response_rate: 0.95, timeout_ms: 1000 };
const request: CascadeRequested = { type: 'CascadeRequested', meta: meta('req', ID, T0), strategy: 'WAVE', stages: [STAGE], payload_weight: 0, priority: 2, source_agent_id: 'orchestrator' };
const DEADLINE = T0 + 1500 * MS;
const T = T0 + 300 * MS;

const entry = (agent: string, leadMs: number): ScheduleEntry => ({
  agent_id: agent, status: 'SCHEDULED', lead_time_ms: leadMs, send_at: T - leadMs * MS, expected_processing_ms: 10, confidence: 0.9,
  skip_reason: null, available_ms: null, send_bucket_at: Math.floor((T - leadMs * MS) / 10_000) * 10_000, registry_position: null,
});
const schedule: ScheduleComputed = {
  type: 'ScheduleComputed', meta: meta('sched', S0, T0 + 20 * MS), message_id: 'msg-s0', target_arrival_time: T, chunk_index: 0, chunk_count: 1,
  entries: [entry('A', 100), entry('B', 50)], refused_reason: null, restrictions_through: null,
  terms: { created_at: T0, ttl_ms: 500, arrival_window_ms: 200, minimum_response_rate: 0.95, priority: 2, payload_hash: '', trinary_expectation: 'READY' },
};
/** A send tick written at `atMs` after the request, for the first bucket, carrying `shiftMs`. */
const sendTick = (atMs: number, shiftMs: number | null, dueUs = schedule.entries[0]!.send_bucket_at!): DispatchDue => ({
  type: 'DispatchDue', meta: meta(`tick-${atMs}`, S0, T0 + atMs * MS), message_id: 'msg-s0', due_at: dueUs + (shiftMs ?? 0) * MS, shift_us: shiftMs === null ? null : shiftMs * MS, max_sends: null,
});
/** The cascade's deadline tick for the stage, written at `atMs` onto the stage's partition. */
const deadlineTick = (atMs: number): CascadeStageTimedOut => ({
  type: 'CascadeStageTimedOut', meta: meta(`deadline-${atMs}`, S0, T0 + atMs * MS), stage_index: 0, deadline_at: DEADLINE, applied_through: null,
});

/** The stage's partition folded: what its dispatch passes on to the cascade, and its state after. */
function dispatchOf(...inputs: DispatchInput[]): { passed: Array<{ at: number; tick: CascadeStageTimedOut }>; state: Dispatch } {
  let d = NO_DISPATCH;
  const passed: Array<{ at: number; tick: CascadeStageTimedOut }> = [];
  inputs.forEach((x, at) => {
    const s = dispatchStep(d, x, null);
    if (s.deadline) passed.push({ at, tick: s.deadline });
    d = s.after;
  });
  return { passed, state: d };
}

function cascadeOf(...inputs: CascadeInput[]): Cascade {
  let c = NO_CASCADE;
  for (const x of inputs) c = step(c, x).next;
  return c;
}

describe('cascade stage deadline moved by the stage\'s shift (issue 18)', () => {
  it('given the stage started, then its deadline tick goes to the stage\'s own partition, named by the stage\'s correlation id', () => {
    assert.deepEqual(awaited(cascadeOf(request)), [{ index: 0, correlationId: S0, deadlineUs: DEADLINE }]);
  });

  it('given a coordinator back 5 s late on a backlog: its deadline tick written before the tick that shifts the stage by 4,830 ms, then the deadline is held, due at deadline + shift, and passed on only then', () => {
    const shift = 4830;
    // the partition: the schedule, the deadline tick written at 5 s (past the deadline), then the shifted first send tick
    const s = dispatchOf(schedule, deadlineTick(5000), sendTick(5010, shift));
    assert.deepEqual(s.passed, [], 'not passed on before the shift is known');
    assert.deepEqual(heldDeadline(s.state)?.dueAt, DEADLINE + shift * MS, 'due at the deadline moved by the shift');
    // written again (the dispatch processor's timer) 1 ms early, then at the moved time
    const early = dispatchOf(schedule, deadlineTick(5000), sendTick(5010, shift), deadlineTick(1500 + shift - 1));
    assert.deepEqual(early.passed, []);
    const due = dispatchOf(schedule, deadlineTick(5000), sendTick(5010, shift), deadlineTick(1500 + shift - 1), deadlineTick(1500 + shift), deadlineTick(1500 + shift + 5));
    assert.deepEqual(due.passed.map((x) => [x.at, x.tick.meta.correlation_id, x.tick.stage_index, x.tick.deadline_at, x.tick.meta.occurred_at]), [[4, ID, 0, DEADLINE, T0 + (1500 + shift) * MS]], 'passed on once, to the cascade\'s partition, naming the deadline the cascade armed');
    // and the cascade, given the stage's decision at T + shift + window before that, goes on: its stage SUCCESS, not TIMED_OUT
    const decidedAtUs = T + (shift + 150) * MS;
    const decidedCopy: CascadeInput = {
      type: 'CascadeStageDecided', meta: meta('decided', ID, decidedAtUs), stage_index: 0, stage_correlation_id: S0, decision: 'PROCEED', success: true, ready_count: 2, sent_count: 2, applied_through: null, stepped: null,
    };
    const out = [request, decidedCopy, due.passed[0]!.tick].reduce<{ c: Cascade; outcomes: string[] }>((acc, x) => {
      const r = step(acc.c, x);
      return { c: r.next, outcomes: [...acc.outcomes, ...r.out.flatMap((e) => (e.type === 'CascadeCompleted' ? [`${e.status}:${e.stages[0]!.outcome}`] : []))] };
    }, { c: NO_CASCADE, outcomes: [] });
    assert.deepEqual(out.outcomes, ['SUCCESS:SUCCESS']);
  });

  it('given the shift known before the deadline tick, then a tick at the unshifted deadline is held and the one at deadline + shift passes it on', () => {
    const shift = 700;
    const s = dispatchOf(schedule, sendTick(800, shift), deadlineTick(1500), deadlineTick(1500 + shift));
    assert.deepEqual(s.passed.map((x) => x.at), [3]);
  });

  it('given a stage sent on time (no shift), then its deadline tick is passed on at once', () => {
    const s = dispatchOf(schedule, sendTick(150, null), deadlineTick(1500));
    assert.deepEqual(s.passed.map((x) => [x.at, x.tick.deadline_at]), [[2, DEADLINE]]);
  });

  it('given no schedule read by the deadline, then it is passed on at once, and a schedule read after it is never sent', () => {
    const s = dispatchOf(deadlineTick(1500), schedule, sendTick(1600, 1400));
    assert.deepEqual(s.passed.map((x) => x.at), [0]);
    assert.equal(s.state.status, 'done');
    let d = NO_DISPATCH;
    const sent = [deadlineTick(1500), schedule, sendTick(1600, 1400)].flatMap((x) => { const r = dispatchStep(d, x, null); d = r.after; return r.events; });
    assert.deepEqual(sent, []);
  });

  it('given a stage deadline tick passed on, then later ones pass nothing on; a tick for a coordination that is no cascade stage is passed over', () => {
    const s = dispatchOf(schedule, sendTick(150, null), deadlineTick(1500), deadlineTick(1600));
    assert.deepEqual(s.passed.map((x) => x.at), [2]);
    const other = { ...deadlineTick(1500), meta: meta('x', 'corr-plain', T0 + 1500 * MS) };
    assert.deepEqual(dispatchOf(other).passed, []);
  });
});
