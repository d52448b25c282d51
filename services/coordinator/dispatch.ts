// Dispatch of one coordination (seed 002 §3.2 phase 4): once its schedule is complete, each
// SCHEDULED entry is sent when a DispatchDue tick due at or after its 10 ms send bucket (or
// written after it) lands in the schedule's partition; a message whose ttl ran out by then is dropped and recorded. When every
// entry is sent or dropped, a DispatchCompleted opens the gather. Pure: time is the tick's event
// time, ids derive from the inputs, so a replay of the partition sends the same messages.
// A cascade stage's deadline tick lands in the stage's partition too: it is passed on to the
// cascade once due at its deadline moved by the stage's shift, which only the plan's first send
// tick fixes (one written late moves the plan), so a deadline read before that tick is held for it.
// A stage whose schedule is not read by its deadline is passed on at once and never sent.
import type {
  CascadeStageTimedOut, DispatchCompleted, DispatchDue, DispatchExpiry, DispatchTerms, InputPosition, MessageDispatched, ScheduleComputed, ScheduleEntry,
} from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { stageOf } from './cascade';
import { PRODUCER } from './conflicts';

/** A cascade stage's deadline tick comes through its dispatch's partition (cascade-processor.ts): ordered with the tick that may shift the stage. */
export type DispatchInput = ScheduleComputed | DispatchDue | CascadeStageTimedOut;

/** A SCHEDULED entry with the fields that are set for SCHEDULED. */
export interface Send {
  readonly agentId: string;
  readonly sendAt: number;
  readonly bucketAt: number;
  readonly leadMs: number;
  readonly processingMs: number;
  readonly confidence: number;
}

export interface Plan {
  readonly correlationId: string;
  readonly messageId: string;
  readonly targetUs: number;
  readonly terms: DispatchTerms;
  /** In send order: bucket, then agent id. */
  readonly sends: readonly Send[];
  readonly skipped: number;
  /** How far its first tick moved every send time, T and the expiry (a re-planned late schedule), µs; 0 when not. */
  readonly shiftUs: number;
}

/**
 * A cascade stage's deadline as its dispatch has read it: `held` until it is due at its
 * deadline_at moved by the stage's shift (the tick kept is the first read), `passed` once passed
 * on to the cascade.
 */
export type StageDeadline = { readonly state: 'held'; readonly tick: CascadeStageTimedOut } | { readonly state: 'passed' };

export type Dispatch =
  | { readonly status: 'none' }
  | { readonly status: 'collecting'; readonly chunks: ReadonlyMap<number, ScheduleComputed> }
  /** sends[0, next) are handled; `expired` are those of them dropped. */
  | { readonly status: 'sending'; readonly plan: Plan; readonly next: number; readonly expired: readonly DispatchExpiry[]; readonly deadline?: StageDeadline }
  /** `shiftUs`: the plan's shift, when it had one; a stage timed out before its schedule was read is done too (never sent). */
  | { readonly status: 'done'; readonly shiftUs?: number; readonly deadline?: StageDeadline };

export const NO_DISPATCH: Dispatch = { status: 'none' };

export type DispatchFact =
  | { readonly kind: 'sent'; readonly plan: Plan; readonly send: Send; readonly at: number }
  | { readonly kind: 'expired'; readonly plan: Plan; readonly expiry: DispatchExpiry }
  | { readonly kind: 'completed'; readonly plan: Plan; readonly dispatched: readonly string[]; readonly expired: readonly DispatchExpiry[] };

const DEFAULT_WINDOW_MS = 500;
/** Expiries a DispatchCompleted lists (it counts them all): one record holds a 30,000-agent broadcast's summary. */
export const LISTED_EXPIRIES = 100;

/** The schedule's terms; a schedule from before they were carried gets the request defaults (services/impedance/coordination.ts). */
export function termsOf(chunk: ScheduleComputed): DispatchTerms {
  if (chunk.terms) return chunk.terms;
  const created = chunk.meta.occurred_at;
  return {
    created_at: created, ttl_ms: Math.max(1000, Math.ceil((chunk.target_arrival_time - created) / 1000) + DEFAULT_WINDOW_MS),
    arrival_window_ms: DEFAULT_WINDOW_MS, minimum_response_rate: 0.95, priority: 2, payload_hash: '', trinary_expectation: 'READY',
  };
}

export const expiresAt = (t: DispatchTerms) => t.created_at + t.ttl_ms * 1000;
const planExpiry = (plan: Plan) => expiresAt(plan.terms) + plan.shiftUs;

/** The plan with every send time, bucket, T and the expiry `shiftUs` later: its agents still arrive together, at the later T. */
export function shiftPlan(plan: Plan, shiftUs: number): Plan {
  if (shiftUs <= 0) return plan;
  return {
    ...plan, targetUs: plan.targetUs + shiftUs, shiftUs: plan.shiftUs + shiftUs,
    sends: plan.sends.map((x) => ({ ...x, sendAt: x.sendAt + shiftUs, bucketAt: x.bucketAt + shiftUs })),
  };
}

/**
 * The shift a plan's first tick carries, µs: how late it is written after the release point it
 * needed (`neededMs`, releasePoint of the unsent plan), in whole ms; 0 when on time, when the plan
 * has sent something or was shifted already. A late schedule's sends would otherwise go out at once
 * and their agents arrive after T by as much, each by a different amount.
 */
export function replanShiftUs(d: Dispatch, neededMs: number, writtenAtMs: number): number {
  if (d.status !== 'sending' || d.next > 0 || d.plan.shiftUs > 0) return 0;
  return Math.max(0, Math.ceil(writtenAtMs - neededMs)) * 1000;
}

function planOf(chunks: ReadonlyMap<number, ScheduleComputed>): Plan {
  const first = chunks.get(0)!;
  const entries: ScheduleEntry[] = [...chunks.keys()].sort((a, b) => a - b).flatMap((k) => chunks.get(k)!.entries);
  const sends: Send[] = [];
  let skipped = 0;
  for (const e of entries) {
    if (e.status !== 'SCHEDULED' || e.send_at === null) { skipped++; continue; }
    sends.push({ agentId: e.agent_id, sendAt: e.send_at, bucketAt: e.send_bucket_at ?? e.send_at, leadMs: e.lead_time_ms, processingMs: e.expected_processing_ms ?? 0, confidence: e.confidence ?? 0 });
  }
  sends.sort((x, y) => x.bucketAt - y.bucketAt || (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0));
  return { correlationId: first.meta.correlation_id, messageId: first.message_id, targetUs: first.target_arrival_time, terms: termsOf(first), sends, skipped, shiftUs: 0 };
}

/** Whether a tick left sends it was due to send for the next one (it handled its max_sends). */
export function leftDue(d: Dispatch, tick: DispatchDue): boolean {
  return d.status === 'sending' && d.plan.sends[d.next]!.bucketAt <= Math.max(tick.meta.occurred_at, tick.due_at);
}

/** When the next send is due (µs), for the tick writer; null when nothing waits. */
export function nextDueAt(d: Dispatch): number | null {
  return d.status === 'sending' ? d.plan.sends[d.next]!.bucketAt : null;
}

/** The schedule chunks so far plus this one, and the plan when that makes them complete. */
function collect(d: Dispatch, chunk: ScheduleComputed): { chunks: Map<number, ScheduleComputed>; plan: Plan | null } {
  const chunks = new Map(d.status === 'collecting' ? d.chunks : []).set(chunk.chunk_index, chunk);
  return { chunks, plan: chunks.size >= chunk.chunk_count && chunks.has(0) ? planOf(chunks) : null };
}

function completion(plan: Plan, expired: readonly DispatchExpiry[]): DispatchFact {
  const dropped = new Set(expired.map((x) => x.agent_id));
  return { kind: 'completed', plan, dispatched: plan.sends.filter((s) => !dropped.has(s.agentId)).map((s) => s.agentId), expired };
}

/** The plan a tick sends from: shifted by the first tick of a plan that has sent nothing, when it says so. */
function replanned(d: Extract<Dispatch, { status: 'sending' }>, tick: DispatchDue): Plan {
  const shift = tick.shift_us ?? 0;
  return shift > 0 && d.next === 0 && d.plan.shiftUs === 0 ? shiftPlan(d.plan, shift) : d.plan;
}

/** The facts an input makes known. A tick before the plan is complete, or after it is done, sends nothing. */
export function decide(d: Dispatch, input: DispatchInput): DispatchFact[] {
  if (input.type === 'ScheduleComputed') {
    if (d.status !== 'none' && d.status !== 'collecting') return [];
    const { plan } = collect(d, input);
    return plan && plan.sends.length === 0 ? [completion(plan, [])] : [];
  }
  if (d.status !== 'sending' || input.type === 'CascadeStageTimedOut') return [];
  const at = input.meta.occurred_at;
  // A tick written ahead of its bucket (the coordinator's transport allowance) sends that bucket.
  const through = Math.max(at, input.due_at);
  const plan = replanned(d, input);
  const expiry = planExpiry(plan);
  const out: DispatchFact[] = [];
  const expired = [...d.expired];
  // A bounded tick handles at most max_sends: the rest due waits for the next tick.
  const end = Math.min(plan.sends.length, d.next + (input.max_sends ?? plan.sends.length));
  let i = d.next;
  for (; i < end && plan.sends[i]!.bucketAt <= through; i++) {
    const send = plan.sends[i]!;
    if (at > expiry) {
      const x: DispatchExpiry = { agent_id: send.agentId, send_at: send.sendAt, expires_at: expiry, due_at: at };
      expired.push(x);
      out.push({ kind: 'expired', plan, expiry: x });
    } else {
      out.push({ kind: 'sent', plan, send, at });
    }
  }
  if (i === plan.sends.length && i > d.next) out.push(completion(plan, expired));
  return out;
}

/** The dispatch after an input. Total: any input in any state yields a state. */
export function evolve(d: Dispatch, input: DispatchInput): Dispatch {
  if (input.type === 'ScheduleComputed') {
    if (d.status !== 'none' && d.status !== 'collecting') return d;
    const { chunks, plan } = collect(d, input);
    if (!plan) return { status: 'collecting', chunks };
    return plan.sends.length === 0 ? { status: 'done' } : { status: 'sending', plan, next: 0, expired: [] };
  }
  if (input.type === 'CascadeStageTimedOut') return withDeadline(d, input);
  if (d.status !== 'sending') return d;
  const facts = decide(d, input);
  if (facts.some((f) => f.kind === 'completed')) {
    const shiftUs = replanned(d, input).shiftUs;
    return { status: 'done', ...(shiftUs > 0 ? { shiftUs } : {}), ...(d.deadline ? { deadline: d.deadline } : {}) };
  }
  const handled = facts.length;
  const plan = replanned(d, input);
  if (handled === 0 && plan === d.plan) return d;
  return { ...d, plan, next: d.next + handled, expired: [...d.expired, ...facts.flatMap((f) => (f.kind === 'expired' ? [f.expiry] : []))] };
}

/**
 * When a cascade stage's deadline `deadlineAt` (µs) is due for this dispatch: moved by the shift
 * of its plan; null while a plan that has sent nothing may still be shifted by its first tick.
 * A dispatch with no plan yet (its schedule not read) cannot move it.
 */
export function stageDeadlineDueAt(d: Dispatch, deadlineAt: number): number | null {
  switch (d.status) {
    case 'none': case 'collecting': return deadlineAt;
    case 'sending': return d.next === 0 && d.plan.shiftUs === 0 ? null : deadlineAt + d.plan.shiftUs;
    case 'done': return deadlineAt + (d.shiftUs ?? 0);
    default: { const never: never = d; return never; }
  }
}

/** The copy of a due stage deadline for its cascade's partition; null when `tick` passes nothing on (not due, passed already, no stage). */
export function stageDeadlinePassed(d: Dispatch, tick: CascadeStageTimedOut, at: InputPosition | null = null): CascadeStageTimedOut | null {
  const stage = stageOf(tick.meta.correlation_id);
  if (!stage || ('deadline' in d && d.deadline?.state === 'passed')) return null;
  const due = stageDeadlineDueAt(d, tick.deadline_at);
  if (due === null || tick.meta.occurred_at < due) return null;
  return {
    type: 'CascadeStageTimedOut',
    meta: { event_id: derivedEventId(tick.meta.event_id, 'cascade-deadline'), correlation_id: stage.cascadeId, causation_id: tick.meta.event_id, occurred_at: tick.meta.occurred_at, producer: PRODUCER, sequence: null },
    stage_index: tick.stage_index, deadline_at: tick.deadline_at, applied_through: at,
  };
}

/** The dispatch after a stage deadline tick: passed on when due (a stage with no plan yet is then never sent), held otherwise. */
function withDeadline(d: Dispatch, tick: CascadeStageTimedOut): Dispatch {
  if (!stageOf(tick.meta.correlation_id)) return d;
  const kept = d.status === 'sending' || d.status === 'done' ? d : null;
  if (stageDeadlinePassed(d, tick)) return kept ? { ...kept, deadline: { state: 'passed' } } : { status: 'done', deadline: { state: 'passed' } };
  return kept && kept.deadline === undefined ? { ...kept, deadline: { state: 'held', tick } } : d;
}

/** A held stage deadline and when it is due (µs); null when none is held or its time is not known yet. */
export function heldDeadline(d: Dispatch): { tick: CascadeStageTimedOut; dueAt: number } | null {
  if ((d.status !== 'sending' && d.status !== 'done') || d.deadline?.state !== 'held') return null;
  const dueAt = stageDeadlineDueAt(d, d.deadline.tick.deadline_at);
  return dueAt === null ? null : { tick: d.deadline.tick, dueAt };
}

/**
 * The events of a fact: the message to the agent, or the summary that opens the gather (expiries
 * are reported in it). `at`: the cause's position in its partition (null where none is known).
 */
export function dispatchEvent(cause: DispatchInput, f: DispatchFact, at: InputPosition | null): MessageDispatched | DispatchCompleted | null {
  const meta = (discriminator: string, at: number) => ({
    event_id: derivedEventId(cause.meta.event_id, discriminator), correlation_id: f.plan.correlationId, causation_id: cause.meta.event_id,
    occurred_at: at, producer: PRODUCER, sequence: null,
  });
  const { plan } = f;
  switch (f.kind) {
    case 'sent':
      return {
        type: 'MessageDispatched', meta: meta(`dispatch:${f.send.agentId}`, f.at), message_id: plan.messageId, agent_id: f.send.agentId,
        created_at: plan.terms.created_at, send_at: f.send.sendAt, dispatched_at: f.at, target_arrival_time: plan.targetUs,
        ttl_ms: plan.terms.ttl_ms + Math.ceil(plan.shiftUs / 1000), expires_at: planExpiry(plan), priority: plan.terms.priority, payload_hash: plan.terms.payload_hash,
        trinary_expectation: plan.terms.trinary_expectation, lead_time_ms: f.send.leadMs, expected_processing_ms: f.send.processingMs, confidence: f.send.confidence,
        applied_through: at,
      };
    case 'expired': return null;
    case 'completed':
      return {
        type: 'DispatchCompleted', meta: meta('dispatch-completed', cause.meta.occurred_at), message_id: plan.messageId, target_arrival_time: plan.targetUs,
        arrival_window_ms: plan.terms.arrival_window_ms, minimum_response_rate: plan.terms.minimum_response_rate,
        dispatched_agent_ids: [...f.dispatched], expired: f.expired.slice(0, LISTED_EXPIRIES), skipped_count: plan.skipped,
        payload_hash: plan.terms.payload_hash || null, expired_count: f.expired.length, applied_through: at,
      };
    default: { const never: never = f; return never; }
  }
}

/**
 * One input of a coordination at `at` in its partition: the facts it makes known, the events they
 * are written as, and the dispatch after it. The processor's step, and the replay's.
 */
export function dispatchStep(before: Dispatch, input: DispatchInput, at: InputPosition | null): {
  facts: DispatchFact[]; events: Array<MessageDispatched | DispatchCompleted>; after: Dispatch;
  /** A cascade stage's deadline passed on to its cascade's partition. */
  deadline: CascadeStageTimedOut | null;
} {
  const facts = decide(before, input);
  const events = facts.map((f) => dispatchEvent(input, f, at)).filter((e) => e !== null);
  const deadline = input.type === 'CascadeStageTimedOut' ? stageDeadlinePassed(before, input, at) : null;
  return { facts, events, after: evolve(before, input), deadline };
}

/**
 * When to write the next tick and which bucket it sends through, for sends[from..]: each bucket
 * b must be written by b - ahead, and everything due by b takes `perMessageUs` each to produce
 * after the tick lands, so bucket b needs the tick by b - ahead - (sends from `from` to b) *
 * perMessageUs. The tick goes at the earliest of those needs and sends through the bucket that
 * needs it: a burst of sends just before T (a broadcast's fast agents) is produced ahead of its
 * buckets instead of after them. With perMessageUs 0 it is the next bucket, `ahead` early.
 */
export function releasePoint(sends: readonly Send[], from: number, aheadMs: number, perMessageUs: number): { writeAtMs: number; throughUs: number } {
  let best = { writeAtMs: Infinity, throughUs: sends[from]!.bucketAt };
  for (let i = from; i < sends.length; i++) {
    const b = sends[i]!.bucketAt;
    if (i + 1 < sends.length && sends[i + 1]!.bucketAt === b) continue;
    const need = Math.ceil(b / 1000) - aheadMs - Math.ceil(((i - from + 1) * perMessageUs) / 1000);
    if (need < best.writeAtMs) best = { writeAtMs: need, throughUs: b };
    // Later buckets cannot need it earlier than the production of every remaining send allows.
    if (perMessageUs === 0 || Math.ceil(b / 1000) - aheadMs - Math.ceil(((sends.length - from) * perMessageUs) / 1000) >= best.writeAtMs) break;
  }
  return best;
}

/** How far a schedule came after its plan needed it: the sends it made late, and the worst. */
export interface ScheduleLateness {
  /** Sends whose tick was due (bucket - ahead) before the schedule was written. */
  readonly lateSends: number;
  readonly sends: number;
  /** How long after the earliest send's tick was due the schedule was written, ms. */
  readonly lateByMs: number;
}

/**
 * A plan's lateness when its schedule's record was written at `writtenAtMs`: null when every
 * send's tick can still be written on time. Its request's lead was shorter than the path from
 * the request to the dispatch (a cascade stage sized with too small a path allowance, or a
 * service behind): those sends go out at once, late, and their agents arrive after T by as much.
 */
export function scheduleLateness(plan: Plan, writtenAtMs: number, aheadMs: number): ScheduleLateness | null {
  let late = 0;
  for (const s of plan.sends) {
    if (Math.ceil(s.bucketAt / 1000) - aheadMs >= writtenAtMs) break;
    late++;
  }
  if (late === 0) return null;
  return { lateSends: late, sends: plan.sends.length, lateByMs: writtenAtMs - (Math.ceil(plan.sends[0]!.bucketAt / 1000) - aheadMs) };
}
