// A queryable projection of the conflict log (`solvermesh conflicts`): one summary per conflict,
// folded from mesh.conflicts in per-partition order. Memory is bounded by the conflicts that
// match the filter: a report outside it is passed over, and so are later facts about it. Pure.
import type { ConflictType, EscalationLevel, ResolutionMethod, SolvermeshEvent } from '../../schemas/generated/events';

export type ConflictStatus = 'REPORTED' | 'OPEN' | 'RESOLVED';

export interface ConflictSummary {
  readonly conflict_id: string;
  readonly agent_id: string;
  readonly message_id: string;
  readonly correlation_id: string;
  readonly conflict_type: ConflictType;
  /** µs since the epoch (event time of the report). */
  readonly reported_at: number;
  status: ConflictStatus;
  priority: number | null;
  strategy: ResolutionMethod | null;
  resolve_by: number | null;
  escalated_to: EscalationLevel[];
  overdue: boolean;
  resolved_by: string | null;
  resolved_at: number | null;
  method: ResolutionMethod | null;
  outcome: string | null;
  notes: string | null;
}

export interface ConflictFilter {
  readonly agent?: string;
  readonly type?: ConflictType;
  /** Reported at or after, µs. */
  readonly sinceUs?: number;
  /** Only conflicts not resolved. */
  readonly open?: boolean;
  readonly conflictId?: string;
}

export class ConflictProjection {
  private readonly rows = new Map<string, ConflictSummary>();

  constructor(private readonly filter: ConflictFilter = {}) {}

  private matches(agent: string, type: ConflictType, at: number, id: string): boolean {
    const f = this.filter;
    return (f.agent === undefined || f.agent === agent) && (f.type === undefined || f.type === type)
      && (f.sinceUs === undefined || at >= f.sinceUs) && (f.conflictId === undefined || f.conflictId === id);
  }

  fold(e: SolvermeshEvent | undefined): void {
    if (e === undefined) return;
    switch (e.type) {
      case 'ConflictReported':
        if (this.rows.has(e.conflict_id) || !this.matches(e.agent_id, e.detail.conflict_type, e.meta.occurred_at, e.conflict_id)) return;
        this.rows.set(e.conflict_id, {
          conflict_id: e.conflict_id, agent_id: e.agent_id, message_id: e.message_id, correlation_id: e.meta.correlation_id,
          conflict_type: e.detail.conflict_type, reported_at: e.meta.occurred_at, status: 'REPORTED', priority: null, strategy: null,
          resolve_by: null, escalated_to: [], overdue: false, resolved_by: null, resolved_at: null, method: null, outcome: null, notes: null,
        });
        return;
      case 'ConflictQuarantined': {
        const r = this.rows.get(e.conflict_id);
        if (!r) return;
        if (r.status === 'REPORTED') r.status = 'OPEN';
        r.priority = e.priority;
        r.strategy = e.suggested_strategy.method;
        r.resolve_by = e.resolve_by;
        return;
      }
      case 'ConflictEscalated': {
        const r = this.rows.get(e.conflict_id);
        if (!r) return;
        r.escalated_to.push(e.level);
        if (e.reason.startsWith('overdue:')) r.overdue = true;
        return;
      }
      case 'ConflictResolved': {
        const r = this.rows.get(e.conflict_id);
        if (!r) return;
        r.status = 'RESOLVED';
        r.resolved_by = e.resolved_by;
        r.resolved_at = e.meta.occurred_at;
        r.method = e.method;
        r.outcome = e.outcome;
        r.notes = e.notes;
        return;
      }
      default:
    }
  }

  get(conflictId: string): ConflictSummary | undefined {
    return this.rows.get(conflictId);
  }

  /** Matching conflicts, oldest report first. */
  list(): ConflictSummary[] {
    const out = [...this.rows.values()].filter((r) => !this.filter.open || r.status !== 'RESOLVED');
    return out.sort((a, b) => a.reported_at - b.reported_at || (a.conflict_id < b.conflict_id ? -1 : 1));
  }
}

const iso = (us: number | null) => (us === null ? '-' : new Date(Math.floor(us / 1000)).toISOString());

export function conflictTable(rows: readonly ConflictSummary[]): string[] {
  const head = ['CONFLICT', 'REPORTED', 'AGENT', 'TYPE', 'P', 'STRATEGY', 'STATUS', 'RESOLVE BY', 'ESCALATED', 'RESOLVED BY'];
  const body = rows.map((r) => [
    r.conflict_id, iso(r.reported_at), r.agent_id, r.conflict_type, r.priority === null ? '-' : String(r.priority), r.strategy ?? '-',
    r.status === 'OPEN' && r.overdue ? 'OVERDUE' : r.status, iso(r.resolve_by), r.escalated_to.length === 0 ? '-' : r.escalated_to.join('>'),
    r.resolved_by === null ? '-' : `${r.resolved_by} (${r.method} ${r.outcome})`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)];
}

/** `--since`: `30m`, `2h`, `1d`, `45s` ago, an ISO time, or µs since the epoch. */
export function parseSince(v: string, nowUs: number): number {
  const t = v.trim();
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(t);
  if (rel) return nowUs - Math.round(Number(rel[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[rel[2] as 's' | 'm' | 'h' | 'd'] * 1e6);
  if (/^\d{16}$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`--since ${JSON.stringify(v)}: use 30m, 2h, 1d (ago), an ISO time, or µs since the epoch`);
  return ms * 1000;
}
