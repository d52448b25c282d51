// Circuit breakers of clusters, sectors and the mesh (seed 002 §6.2). A cluster opens above 5
// failed agents, a sector above 50, the mesh when more than 10 sectors are open. An open breaker
// is probed 30 s later: a scope back within its threshold goes HALF_OPEN and is evaluated 60 s
// later, a failing one stays OPEN and waits 60 s for the next probe. Failures are the agents of
// the scope that are down now (OFFLINE or QUARANTINED), so recovery is the same fact read the
// other way. Pure: time arrives in the inputs.
import type { CircuitScope, CircuitState } from '../../schemas/generated/events';

export interface BreakerPolicy {
  readonly clusterThreshold: number;
  readonly sectorThreshold: number;
  /** Open sectors above which the mesh breaker opens. */
  readonly globalThreshold: number;
  readonly probeAfterUs: number;
  readonly monitorUs: number;
  /** Wait after a failed probe or a failed half-open evaluation. */
  readonly retryAfterUs: number;
}

export const SEED_BREAKER_POLICY: BreakerPolicy = {
  clusterThreshold: 5, sectorThreshold: 50, globalThreshold: 10,
  probeAfterUs: 30_000_000, monitorUs: 60_000_000, retryAfterUs: 60_000_000,
};

export const GLOBAL_ID = 'global';

export type Breaker =
  | { readonly status: 'CLOSED' }
  | { readonly status: 'OPEN'; readonly openedAt: number; readonly probeAt: number }
  | { readonly status: 'HALF_OPEN'; readonly since: number; readonly evaluateAt: number };

const CLOSED: Breaker = { status: 'CLOSED' };

export interface Placement { readonly clusterId: string; readonly sectorId: string }

export interface BreakerBoard {
  readonly clusterDown: ReadonlyMap<string, number>;
  readonly sectorDown: ReadonlyMap<string, number>;
  /** By breakerKey(scope, id); absent = CLOSED. */
  readonly breakers: ReadonlyMap<string, Breaker>;
}

export const EMPTY_BOARD: BreakerBoard = { clusterDown: new Map(), sectorDown: new Map(), breakers: new Map() };

export const breakerKey = (scope: CircuitScope, id: string) => `${scope}:${id}`;

export type BreakerInput =
  /** An agent's down placement changed: `was` where it was counted down (null: it was up), `now` where it is down (null: up). */
  | { readonly kind: 'agent'; readonly at: number; readonly was: Placement | null; readonly now: Placement | null }
  /** Opened from outside the thresholds (the cascade reflex). */
  | { readonly kind: 'trip'; readonly at: number; readonly scope: CircuitScope; readonly id: string; readonly reason: string }
  | { readonly kind: 'time'; readonly at: number };

/** A breaker changed: its state, or (OPEN -> OPEN after a failed probe) when it is probed next. */
export interface BreakerChanged {
  readonly kind: 'changed';
  readonly at: number;
  readonly scope: CircuitScope;
  readonly id: string;
  readonly from: CircuitState;
  readonly to: Breaker;
  readonly failures: number;
  readonly threshold: number;
  readonly reason: string;
}

export type BreakerEvent = BreakerInput | BreakerChanged;

export const nextProbeAt = (b: Breaker): number | null => (b.status === 'OPEN' ? b.probeAt : b.status === 'HALF_OPEN' ? b.evaluateAt : null);

export function breakerOf(board: BreakerBoard, scope: CircuitScope, id: string): Breaker {
  return board.breakers.get(breakerKey(scope, id)) ?? CLOSED;
}

export function thresholdOf(scope: CircuitScope, p: BreakerPolicy): number {
  return scope === 'CLUSTER' ? p.clusterThreshold : scope === 'SECTOR' ? p.sectorThreshold : p.globalThreshold;
}

/** Failures of a scope now: down agents of a cluster or sector, open sectors of the mesh. */
export function failuresOf(board: BreakerBoard, scope: CircuitScope, id: string): number {
  if (scope === 'CLUSTER') return board.clusterDown.get(id) ?? 0;
  if (scope === 'SECTOR') return board.sectorDown.get(id) ?? 0;
  let open = 0;
  for (const [k, b] of board.breakers) if (b.status === 'OPEN' && k.startsWith('SECTOR:')) open++;
  return open;
}

const scopeText = (scope: CircuitScope, id: string) => (scope === 'GLOBAL' ? 'the mesh' : `${scope.toLowerCase()} ${id}`);
const unit = (scope: CircuitScope) => (scope === 'GLOBAL' ? 'open sectors' : 'failed agents');

/** The breaker changes an input causes, in the order they happen. */
export function decide(board: BreakerBoard, input: BreakerInput, p: BreakerPolicy): BreakerChanged[] {
  let s = evolve(board, input);
  const out: BreakerChanged[] = [];
  const change = (scope: CircuitScope, id: string, to: Breaker, reason: string) => {
    const c: BreakerChanged = {
      kind: 'changed', at: input.at, scope, id, from: breakerOf(s, scope, id).status, to,
      failures: failuresOf(s, scope, id), threshold: thresholdOf(scope, p), reason,
    };
    out.push(c);
    s = evolve(s, c);
  };
  const over = (scope: CircuitScope, id: string) => {
    const b = breakerOf(s, scope, id);
    const n = failuresOf(s, scope, id);
    const t = thresholdOf(scope, p);
    if (b.status === 'OPEN' || n <= t) return;
    const during = b.status === 'HALF_OPEN' ? ' while half-open' : '';
    const wait = b.status === 'HALF_OPEN' ? p.retryAfterUs : p.probeAfterUs;
    change(scope, id, { status: 'OPEN', openedAt: input.at, probeAt: input.at + wait }, `${n} ${unit(scope)} > ${t} in ${scopeText(scope, id)}${during}`);
  };

  if (input.kind === 'agent' && input.now) {
    over('CLUSTER', input.now.clusterId);
    over('SECTOR', input.now.sectorId);
  } else if (input.kind === 'trip') {
    const b = breakerOf(s, input.scope, input.id);
    if (b.status !== 'OPEN') change(input.scope, input.id, { status: 'OPEN', openedAt: input.at, probeAt: input.at + p.probeAfterUs }, input.reason);
  }
  over('GLOBAL', GLOBAL_ID);

  // Timers due by this input's event time, in key order so a replay fires them alike.
  const due: string[] = [];
  for (const [key, b] of s.breakers) { const t = nextProbeAt(b); if (t !== null && t <= input.at) due.push(key); }
  for (const key of due.sort()) {
    const b = s.breakers.get(key)!;
    const [scope, id] = splitKey(key);
    const n = failuresOf(s, scope, id);
    const t = thresholdOf(scope, p);
    const healthy = n <= t;
    if (b.status === 'OPEN') {
      if (healthy) change(scope, id, { status: 'HALF_OPEN', since: input.at, evaluateAt: input.at + p.monitorUs }, `probe succeeded: ${n} ${unit(scope)} <= ${t}; monitoring`);
      else change(scope, id, { status: 'OPEN', openedAt: b.openedAt, probeAt: input.at + p.retryAfterUs }, `probe failed: ${n} ${unit(scope)} > ${t}; next probe in ${p.retryAfterUs / 1e6} s`);
    } else if (b.status === 'HALF_OPEN') {
      if (healthy) change(scope, id, CLOSED, `recovered: ${n} ${unit(scope)} <= ${t} through ${p.monitorUs / 1e6} s of monitoring`);
      else change(scope, id, { status: 'OPEN', openedAt: input.at, probeAt: input.at + p.retryAfterUs }, `failed while half-open: ${n} ${unit(scope)} > ${t}`);
    }
  }
  // A sector that closed or reopened can move the mesh breaker.
  if (out.some((c) => c.scope === 'SECTOR')) over('GLOBAL', GLOBAL_ID);
  return out;
}

function splitKey(key: string): [CircuitScope, string] {
  const at = key.indexOf(':');
  return [key.slice(0, at) as CircuitScope, key.slice(at + 1)];
}

function bump(m: ReadonlyMap<string, number>, k: string, by: number): Map<string, number> {
  const next = new Map(m);
  const n = (m.get(k) ?? 0) + by;
  if (n > 0) next.set(k, n); else next.delete(k);
  return next;
}

/** The board after an input or a change. Total: any event in any state yields a board. */
export function evolve(board: BreakerBoard, e: BreakerEvent): BreakerBoard {
  switch (e.kind) {
    case 'agent': {
      let { clusterDown, sectorDown } = board;
      if (e.was) {
        clusterDown = bump(clusterDown, e.was.clusterId, -1);
        sectorDown = bump(sectorDown, e.was.sectorId, -1);
      }
      if (e.now) {
        clusterDown = bump(clusterDown, e.now.clusterId, 1);
        sectorDown = bump(sectorDown, e.now.sectorId, 1);
      }
      return { ...board, clusterDown, sectorDown };
    }
    case 'changed': {
      const breakers = new Map(board.breakers);
      const key = breakerKey(e.scope, e.id);
      if (e.to.status === 'CLOSED') breakers.delete(key); else breakers.set(key, e.to);
      return { ...board, breakers };
    }
    case 'trip':
    case 'time':
      return board;
    default: { const never: never = e; return never; }
  }
}

/** Seed 002 §6.2 is_routable: the mesh, the agent's sector and its cluster all not OPEN. */
export function isRoutable(board: BreakerBoard, where: Placement): boolean {
  return breakerOf(board, 'GLOBAL', GLOBAL_ID).status !== 'OPEN'
    && breakerOf(board, 'SECTOR', where.sectorId).status !== 'OPEN'
    && breakerOf(board, 'CLUSTER', where.clusterId).status !== 'OPEN';
}
