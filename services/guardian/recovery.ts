// Seed 002 §11.1 recovery_time, "time from failure detection to mesh restored, per incident":
// <= 5 minutes for a cluster, <= 15 minutes for a sector. An incident is restored by the breaker
// change that closes it, which carries its recovery time; one still under way counts from its
// detection to the guardian's clock. Pure.
import type { CircuitScope, CircuitStateChanged } from '../../schemas/generated/events';
import { p50 } from '../impedance/score';
import type { BreakerBoard } from './breakers';

const MIN_US = 60_000_000;

/** The seed's targets; the mesh breaker has none. */
export const RECOVERY_TARGET_US: Readonly<Record<CircuitScope, number | null>> = { CLUSTER: 5 * MIN_US, SECTOR: 15 * MIN_US, GLOBAL: null };

const SCOPES: readonly CircuitScope[] = ['CLUSTER', 'SECTOR', 'GLOBAL'];

export interface RecoveryKpi {
  readonly scope: CircuitScope;
  readonly targetUs: number | null;
  /** Incidents restored, and of them those within the target. */
  readonly restored: number;
  readonly withinTarget: number;
  /** Of the restored incidents' recovery times (p50 the lower middle); null when none. */
  readonly medianUs: number | null;
  readonly maxUs: number | null;
  /** Incidents not restored yet, and the longest of them so far. */
  readonly underWay: number;
  readonly longestUnderWayUs: number | null;
}

/** Per scope with any incident: recovery times of the closing changes, and the breakers still not closed at `clock`. */
export function recoveryKpis(changes: readonly CircuitStateChanged[], board: BreakerBoard, clock: number): RecoveryKpi[] {
  return SCOPES.flatMap((scope) => {
    const times = changes.flatMap((c) => (c.scope === scope && c.recovery_time_us !== null ? [c.recovery_time_us] : []));
    const open = [...board.breakers].flatMap(([key, b]) => (key.startsWith(`${scope}:`) && b.status !== 'CLOSED' ? [clock - b.detectedAt] : []));
    if (times.length === 0 && open.length === 0) return [];
    const targetUs = RECOVERY_TARGET_US[scope];
    return [{
      scope, targetUs,
      restored: times.length,
      withinTarget: targetUs === null ? times.length : times.filter((t) => t <= targetUs).length,
      medianUs: times.length === 0 ? null : p50(times),
      maxUs: times.length === 0 ? null : Math.max(...times),
      underWay: open.length,
      longestUnderWayUs: open.length === 0 ? null : Math.max(...open),
    }];
  });
}

const minutes = (us: number | null) => (us === null ? '-' : `${(us / MIN_US).toFixed(1)} min`);

export function formatRecovery(k: RecoveryKpi): string {
  const target = k.targetUs === null ? 'no target' : `${k.withinTarget}/${k.restored} within <= ${minutes(k.targetUs)}`;
  const under = k.underWay === 0 ? '' : `; ${k.underWay} under way, longest ${minutes(k.longestUnderWayUs)}`;
  return `${k.scope.padEnd(8)} ${k.restored} restored, median ${minutes(k.medianUs)}, max ${minutes(k.maxUs)}, ${target}${under}`;
}
