// The gather of one coordination (seed 002 §3.2 phases 5-6, §5.2), in the order of its acks'
// partition: DispatchCompleted names the agents sent the message; an agent's first ack settles it:
// it counts when it arrived by T + window, and makes the agent a late straggler otherwise (a later
// ack changes nothing). The gather decides at the first of: the ack after which no answers the
// unsettled agents could still give would change the decision or the gather status (quorum.ts
// finalOutcome; the decision then reports the counts as of that ack, the unsettled as silent,
// and names how many were unsettled), the ack that settles the last agent sent the message
// (ALL_ANSWERED), or the first GatherWindowClosed. The counts, confidence and stragglers of an
// early decision would still move with the answers after it; what a caller acts on (decision,
// status, retry advice) would not, and a cascade's stage need not wait for its last ack. It decides once: later acks and deadlines change nothing, and
// a QuorumDecided read back from the log closes it too. Pure but for the acks map, which the fold
// extends in place (a gather of 30,000 agents would copy it per ack otherwise): evolve owns the
// state it is given.
//
// payload_hash (seed 002 §2.1 "integrity check"): an ack names the hash of the message it
// acknowledges; one naming another hash than the dispatched message's acknowledges something the
// mesh never sent, so it is not counted (the agent's slot stays open for a true ack) and
// `refusedAcks` names it for a report. A null hash on either side (older agents or dispatchers)
// is not checked.
import type {
  AckReceived, ConflictReported, DispatchCompleted, GatherClosure, GatherWindowClosed, InputPosition, QuorumDecided, TrinaryState,
} from '../../schemas/generated/events';
import { payloadMismatchReport } from '../identity/reports';
import { derivedEventId } from '../runtime/ids';
import { PRODUCER } from './conflicts';
import { finalOutcome, gatherVerdict, retryAdvice, trinaryQuorum, type GatherVerdict, type QuorumResult, type QuorumThresholds, type TrinaryCounts } from './quorum';

export type GatherInput = DispatchCompleted | AckReceived | GatherWindowClosed | QuorumDecided;

export const STRAGGLERS_NAMED = 100;

export interface AckSeen {
  readonly state: TrinaryState;
  readonly arrivalUs: number;
  readonly hash: string | null;
  /** An ack that came before the dispatch summary, kept until the summary says whether its hash is the one sent. */
  readonly early?: AckReceived;
}

export interface GatherPlan {
  readonly messageId: string;
  readonly targetUs: number;
  readonly windowEndUs: number;
  readonly minimumResponseRate: number;
  readonly dispatched: readonly string[];
  readonly sent: ReadonlySet<string>;
  /** payload_hash of the message sent; null: not checked. */
  readonly payloadHash: string | null;
}

export type Gather =
  | { readonly status: 'none' }
  /** Acks that came before the dispatch summary (the first sends are answered before the last go out). */
  | { readonly status: 'early'; readonly acks: Map<string, AckSeen> }
  /** `answered`: agents sent the message settled by their first ack, inside the window or late; `inWindow`: the READY and CONFLICT among them. */
  | { readonly status: 'open'; readonly plan: GatherPlan; readonly acks: Map<string, AckSeen>; readonly answered: number; readonly inWindow: Settled }
  | { readonly status: 'decided' };

export const NO_GATHER: Gather = { status: 'none' };

export interface Tally extends TrinaryCounts {
  readonly sent: number;
  readonly silent: number;
  readonly late: number;
  readonly stragglerIds: readonly string[];
}

/** The answers of the settled agents sent the message that count as READY or CONFLICT. */
export interface Settled { readonly ready: number; readonly conflict: number }

export interface Decided {
  readonly kind: 'decided';
  readonly plan: GatherPlan;
  /** null: decided early, with `unsettled` agents unsettled. */
  readonly closedBy: GatherClosure | null;
  readonly unsettled: number;
  readonly tally: Tally;
  readonly quorum: QuorumResult;
  readonly verdict: GatherVerdict;
}

const inWindow = (plan: GatherPlan, a: AckSeen | undefined) => a !== undefined && a.arrivalUs <= plan.windowEndUs;

function planOf(e: DispatchCompleted): GatherPlan {
  return {
    messageId: e.message_id, targetUs: e.target_arrival_time, windowEndUs: e.target_arrival_time + e.arrival_window_ms * 1000,
    minimumResponseRate: e.minimum_response_rate, dispatched: e.dispatched_agent_ids, sent: new Set(e.dispatched_agent_ids),
    payloadHash: e.payload_hash || null,
  };
}

/** Whether an ack naming `hash` acknowledges another message than the one sent. */
export function hashMismatch(plan: Pick<GatherPlan, 'payloadHash'>, hash: string | null): boolean {
  return plan.payloadHash !== null && hash !== null && hash !== plan.payloadHash;
}

/** The early acks that count under `plan` (the others named another payload). */
function countedEarly(plan: GatherPlan, early: Map<string, AckSeen>): Map<string, AckSeen> {
  const out = new Map<string, AckSeen>();
  for (const [id, a] of early) if (!hashMismatch(plan, a.hash)) out.set(id, { state: a.state, arrivalUs: a.arrivalUs, hash: a.hash });
  return out;
}

/**
 * The acks `input` shows to name another payload than the one sent to their agent: the ack
 * itself for an open gather, the early acks when the dispatch summary opens it. Pure.
 */
export function refusedAcks(g: Gather, input: GatherInput): AckReceived[] {
  if (input.type === 'AckReceived') {
    return g.status === 'open' && g.plan.sent.has(input.agent_id) && hashMismatch(g.plan, input.payload_hash) ? [input] : [];
  }
  if (input.type !== 'DispatchCompleted' || g.status !== 'early') return [];
  const plan = planOf(input);
  const out: AckReceived[] = [];
  for (const a of g.acks.values()) if (a.early && plan.sent.has(a.early.agent_id) && hashMismatch(plan, a.hash)) out.push(a.early);
  return out;
}

/**
 * The payload-mismatch reports of the acks `input`, at `at` in its partition, shows to name another
 * payload than the one sent (refusedAcks), each naming `at` (applied_through). The processor's step
 * and the replay's: the gather is the one before the input. `signaturesVerified`: the acks'
 * signatures were checked upstream (MESH_SIGNING=required), so a signed one is its agent's own.
 */
export function mismatchReports(g: Gather, input: GatherInput, at: InputPosition, signaturesVerified: boolean): ConflictReported[] {
  return refusedAcks(g, input).map((ack) => {
    const expected = g.status === 'open' ? g.plan.payloadHash : input.type === 'DispatchCompleted' ? input.payload_hash : null;
    const ownKey = signaturesVerified && ack.signature !== null;
    return payloadMismatchReport(ack, expected ?? '', ownKey, { topic: at.topic, partition: at.partition, offset: ack === input ? String(at.offset) : null }, PRODUCER, at);
  });
}

/**
 * Whether a report is also copied to its agent's fold (mesh.agent-acks, keyed by the agent): only
 * the agent could have signed the ack, so it counts against the agent. The processor's and the replay's.
 */
export const copiedToAgent = (report: ConflictReported): boolean => report.forgery?.own_key === true;

/** Every agent sent the message counted: READY/CONFLICT/TRANSIT by its ack in the window, TRANSIT when silent. */
export function tally(plan: GatherPlan, acks: ReadonlyMap<string, AckSeen>): Tally {
  let ready = 0, conflict = 0, transit = 0, silent = 0, late = 0;
  const stragglers: string[] = [];
  for (const id of plan.dispatched) {
    const a = acks.get(id);
    if (!inWindow(plan, a)) {
      silent++;
      transit++;
      if (a) late++;
      stragglers.push(id);
      continue;
    }
    if (a!.state === 'READY') ready++;
    else if (a!.state === 'CONFLICT') conflict++;
    else { transit++; stragglers.push(id); }
  }
  stragglers.sort();
  return { sent: plan.dispatched.length, ready, conflict, transit, silent, late, stragglerIds: stragglers.slice(0, STRAGGLERS_NAMED) };
}

function decided(plan: GatherPlan, acks: ReadonlyMap<string, AckSeen>, closedBy: GatherClosure | null, unsettled: number, t: QuorumThresholds): Decided {
  const counts = tally(plan, acks);
  return { kind: 'decided', plan, closedBy, unsettled, tally: counts, quorum: trinaryQuorum(counts, t), verdict: gatherVerdict(counts.sent, counts, plan.minimumResponseRate) };
}

function answeredIn(plan: GatherPlan, acks: ReadonlyMap<string, AckSeen>): { answered: number; inWindow: Settled } {
  let answered = 0, ready = 0, conflict = 0;
  for (const id of plan.dispatched) {
    const a = acks.get(id);
    if (a === undefined) continue;
    answered++;
    if (!inWindow(plan, a)) continue;
    if (a.state === 'READY') ready++;
    else if (a.state === 'CONFLICT') conflict++;
  }
  return { answered, inWindow: { ready, conflict } };
}

function settle(s: Settled, plan: GatherPlan, a: AckSeen): Settled {
  if (!inWindow(plan, a) || a.state === 'TRANSIT') return s;
  return a.state === 'READY' ? { ready: s.ready + 1, conflict: s.conflict } : { ready: s.ready, conflict: s.conflict + 1 };
}

/** How a gather with `answered` of its agents settled, `s` of them READY or CONFLICT, closes now; null: it stays open. */
function closure(plan: GatherPlan, answered: number, s: Settled, t: QuorumThresholds): { closedBy: GatherClosure | null; unsettled: number } | null {
  const sent = plan.dispatched.length;
  if (answered === sent) return { closedBy: 'ALL_ANSWERED', unsettled: 0 };
  const settled = { ready: s.ready, conflict: s.conflict, transit: answered - s.ready - s.conflict };
  return finalOutcome(sent, settled, sent - answered, plan.minimumResponseRate, t) === null ? null : { closedBy: null, unsettled: sent - answered };
}

const seen = (e: AckReceived): AckSeen => ({ state: e.state, arrivalUs: e.actual_arrival_at, hash: e.payload_hash });
// Only an early ack with a hash can turn out to be refused: only it keeps the event for the report.
const seenEarly = (e: AckReceived): AckSeen => (e.payload_hash === null ? seen(e) : { ...seen(e), early: e });

/** The decision an input brings about, if any. */
export function decide(g: Gather, input: GatherInput, t: QuorumThresholds): Decided[] {
  switch (input.type) {
    case 'DispatchCompleted': {
      if (g.status !== 'none' && g.status !== 'early') return [];
      const plan = planOf(input);
      const acks = g.status === 'early' ? countedEarly(plan, g.acks) : new Map<string, AckSeen>();
      if (plan.dispatched.length === 0) return [decided(plan, acks, 'NOTHING_SENT', 0, t)];
      const { answered, inWindow: s } = answeredIn(plan, acks);
      const c = closure(plan, answered, s, t);
      return c === null ? [] : [decided(plan, acks, c.closedBy, c.unsettled, t)];
    }
    case 'AckReceived': {
      if (g.status !== 'open' || g.acks.has(input.agent_id) || !g.plan.sent.has(input.agent_id) || hashMismatch(g.plan, input.payload_hash)) return [];
      const a = seen(input);
      const c = closure(g.plan, g.answered + 1, settle(g.inWindow, g.plan, a), t);
      return c === null ? [] : [decided(g.plan, new Map(g.acks).set(input.agent_id, a), c.closedBy, c.unsettled, t)];
    }
    case 'GatherWindowClosed':
      return g.status === 'open' ? [decided(g.plan, g.acks, 'WINDOW_CLOSED', g.plan.dispatched.length - g.answered, t)] : [];
    case 'QuorumDecided':
      return [];
    default: { const never: never = input; return never; }
  }
}

/** The gather after an input. Total; it may extend the given state's acks map in place. */
export function evolve(g: Gather, input: GatherInput, t: QuorumThresholds): Gather {
  switch (input.type) {
    case 'DispatchCompleted': {
      if (g.status !== 'none' && g.status !== 'early') return g;
      if (decide(g, input, t).length > 0) return { status: 'decided' };
      const plan = planOf(input);
      const acks = g.status === 'early' ? countedEarly(plan, g.acks) : new Map<string, AckSeen>();
      return { status: 'open', plan, acks, ...answeredIn(plan, acks) };
    }
    case 'AckReceived': {
      if (g.status === 'decided') return g;
      if (g.status === 'none') return { status: 'early', acks: new Map([[input.agent_id, seenEarly(input)]]) };
      // The first early ack of an agent holds its place; refused at the summary, it frees the place for acks after it.
      const held = g.acks.get(input.agent_id);
      if (g.status === 'early') { if (held === undefined) g.acks.set(input.agent_id, seenEarly(input)); return g; }
      if (held !== undefined || hashMismatch(g.plan, input.payload_hash)) return g;
      if (decide(g, input, t).length > 0) return { status: 'decided' };
      const a = seen(input);
      g.acks.set(input.agent_id, a);
      return g.plan.sent.has(input.agent_id) ? { ...g, answered: g.answered + 1, inWindow: settle(g.inWindow, g.plan, a) } : g;
    }
    case 'GatherWindowClosed':
      return g.status === 'open' ? { status: 'decided' } : g;
    case 'QuorumDecided':
      return { status: 'decided' };
    default: { const never: never = input; return never; }
  }
}

/** Whether `q` was decided before every agent sent the message had answered, because nothing they could answer would change it. */
export const decidedEarly = (q: Pick<QuorumDecided, 'closed_by' | 'unsettled_count'>): boolean => q.closed_by === null && (q.unsettled_count ?? 0) > 0;

/** What ended the gather of `q`, for a line of text: its closure, or EARLY with the agents still unsettled. */
export const closureOf = (q: Pick<QuorumDecided, 'closed_by' | 'unsettled_count'>): string =>
  decidedEarly(q) ? `EARLY (${q.unsettled_count} unsettled)` : q.closed_by ?? 'unknown';

/** The decision as an event; `at`: the cause's position in its partition (null where none is known). */
export function quorumEvent(cause: GatherInput, d: Decided, t: QuorumThresholds, at: InputPosition | null): QuorumDecided {
  const { tally: c, quorum: q, verdict: v, plan } = d;
  return {
    type: 'QuorumDecided',
    meta: {
      event_id: derivedEventId(cause.meta.correlation_id, 'quorum-decided'), correlation_id: cause.meta.correlation_id, causation_id: cause.meta.event_id,
      occurred_at: cause.meta.occurred_at, producer: PRODUCER, sequence: null,
    },
    message_id: plan.messageId,
    decision: q.decision,
    achieved: q.achieved,
    total: c.ready + c.transit + c.conflict,
    ready_count: c.ready,
    transit_count: c.transit,
    conflict_count: c.conflict,
    required_ready_rate: t.requiredReadyRate,
    max_conflict_rate: t.maxConflictRate,
    max_transit_rate: t.maxTransitRate,
    confidence: q.confidence,
    reason: q.reason,
    recommendation: q.recommendation ?? (v.status === 'PARTIAL' ? 'retry_with_larger_window' : null),
    target_arrival_time: plan.targetUs,
    window_end_at: plan.windowEndUs,
    closed_by: d.closedBy,
    sent_count: c.sent,
    silent_count: c.silent,
    late_count: c.late,
    gather_status: v.status,
    response_rate: v.responseRate,
    minimum_response_rate: plan.minimumResponseRate,
    straggler_count: v.stragglers,
    straggler_ids: [...c.stragglerIds],
    retry_advice: retryAdvice(q, v),
    unsettled_count: d.unsettled,
    applied_through: at,
  };
}
