// The conflicts of one mesh.conflicts partition and their resolution queue: the lifecycle
// decider (conflict-lifecycle.ts) applied per conflict id. Pure.
import type { ConflictFact, ConflictInput, ConflictState } from './conflict-lifecycle';
import { isOverdue, step, UNKNOWN } from './conflict-lifecycle';

export interface QueuedConflict {
  readonly conflictId: string;
  readonly priority: number;
  readonly resolveBy: number | null;
  /** Escalated as overdue already: its deadline has done its work. */
  readonly overdue: boolean;
}

export class ConflictBook {
  private readonly states = new Map<string, ConflictState>();

  state(conflictId: string): ConflictState {
    return this.states.get(conflictId) ?? UNKNOWN;
  }

  apply(input: ConflictInput): ConflictFact[] {
    const { facts, state } = step(this.state(input.conflict_id), input);
    if (state.status !== 'unknown') this.states.set(input.conflict_id, state);
    return facts;
  }

  /** Open conflicts, most urgent first: priority high to low, then the earliest resolve_by (none last). */
  queue(): QueuedConflict[] {
    const out: QueuedConflict[] = [];
    for (const [conflictId, s] of this.states) if (s.status === 'open') out.push({ conflictId, priority: s.priority, resolveBy: s.resolveBy, overdue: isOverdue(s) });
    return out.sort((a, b) => b.priority - a.priority || (a.resolveBy ?? Infinity) - (b.resolveBy ?? Infinity) || (a.conflictId < b.conflictId ? -1 : 1));
  }
}
