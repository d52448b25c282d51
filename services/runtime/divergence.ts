// Comparing recomputed events with recorded ones, for the replay tools: field by field, doubles
// bit for bit, bytes byte for byte; fields that hold wall-clock durations are skipped (they are
// measurements of the run, not facts derived from the inputs).

/**
 * Fields of derived events that time the work on the wall clock, and the sender's signature and
 * sequence a signed vote gets at the edge (services/identity): the pure core recomputes neither.
 */
export const WALL_CLOCK_FIELDS: ReadonlySet<string> = new Set(['iteration_time_ms', 'verification_time_ms', 'sender_seq', 'signature']);

export interface Difference {
  readonly path: string;
  readonly a: unknown;
  readonly b: unknown;
}

/** First field that differs; undefined when a and b are the same event. */
export function firstDifference(a: unknown, b: unknown, path = ''): Difference | undefined {
  if (WALL_CLOCK_FIELDS.has(path)) return undefined;
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) ? undefined : { path, a, b };
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b) ? undefined : { path, a: a.toString('hex'), b: b.toString('hex') };
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return { path: `${path}.length`, a: a.length, b: b.length };
    for (let i = 0; i < a.length; i++) { const d = firstDifference(a[i], b[i], `${path}[${i}]`); if (d) return d; }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : { path, a, b };
}

/** A recorded event and where it sits. */
export interface Recorded<E> {
  readonly topic: string;
  readonly offset: number;
  readonly event: E;
}

export interface Divergence {
  /** Position in the compared sequence. */
  readonly index: number;
  /** Where the recorded event sits (null: the recomputation has more events than the log). */
  readonly topic: string | null;
  readonly offset: number | null;
  readonly field: string;
  readonly recorded: unknown;
  readonly recomputed: unknown;
}

/** The first place where two sequences of events differ, from `start` on. */
export function firstDivergence<E extends object>(recorded: ReadonlyArray<Recorded<E>>, recomputed: readonly E[], summary: (e: E) => unknown, start = 0): Divergence | undefined {
  for (let i = start; i < Math.max(recorded.length, recomputed.length); i++) {
    const rec = recorded[i];
    const got = recomputed[i];
    const at = { index: i, topic: rec?.topic ?? null, offset: rec?.offset ?? null };
    if (!rec || !got) return { ...at, field: rec ? '(missing recomputed event)' : '(extra recomputed event)', recorded: rec ? summary(rec.event) : null, recomputed: got ? summary(got) : null };
    const d = firstDifference(rec.event, got);
    if (d) return { ...at, field: d.path, recorded: d.a, recomputed: d.b };
  }
  return undefined;
}
