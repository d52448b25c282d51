// The sessions in the log and their state, as `solvermesh sessions` shows them: a pure fold over
// records of solver.sessions, solver.costs, solver.iterations and mesh.conflicts (topic names
// without the prefix), in any interleaving of topics, each topic in per-partition order.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { endsSession } from '../solver/events';

export type SessionStateName = 'opened' | 'converging' | 'converged' | 'closed' | 'rejected' | 'unopened';

export interface SessionSummary {
  readonly session_id: string;
  /**
   * rejected / closed: the solver said so; converged: its latest output is a ConvergenceReached
   * that folded in every cost update sent; converging: it iterates or has updates still to fold
   * in; opened: no iteration yet; unopened: cost updates for a session never opened.
   */
  readonly state: SessionStateName;
  readonly reason: string | null;
  readonly unknowns: number | null;
  readonly nnz: number | null;
  /** Requested method (SessionOpened); `running` is what the last iteration ran. */
  readonly method: string | null;
  readonly running: string | null;
  readonly tolerance: number | null;
  readonly opened_at: string | null;
  readonly iteration: number | null;
  readonly residual: number | null;
  readonly updates_sent: number;
  /** Cost updates at or before the latest applied_through on solver.costs (dead letters aside). */
  readonly updates_applied: number;
  /** Cost updates the solver refused (copied to solver.costs.dlq): never applied. */
  readonly updates_dead_lettered: number;
  readonly conflicts: number;
  /** Token subject that opened the session (SessionOpened.owner); null for internal sessions. */
  readonly owner: string | null;
  /** The latest VerificationCompleted, null while no verifier has checked the session. */
  readonly verification: { readonly iteration: number; readonly verified: boolean; readonly max_error: number; readonly drift_detected: boolean } | null;
}

/** A CostUpdated on solver.costs, known by its type alone (its body need not be decoded). */
export interface CostEntry {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** The solver dead-lettered this CostUpdated. */
  readonly deadLettered?: boolean;
}

export interface LogEntry extends CostEntry {
  readonly topic: string;
  /** Undefined for records that did not decode (the solver dead-letters those). */
  readonly event: SolvermeshEvent | undefined;
}

interface Acc {
  opened?: { rows: number; nnz: number; method: string; tolerance: number; at: number; owner: string | null };
  verification?: SessionSummary['verification'];
  ended?: { state: 'closed' | 'rejected'; reason: string };
  last?: { offset: number; iteration: number; residual: number; method: string };
  convergedAt?: number;
  costs: Map<number, number[]>;
  dead: number;
  applied: Map<number, number>;
  conflicts: number;
}

export interface SessionLog {
  readonly sessions: Map<string, Acc>;
}

export const emptySessionLog = (): SessionLog => ({ sessions: new Map() });

function acc(log: SessionLog, id: string): Acc {
  let a = log.sessions.get(id);
  if (!a) {
    a = { costs: new Map(), dead: 0, applied: new Map(), conflicts: 0 };
    log.sessions.set(id, a);
  }
  return a;
}

type Positions = ReadonlyArray<{ topic: string; partition: number; offset: number }>;

function noteApplied(a: Acc, ps: Positions): void {
  for (const p of ps) {
    if (!p.topic.endsWith('solver.costs')) continue;
    a.applied.set(p.partition, Math.max(a.applied.get(p.partition) ?? -1, p.offset));
  }
}

export function foldCostEntry(log: SessionLog, r: CostEntry): void {
  if (r.key === null) return;
  const a = acc(log, r.key);
  if (r.deadLettered) { a.dead++; return; }
  const list = a.costs.get(r.partition) ?? [];
  list.push(r.offset);
  a.costs.set(r.partition, list);
}

export function foldLogEntry(log: SessionLog, r: LogEntry): void {
  const e = r.event;
  // solver.costs also carries the commands and closes the solver sequenced among the updates.
  if (r.topic === 'solver.costs' && e?.type === 'CostUpdated') { foldCostEntry(log, r); return; }
  if (!e) return;
  if (e.type === 'ConflictReported') {
    // The solver reports a stale matrix edit with the session as the cluster (domain.conflict).
    if (r.topic === 'mesh.conflicts' && e.sector_id === 'solver' && e.cluster_id !== null) acc(log, e.cluster_id).conflicts++;
    return;
  }
  if (!('session_id' in e) || !r.topic.startsWith('solver.')) return;
  const a = acc(log, e.session_id);
  switch (e.type) {
    case 'SessionOpened':
      a.opened = { rows: e.rows, nnz: Number(e.nnz), method: e.method, tolerance: e.options.tolerance, at: Number(e.meta.occurred_at), owner: e.owner };
      break;
    case 'SessionRejected':
      if (!endsSession(e)) break;
      a.ended = { state: 'rejected', reason: `${e.reason}: ${e.message}` };
      break;
    case 'SessionClosed':
      if (a.ended?.state !== 'rejected') a.ended = { state: 'closed', reason: `${e.reason}${e.message ? `: ${e.message}` : ''}` };
      break;
    case 'IterationCompleted':
      noteApplied(a, e.applied_through);
      if (!a.last || r.offset > a.last.offset) a.last = { offset: r.offset, iteration: Number(e.iteration), residual: e.residual_norm, method: e.method };
      break;
    case 'ConvergenceReached':
      noteApplied(a, e.applied_through);
      a.convergedAt = Math.max(a.convergedAt ?? -1, r.offset);
      break;
    case 'VerificationCompleted':
      a.verification = { iteration: Number(e.iteration), verified: e.verified, max_error: e.max_error, drift_detected: e.drift_detected };
      break;
    default:
      break;
  }
}

/** What a session was opened with: enough to check an input for it, in constant time. */
export interface SessionOpening {
  readonly session_id: string;
  readonly unknowns: number | null;
  readonly owner: string | null;
}

/** The session's opening, undefined unless it was opened or rejected (cost updates alone make no session). */
export function openingOf(log: SessionLog, id: string): SessionOpening | undefined {
  const a = log.sessions.get(id);
  if (!a || (a.opened === undefined && a.ended?.state !== 'rejected')) return undefined;
  return { session_id: id, unknowns: a.opened?.rows ?? null, owner: a.opened?.owner ?? null };
}

/** How many of the ascending offsets are at or before `through`. */
function countThrough(offsets: readonly number[], through: number): number {
  let lo = 0, hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]! <= through) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** One session's summary; undefined when the log has nothing of it. */
export function summaryOf(log: SessionLog, id: string): SessionSummary | undefined {
  const a = log.sessions.get(id);
  return a && summaryOfAcc(id, a);
}

function summaryOfAcc(id: string, a: Acc): SessionSummary {
  let sent = a.dead;
  let applied = 0;
  // Each partition's offsets are folded in log order: ascending.
  for (const [p, offsets] of a.costs) {
    sent += offsets.length;
    applied += countThrough(offsets, a.applied.get(p) ?? -1);
  }
  const started = a.opened !== undefined || a.last !== undefined;
  const state: SessionStateName = a.ended ? a.ended.state
    : !started ? (a.conflicts > 0 || sent > 0 ? 'unopened' : 'opened')
    : a.convergedAt !== undefined && a.convergedAt > (a.last?.offset ?? -1) && applied + a.dead === sent ? 'converged'
    : a.last !== undefined || sent > 0 ? 'converging'
    : 'opened';
  return {
    session_id: id, state, reason: a.ended?.reason ?? null,
    unknowns: a.opened?.rows ?? null, nnz: a.opened?.nnz ?? null, method: a.opened?.method ?? null, running: a.last?.method ?? null,
    tolerance: a.opened?.tolerance ?? null, opened_at: a.opened ? new Date(a.opened.at / 1000).toISOString() : null,
    iteration: a.last?.iteration ?? null, residual: a.last?.residual ?? null,
    updates_sent: sent, updates_applied: applied, updates_dead_lettered: a.dead, conflicts: a.conflicts,
    owner: a.opened?.owner ?? null, verification: a.verification ?? null,
  };
}

export function summarize(log: SessionLog): SessionSummary[] {
  const out: SessionSummary[] = [];
  for (const [id, a] of log.sessions) out.push(summaryOfAcc(id, a));
  // Oldest first; sessions never opened last.
  const key = (s: SessionSummary) => `${s.opened_at === null ? 1 : 0}${s.opened_at ?? ''}${s.session_id}`;
  return out.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}

export function sessionTable(rows: readonly SessionSummary[]): string[] {
  const head = ['SESSION', 'STATE', 'UNKNOWNS', 'NNZ', 'METHOD', 'ITERATION', 'RESIDUAL', 'UPDATES APPLIED/SENT', 'CONFLICTS', 'OPENED'];
  const body = rows.map((s) => [
    s.session_id, s.state, s.unknowns ?? '-', s.nnz ?? '-',
    s.method === null ? (s.running ?? '-') : s.running && s.running !== s.method ? `${s.method}(${s.running})` : s.method,
    s.iteration ?? '-', s.residual === null ? '-' : s.residual.toExponential(3), `${s.updates_applied}/${s.updates_sent}${s.updates_dead_lettered ? ` (${s.updates_dead_lettered} dlq)` : ''}`, s.conflicts, s.opened_at ?? '-',
  ].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [fmt(head), ...body.map(fmt)];
  for (const s of rows) if (s.reason) lines.push(`${s.session_id} ${s.state}: ${s.reason}`);
  return lines;
}
