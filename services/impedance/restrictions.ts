// What the guardian's decisions forbid the schedules (seed 002 §6.2 is_routable, §6.3 modes,
// seed 003 read-only minority): agents behind an OPEN cluster, sector or mesh breaker are SKIPped
// with CIRCUIT_OPEN; in DEGRADED_MODERATE a scatter over 1000 agents is refused; in
// DEGRADED_SEVERE only critical requests an operator approved pass (coordination-gate.ts), in
// EMERGENCY only critical requests. A frozen mesh schedules nothing, but
// that is decided where the freeze stands in the request's own partition (freeze.ts), not here:
// the hash's `frozen` is for the status only.
//
// The guardian's events on mesh.circuits are keyed by scope, so the impedance instance that owns
// a request's partition need not own the partition of the breaker that concerns it: whoever
// consumes a decision writes it into one Redis hash, newer event time winning, and every instance
// reads the hash when it schedules. Like the registry, a projection rebuilt from the log. The
// hash also holds, per mesh.circuits partition, the last offset folded into it (`@<partition>`),
// so a schedule names the decisions it obeyed and a replay refolds them (foldDecision).
import type {
  CircuitStateChanged, CoordinationRequested, InputPosition, MeshFrozen, MeshThawed, OperationalMode, OperationalModeChanged, ScheduleComputed,
} from '../../schemas/generated/events';
import { derivedEventId } from '../runtime/ids';
import { transient } from '../runtime/errors';
import { PRODUCER } from './agent-fold';
import type { RegistryStore } from './registry-store';
import type { ScheduleAgent } from './schedule';

export type GuardianDecision = CircuitStateChanged | OperationalModeChanged | MeshFrozen | MeshThawed;
export const RESTRICTION_INPUT_TYPES = ['CircuitStateChanged', 'OperationalModeChanged', 'MeshFrozen', 'MeshThawed'] as const satisfies ReadonlyArray<GuardianDecision['type']>;

/** Seed 002 §6.3 DEGRADED_MODERATE: "Disable scatter operations over 1000 agents". */
export const MODERATE_SCATTER_LIMIT = 1000;
/** CoordinationRequested.priority of critical traffic. */
export const CRITICAL_PRIORITY = 3;

export interface Restrictions {
  /** Breakers OPEN now, as `CLUSTER:<id>`, `SECTOR:<id>`, `GLOBAL:global`. */
  readonly open: ReadonlySet<string>;
  readonly mode: OperationalMode;
  readonly frozen: boolean;
  /** Per mesh.circuits partition, the last offset folded in, by partition. */
  readonly through: readonly InputPosition[];
}

export const NO_RESTRICTIONS: Restrictions = { open: new Set(), mode: 'FULL', frozen: false, through: [] };

const CIRCUITS = 'mesh.circuits';
const POSITION = '@';

/** The hash field and value a decision sets. */
export function restrictionEntry(e: GuardianDecision): { readonly field: string; readonly value: string } {
  switch (e.type) {
    case 'CircuitStateChanged': return { field: `${e.scope}:${e.scope_id}`, value: e.new_state };
    case 'OperationalModeChanged': return { field: 'mode', value: e.new_mode };
    case 'MeshFrozen': return { field: 'frozen', value: '1' };
    case 'MeshThawed': return { field: 'frozen', value: '0' };
    default: { const never: never = e; return never; }
  }
}

/** The restrictions a hash of `field -> value|event time` holds. */
export function restrictionsOf(hash: Readonly<Record<string, string>>): Restrictions {
  const open = new Set<string>();
  let mode: OperationalMode = 'FULL';
  let frozen = false;
  const through: InputPosition[] = [];
  for (const [field, raw] of Object.entries(hash)) {
    if (field.startsWith(POSITION)) { through.push({ topic: CIRCUITS, partition: Number(field.slice(1)), offset: Number(raw) }); continue; }
    const value = raw.slice(0, raw.indexOf('|'));
    if (field === 'mode') mode = value as OperationalMode;
    else if (field === 'frozen') frozen = value === '1';
    else if (value === 'OPEN') open.add(field);
  }
  through.sort((a, b) => a.partition - b.partition);
  return { open, mode, frozen, through };
}

/** Where a decision was read: its mesh.circuits partition and offset. */
export interface DecisionAt { readonly partition: number; readonly offset: number }

/** What WRITE_NEWER does to the hash, for a replay: the decision unless an older one than stored, and the position. */
export function foldDecision(hash: Record<string, string>, e: GuardianDecision, at: DecisionAt): void {
  const { field, value } = restrictionEntry(e);
  const cur = hash[field];
  const stored = cur === undefined ? undefined : /\|(\d+)$/.exec(cur)?.[1];
  if (stored === undefined || !(Number(stored) > e.meta.occurred_at)) hash[field] = `${value}|${e.meta.occurred_at}`;
  const pos = `${POSITION}${at.partition}`;
  if (hash[pos] === undefined || Number(hash[pos]) < at.offset) hash[pos] = String(at.offset);
}

/** Whether an agent sits behind an OPEN breaker. */
export function circuitOpen(r: Restrictions, a: Pick<ScheduleAgent, 'clusterId' | 'sectorId'>): boolean {
  return r.open.has('GLOBAL:global') || r.open.has(`SECTOR:${a.sectorId}`) || r.open.has(`CLUSTER:${a.clusterId}`);
}

/**
 * Why the whole request is refused, or null when it may be scheduled. `approved`: an operator's
 * CoordinationApproved for its correlation id came before it in its partition.
 */
export function refusal(r: Restrictions, req: CoordinationRequested, targets: number, approved = false): string | null {
  if ((r.mode === 'DEGRADED_SEVERE' || r.mode === 'EMERGENCY') && req.priority < CRITICAL_PRIORITY) {
    return `${r.mode}: critical operations only (priority ${req.priority} < ${CRITICAL_PRIORITY})`;
  }
  if (r.mode === 'DEGRADED_SEVERE' && !approved) {
    return `DEGRADED_SEVERE: operator approval required: approve a new correlation id (solvermesh mesh approve <id>) and send the request under it (--correlation-id <id>)`;
  }
  if (r.mode === 'DEGRADED_MODERATE' && targets > MODERATE_SCATTER_LIMIT) {
    return `DEGRADED_MODERATE: scatter operations over ${MODERATE_SCATTER_LIMIT} agents are disabled (${targets} targets)`;
  }
  return null;
}

/** The one-chunk answer to a refused request: no entries, the reason. */
export function refusedSchedule(req: CoordinationRequested, reason: string, restrictionsThrough: readonly InputPosition[] | null = null): ScheduleComputed {
  return {
    type: 'ScheduleComputed',
    meta: {
      event_id: derivedEventId(req.meta.event_id, 'schedule:0'), correlation_id: req.meta.correlation_id, causation_id: req.meta.event_id,
      occurred_at: req.meta.occurred_at, producer: PRODUCER, sequence: 0,
    },
    message_id: req.message_id, target_arrival_time: req.target_arrival_time, chunk_index: 0, chunk_count: 1, entries: [], terms: null, refused_reason: reason,
    restrictions_through: restrictionsThrough === null ? null : [...restrictionsThrough],
  };
}

// field -> "value|event time": a decision older than the one stored (an old owner's batch
// landing after the new owner's) changes nothing. '@<partition>' -> the highest offset folded
// (ARGV[4], ARGV[5]), in the same call, so a reader never sees a decision without its position.
const WRITE_NEWER = `
local p = tonumber(redis.call('HGET', KEYS[1], ARGV[4]) or '-1')
if p < tonumber(ARGV[5]) then redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local at = tonumber(string.match(cur, '|(%d+)$'))
  if at and at > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return 1`;

const hashKey = (store: RegistryStore) => `${store.prefix}restrictions`;

/** Writes a decision read at `at` of mesh.circuits into the shared hash. */
export async function recordDecision(store: RegistryStore, e: GuardianDecision, at: DecisionAt): Promise<void> {
  const { field, value } = restrictionEntry(e);
  try {
    await store.redis.eval(WRITE_NEWER, 1, hashKey(store), field, value, String(e.meta.occurred_at), `${POSITION}${at.partition}`, String(at.offset));
  } catch (err) {
    throw transient('STORE_UNAVAILABLE', `redis: write restriction ${field} failed: ${(err as Error).message}`, err);
  }
}

export async function readRestrictions(store: RegistryStore): Promise<Restrictions> {
  try {
    return restrictionsOf(await store.redis.hgetall(hashKey(store)));
  } catch (err) {
    throw transient('STORE_UNAVAILABLE', `redis: read restrictions failed: ${(err as Error).message}`, err);
  }
}
