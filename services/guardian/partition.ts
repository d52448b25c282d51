// Partition handling (seed 003 PartitionHandler): with fewer than half of the known agents
// reachable this side is the minority and goes read-only (MeshFrozen PARTITION_MINORITY) until
// half or more are reachable again (MeshThawed). Reachable = known agents not OFFLINE. Pure.

export type PartitionState =
  | { readonly status: 'whole' }
  | { readonly status: 'frozen'; readonly since: number; readonly frozenEventId: string };

export const WHOLE: PartitionState = { status: 'whole' };

export interface Reach { readonly at: number; readonly reachable: number; readonly total: number }

export type PartitionFact =
  | { readonly kind: 'frozen'; readonly at: number; readonly reachable: number; readonly total: number }
  | { readonly kind: 'thawed'; readonly at: number; readonly frozenAt: number; readonly frozenEventId: string; readonly reachable: number; readonly total: number };

/** Seed 003: `len(reachable_peers) < total_peers * 0.5`. */
export const isMinority = (r: Reach) => r.total > 0 && r.reachable < r.total * 0.5;

export function decide(s: PartitionState, r: Reach): PartitionFact[] {
  const minority = isMinority(r);
  if (s.status === 'whole' && minority) return [{ kind: 'frozen', at: r.at, reachable: r.reachable, total: r.total }];
  if (s.status === 'frozen' && !minority) return [{ kind: 'thawed', at: r.at, frozenAt: s.since, frozenEventId: s.frozenEventId, reachable: r.reachable, total: r.total }];
  return [];
}

/** `eventId`: the MeshFrozen event's id, which the thaw names as its cause. */
export function evolve(s: PartitionState, f: PartitionFact, eventId: string): PartitionState {
  if (f.kind === 'frozen') return s.status === 'frozen' ? s : { status: 'frozen', since: f.at, frozenEventId: eventId };
  return WHOLE;
}
