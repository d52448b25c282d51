// A cascade (seed 002 §3.3) as chained coordinations, in the order of its mesh.cascades
// partition: the request starts its first stages; each stage's decision (copied from mesh.acks)
// or its deadline ends that stage and, by the strategy, starts the next or ends the cascade.
//   WAVE            one stage after another; the first stage short of SUCCESS stops it: FAILED
//                   (FAILED_AT_SECTOR when it is the first), the rest NOT_STARTED; else SUCCESS
//   PARALLEL        every stage at once; SUCCESS when all are SUCCESS, else PARTIAL
//   PRIORITY_FIRST  by descending priority, one after another, going on past a degraded stage
//                   ("continue anyway, just note the degradation"): COMPLETE
// A stage's T is its start + lead; its deadline T + window + timeout, passed on by the stage's
// dispatch once due, later by the stage's shift (dispatch.ts stageDeadlinePassed). Its start is the event time
// of the fact that started it, so a replay requests the same stages with the same times and ids.
// latency = the ending fact's event time - the request's (the KPI cascade_latency_p95, §11.1).
// Pure: time and ids come from the inputs.
import type {
  CascadeCompleted, CascadeRequested, CascadeStageDecided, CascadeStageOutcome, CascadeStageResult, CascadeStageTimedOut,
  CascadeStatus, CascadeStrategy, CoordinationRequested, InputPosition, QuorumDecided,
} from '../../schemas/generated/events';
import { coordinationRequested } from '../impedance/coordination';
import { derivedEventId } from '../runtime/ids';
import { PRODUCER } from './conflicts';

export type CascadeInput = CascadeRequested | CascadeStageDecided | CascadeStageTimedOut;
export type CascadeOutput = CoordinationRequested | CascadeCompleted;

type Ended = { readonly state: 'ended'; readonly correlationId: string; readonly startedUs: number; readonly endedUs: number; readonly outcome: Exclude<CascadeStageOutcome, 'NOT_STARTED'>; readonly decision: string | null; readonly ready: number; readonly sent: number };
export type StageRun =
  | { readonly state: 'pending' }
  | { readonly state: 'started'; readonly correlationId: string; readonly startedUs: number; readonly deadlineUs: number }
  | Ended;

export type Cascade =
  | { readonly status: 'none' }
  | { readonly status: 'running'; readonly request: CascadeRequested; readonly order: readonly number[]; readonly runs: readonly StageRun[] }
  | { readonly status: 'done' };

export const NO_CASCADE: Cascade = { status: 'none' };

/** The correlation id of a cascade's stage: the cascade's id and the stage, so a decision names its cascade. */
export const stageCorrelationId = (cascadeId: string, index: number) => `${cascadeId}.s${index}`;

export function stageOf(correlationId: string): { cascadeId: string; index: number } | null {
  const m = /^(.+)\.s(\d+)$/.exec(correlationId);
  return m ? { cascadeId: m[1]!, index: Number(m[2]) } : null;
}

/** The copy of a stage's decision for its cascade's partition, made at `at` (the decision's position); null for a coordination that is no stage. */
export function stageDecidedOf(q: QuorumDecided, at: InputPosition | null = null): CascadeStageDecided | null {
  const s = stageOf(q.meta.correlation_id);
  if (!s) return null;
  return {
    type: 'CascadeStageDecided',
    meta: { event_id: derivedEventId(q.meta.event_id, 'cascade-stage'), correlation_id: s.cascadeId, causation_id: q.meta.event_id, occurred_at: q.meta.occurred_at, producer: PRODUCER, sequence: null },
    stage_index: s.index, stage_correlation_id: q.meta.correlation_id, decision: q.decision,
    success: q.gather_status === 'SUCCESS', ready_count: q.ready_count, sent_count: q.sent_count, applied_through: at, stepped: null,
  };
}

/** Stage indices in the order the strategy runs them. */
function runOrder(r: CascadeRequested): number[] {
  const idx = r.stages.map((_, i) => i);
  return r.strategy === 'PRIORITY_FIRST' ? idx.sort((a, b) => r.stages[b]!.priority - r.stages[a]!.priority || a - b) : idx;
}

function stageRequest(r: CascadeRequested, index: number, atUs: number, causationId: string): CoordinationRequested {
  const s = r.stages[index]!;
  const id = stageCorrelationId(r.meta.correlation_id, index);
  return coordinationRequested({
    targets: s.targets, arrivalAtUs: atUs + s.lead_ms * 1000, nowUs: atUs, windowMs: s.arrival_window_ms, minimumResponseRate: s.minimum_response_rate,
    weight: r.payload_weight, priority: r.priority, source: PRODUCER, correlationId: id, eventId: derivedEventId(id, 'cascade-stage-requested'), causationId,
  });
}

/** Why the request cannot run (a stage the impedance service would dead-letter); null when it can. */
export function requestProblem(r: CascadeRequested): string | null {
  if (r.stages.length === 0) return 'no stages';
  for (let i = 0; i < r.stages.length; i++) {
    try { stageRequest(r, i, r.meta.occurred_at, r.meta.event_id); } catch (err) { return `stage ${i}: ${(err as Error).message}`; }
  }
  return null;
}

const deadlineOf = (r: CascadeRequested, index: number, startedUs: number) => {
  const s = r.stages[index]!;
  return startedUs + (s.lead_ms + s.arrival_window_ms + s.timeout_ms) * 1000;
};

/** The deadlines of the stages still awaited, for the tick writer. */
export function awaited(c: Cascade): Array<{ index: number; correlationId: string; deadlineUs: number }> {
  if (c.status !== 'running') return [];
  return c.runs.flatMap((x, index) => (x.state === 'started' ? [{ index, correlationId: x.correlationId, deadlineUs: x.deadlineUs }] : []));
}

interface Step { readonly next: Cascade; readonly out: CascadeOutput[] }

function start(r: CascadeRequested, runs: StageRun[], index: number, atUs: number, causationId: string, out: CascadeOutput[]): void {
  const req = stageRequest(r, index, atUs, causationId);
  runs[index] = { state: 'started', correlationId: req.meta.correlation_id, startedUs: atUs, deadlineUs: deadlineOf(r, index, atUs) };
  out.push(req);
}

function statusOf(strategy: CascadeStrategy, runs: readonly StageRun[]): { status: CascadeStatus; failedStage: number | null } {
  const short = runs.findIndex((x) => x.state === 'ended' && x.outcome !== 'SUCCESS');
  switch (strategy) {
    case 'WAVE': return short < 0 ? { status: 'SUCCESS', failedStage: null } : { status: 'FAILED', failedStage: short };
    case 'PARALLEL': return { status: short < 0 ? 'SUCCESS' : 'PARTIAL', failedStage: null };
    case 'PRIORITY_FIRST': return { status: 'COMPLETE', failedStage: null };
    default: { const never: never = strategy; return never; }
  }
}

function completed(r: CascadeRequested, runs: readonly StageRun[], cause: CascadeInput, failedStage: number | null, statusOverride?: CascadeStatus): CascadeCompleted {
  const at = cause.meta.occurred_at;
  const s = statusOf(r.strategy, runs);
  const stages: CascadeStageResult[] = runs.map((x, i) => {
    const label = r.stages[i]?.label ?? `stage ${i}`;
    if (x.state !== 'ended') return { stage_index: i, label, correlation_id: null, outcome: 'NOT_STARTED', decision: null, ready_count: 0, sent_count: 0, started_at: null, ended_at: null };
    return { stage_index: i, label, correlation_id: x.correlationId, outcome: x.outcome, decision: x.decision, ready_count: x.ready, sent_count: x.sent, started_at: x.startedUs, ended_at: x.endedUs };
  });
  return {
    type: 'CascadeCompleted',
    meta: { event_id: derivedEventId(r.meta.correlation_id, 'cascade-completed'), correlation_id: r.meta.correlation_id, causation_id: cause.meta.event_id, occurred_at: at, producer: PRODUCER, sequence: null },
    strategy: r.strategy, status: statusOverride ?? s.status, failed_stage: failedStage ?? s.failedStage,
    started_at: r.meta.occurred_at, latency_us: Math.max(0, at - r.meta.occurred_at), stages,
    agents_reached: stages.reduce((n, x) => n + x.ready_count, 0),
    applied_through: null,
  };
}

/** A stage ended by the input; null when the input ends no stage still awaited. */
function ending(c: Extract<Cascade, { status: 'running' }>, input: CascadeStageDecided | CascadeStageTimedOut): Ended | null {
  const run = c.runs[input.stage_index];
  if (!run || run.state !== 'started') return null;
  const endedUs = input.meta.occurred_at;
  if (input.type === 'CascadeStageTimedOut') {
    return input.deadline_at === run.deadlineUs ? { state: 'ended', correlationId: run.correlationId, startedUs: run.startedUs, endedUs, outcome: 'TIMED_OUT', decision: null, ready: 0, sent: 0 } : null;
  }
  if (input.stage_correlation_id !== run.correlationId) return null;
  return { state: 'ended', correlationId: run.correlationId, startedUs: run.startedUs, endedUs, outcome: input.success ? 'SUCCESS' : 'DEGRADED', decision: input.decision, ready: input.ready_count, sent: input.sent_count };
}

/** The cascade after the input and the events it brings about. Total: any input in any state. */
export function step(c: Cascade, input: CascadeInput): Step {
  if (input.type === 'CascadeRequested') {
    if (c.status !== 'none') return { next: c, out: [] };
    const runs: StageRun[] = input.stages.map(() => ({ state: 'pending' }));
    const problem = requestProblem(input);
    if (problem !== null) {
      const bad = /^stage (\d+):/.exec(problem);
      return { next: { status: 'done' }, out: [completed(input, runs, input, bad ? Number(bad[1]) : null, 'FAILED')] };
    }
    const order = runOrder(input);
    const out: CascadeOutput[] = [];
    for (const i of input.strategy === 'PARALLEL' ? order : order.slice(0, 1)) start(input, runs, i, input.meta.occurred_at, input.meta.event_id, out);
    return { next: { status: 'running', request: input, order, runs }, out };
  }
  if (c.status !== 'running') return { next: c, out: [] };
  const ended = ending(c, input);
  if (!ended) return { next: c, out: [] };
  const r = c.request;
  const runs = [...c.runs];
  runs[input.stage_index] = ended;
  const out: CascadeOutput[] = [];
  const stop = r.strategy === 'WAVE' && ended.outcome !== 'SUCCESS';
  const following = c.order.find((i) => runs[i]!.state === 'pending');
  if (!stop && r.strategy !== 'PARALLEL' && following !== undefined) {
    start(r, runs, following, input.meta.occurred_at, input.meta.event_id, out);
    return { next: { ...c, runs }, out };
  }
  if (runs.some((x) => x.state === 'started')) return { next: { ...c, runs }, out };
  return { next: { status: 'done' }, out: [completed(r, runs, input, null)] };
}

/**
 * One input decided at `at`: the step, each output naming `at` (applied_through). The processor's
 * step, and the replay's. `at` is the input's position in the cascade's mesh.cascades partition, or
 * for a copy stepped in the transaction that writes it, the copy's own applied_through (its
 * QuorumDecided on mesh.acks): stepped only where its read-back position would decide alike.
 */
export function cascadeStep(c: Cascade, input: CascadeInput, at: InputPosition | null): Step {
  const s = step(c, input);
  return s.out.length === 0 ? s : { next: s.next, out: s.out.map((x) => ({ ...x, applied_through: at })) };
}

export const decide = (c: Cascade, input: CascadeInput): CascadeOutput[] => step(c, input).out;
export const evolve = (c: Cascade, input: CascadeInput): Cascade => step(c, input).next;
