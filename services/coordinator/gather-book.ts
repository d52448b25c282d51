// The gathers of one mesh.acks partition, kept in bounded memory. A decided gather is already
// small (its acks are dropped at the decision), but every correlation id the partition ever saw
// would stay in the map, and acks of a coordination whose dispatch summary never comes would
// stay with it. Both go once the partition's event time (the latest occurred_at folded, never
// back) has moved `retentionUs` past the moment they became droppable. Open gathers stay: their
// deadline closes them.
//
// A dropped decided id cannot decide again: only a DispatchCompleted opens a gather, the
// dispatcher writes one per coordination ahead of every ack that could decide it, and a late ack
// or a second deadline for a dropped id leaves at most acks waiting for a summary that never
// comes (dropped in turn). The clock and the order come from the log, so a restarted owner
// folding the partition again drops the same ids at the same records and decides alike.
//
// Mutable like the gather's acks map: the fold owns the book it is given.
import type { InputPosition, QuorumDecided } from '../../schemas/generated/events';
import { decide, evolve, NO_GATHER, quorumEvent, type Gather, type GatherInput } from './gather';
import type { QuorumThresholds } from './quorum';

export interface GatherBook {
  readonly gathers: Map<string, Gather>;
  /** The partition's event time, µs. */
  clockUs: number;
  /** Since when each droppable (early or decided) id has been droppable, by the clock. */
  readonly since: Map<string, number>;
  /** The droppable ids in the order they became so (so by `since`); entries whose `since` moved are skipped. */
  readonly queue: Array<{ readonly id: string; readonly atUs: number }>;
  head: number;
}

export const newGatherBook = (): GatherBook => ({ gathers: new Map(), clockUs: 0, since: new Map(), queue: [], head: 0 });

export const gatherOf = (b: GatherBook, id: string): Gather => b.gathers.get(id) ?? NO_GATHER;

const droppable = (g: Gather) => g.status === 'early' || g.status === 'decided';

/** Folds one input into its gather, then drops what the retention allows. */
export function foldGatherBook(b: GatherBook, input: GatherInput, t: QuorumThresholds, retentionUs: number): void {
  const id = input.meta.correlation_id;
  const before = gatherOf(b, id);
  const after = evolve(before, input, t);
  b.clockUs = Math.max(b.clockUs, input.meta.occurred_at);
  if (after.status === 'none') b.gathers.delete(id);
  else b.gathers.set(id, after);
  if (!droppable(after)) b.since.delete(id);
  else if (!droppable(before) || before.status !== after.status) {
    b.since.set(id, b.clockUs);
    b.queue.push({ id, atUs: b.clockUs });
  }
  evict(b, retentionUs);
}

/** One input at `at` in its partition: the decisions it brings about, the book folded past it. The processor's step, and the replay's. */
export function gatherStep(b: GatherBook, input: GatherInput, t: QuorumThresholds, retentionUs: number, at: InputPosition | null): QuorumDecided[] {
  const decided = decide(gatherOf(b, input.meta.correlation_id), input, t);
  foldGatherBook(b, input, t, retentionUs);
  return decided.map((d) => quorumEvent(input, d, t, at));
}

function evict(b: GatherBook, retentionUs: number): void {
  const horizon = b.clockUs - retentionUs;
  while (b.head < b.queue.length && b.queue[b.head]!.atUs <= horizon) {
    const { id, atUs } = b.queue[b.head++]!;
    if (b.since.get(id) !== atUs) continue;
    b.since.delete(id);
    b.gathers.delete(id);
  }
  if (b.head > 1024 && b.head * 2 > b.queue.length) {
    b.queue.splice(0, b.head);
    b.head = 0;
  }
}
