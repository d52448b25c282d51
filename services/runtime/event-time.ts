// The bound on an event time against its record's log time. Watermarks (the solver's stream time,
// the impedance partitions' heartbeat watermark, the coordinator's clocks) only move forward, to
// the largest event time folded: one record dated years ahead would move a partition's watermark
// there for good, evicting every session and taking every agent offline. A producer's clock may
// be off by seconds, not hours, so an event time further than the bound from the record's
// timestamp (CreateTime, which the broker itself bounds with message.timestamp.after.max.ms, or
// LogAppendTime) is refused. The verdict depends on the record alone, so replay and restore
// reach it again. Behind, the bound is loose: derived records (copies, ticks) written while a
// service catches up carry their source's older event time.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import type { EventValidator } from './processor';

export interface EventTimeBound {
  /** How far an event time may be ahead of its record's timestamp (ms). */
  readonly aheadMs: number;
  /** How far it may be behind it (ms). */
  readonly behindMs: number;
}

/** Why a record's event time is out of bound, or undefined when it is within. */
export function eventTimeSkew(event: SolvermeshEvent, timestampMs: number, bound: EventTimeBound): string | undefined {
  if (!Number.isFinite(timestampMs) || timestampMs <= 0) return undefined; // a record without a timestamp (-1): nothing to compare
  const skewMs = event.meta.occurred_at / 1000 - timestampMs;
  if (skewMs > bound.aheadMs) return `${event.type} occurred_at ${iso(event.meta.occurred_at)} is ${human(skewMs)} ahead of its record's timestamp ${iso(timestampMs * 1000)} (MAX_EVENT_TIME_SKEW_MS ${bound.aheadMs}): it would move the partition's watermark there`;
  if (-skewMs > bound.behindMs) return `${event.type} occurred_at ${iso(event.meta.occurred_at)} is ${human(-skewMs)} behind its record's timestamp ${iso(timestampMs * 1000)} (MAX_EVENT_TIME_AGE_MS ${bound.behindMs})`;
  return undefined;
}

/** The validator a restore or replay folds with: the runner's, plus the bound when the record's timestamp is given. */
export function withEventTimeBound(validate: EventValidator, bound: EventTimeBound): EventValidator {
  return (event, timestampMs) => {
    const issues = validate(event);
    if (timestampMs === undefined) return issues;
    const skew = eventTimeSkew(event, timestampMs, bound);
    return skew === undefined ? issues : [...issues, `EVENT_TIME_SKEW: ${skew}`];
  };
}

function iso(us: number): string {
  const d = new Date(us / 1000);
  return Number.isNaN(d.getTime()) ? String(us) + ' µs' : d.toISOString();
}

function human(ms: number): string {
  const units: Array<[number, string]> = [[365 * 86_400_000, 'years'], [86_400_000, 'days'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [u, name] of units) if (ms >= u) return `${(ms / u).toFixed(1)} ${name}`;
  return `${Math.round(ms)} ms`;
}
