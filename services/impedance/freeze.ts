// Freeze and thaw (seed 002 §7.1 console; seed 003 minority side read-only, the guardian's
// PARTITION_MINORITY): while the mesh is frozen, a coordination request is refused: its answer
// is a ScheduleComputed of no entries whose refused_reason starts with MESH_FROZEN.
//
// Sequencing: a MeshFrozen/MeshThawed on mesh.circuits has no order against requests on the six
// mesh.coordination partitions. So the impedance service copies it, in the transaction that
// consumes it, into every mesh.coordination partition (sequenced-copies.ts), and each
// partition's gate folds the copies in its own log order: whether a request is refused is
// decided by where it stands among the copies in its partition, which a replay of that
// partition sees the same. Pure.
import type { CoordinationRequested, MeshFrozen, MeshThawed } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import { refusedSchedule } from './restrictions';
import { copiesInto } from './sequenced-copies';

export type FreezeEvent = MeshFrozen | MeshThawed;

export type FreezeState =
  | { readonly status: 'thawed' }
  | { readonly status: 'frozen'; readonly since: number; readonly reason: MeshFrozen['reason']; readonly detail: string; readonly freezeId: string };

export const THAWED: FreezeState = { status: 'thawed' };

const COORDINATION: TopicName = 'mesh.coordination';
const SCHEDULES: TopicName = 'mesh.schedules';
export const COPY_PREFIX = 'mesh-freeze:';

/** The id of the command a copy was made from (copies carry it as causation). */
export const originOf = (e: FreezeEvent) => (e.meta.correlation_id.startsWith(COPY_PREFIX) ? e.meta.causation_id : e.meta.event_id);

export function evolveFreeze(s: FreezeState, e: FreezeEvent): FreezeState {
  switch (e.type) {
    // A second freeze while frozen keeps the first one's start: the mesh has been read-only since then.
    case 'MeshFrozen': return s.status === 'frozen' ? s : { status: 'frozen', since: e.meta.occurred_at, reason: e.reason, detail: e.detail, freezeId: originOf(e) ?? e.meta.event_id };
    case 'MeshThawed': return THAWED;
  }
}

/** One copy per mesh.coordination partition, each keyed (and correlated) to land on its own. */
export const sequencedCopies = (e: FreezeEvent, partitions: number): Emit[] => copiesInto(COORDINATION, e, partitions, COPY_PREFIX);

/** Why a frozen partition refuses a request; `MESH_FROZEN` first, for scripts. */
export const frozenReason = (s: Extract<FreezeState, { status: 'frozen' }>) =>
  `MESH_FROZEN: the mesh is frozen since ${new Date(Math.floor(s.since / 1000)).toISOString()} (${s.reason}: ${s.detail}); no new coordinations until it is thawed`;

/** The refused schedule (restrictions.ts refusedSchedule: one chunk, no entries, the reason). */
export function refusal(req: CoordinationRequested, s: Extract<FreezeState, { status: 'frozen' }>): Emit {
  return { topic: SCHEDULES, key: req.meta.correlation_id, event: refusedSchedule(req, frozenReason(s)) };
}
