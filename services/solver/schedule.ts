// The adaptive verification interval (seed 000 §5.5): x1.1 after a verified check up to 2.0,
// x0.8 after a failed one down to 0.5. The verifiers compute it; the solver follows the value
// their consensus agreed on, kept inside the same bounds of the session's base interval.

const SCHEDULE = { grow: 1.1, shrink: 0.8, max: 2.0, min: 0.5 } as const;

export const adapt = (multiplier: number, verified: boolean): number =>
  verified ? Math.min(SCHEDULE.max, multiplier * SCHEDULE.grow) : Math.max(SCHEDULE.min, multiplier * SCHEDULE.shrink);

/** The interval, in iterations, the solver is asked to follow next: at least 1. */
export const nextInterval = (interval: number, multiplier: number): number => Math.max(1, Math.round(interval * multiplier));

/**
 * The interval the solver takes from an agreed `requested` one: within what the schedule can
 * reach from `base`, so a forged or corrupt consensus cannot stall or flood the session.
 */
export const followInterval = (base: number, requested: number): number =>
  Math.min(nextInterval(base, SCHEDULE.max), Math.max(nextInterval(base, SCHEDULE.min), Math.round(requested)));
