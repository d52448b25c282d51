// The adaptive verification interval (seed 000 §5.5): x1.1 after a verified check up to 2.0,
// x0.8 after a failed one down to 0.5.

const SCHEDULE = { grow: 1.1, shrink: 0.8, max: 2.0, min: 0.5 } as const;

export const adapt = (multiplier: number, verified: boolean): number =>
  verified ? Math.min(SCHEDULE.max, multiplier * SCHEDULE.grow) : Math.max(SCHEDULE.min, multiplier * SCHEDULE.shrink);

/** The interval, in iterations, the solver is asked to follow next: at least 1. */
export const nextInterval = (interval: number, multiplier: number): number => Math.max(1, Math.round(interval * multiplier));
