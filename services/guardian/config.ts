// The guardian's knobs.
import type { KnobDecls } from '../runtime/knobs';

export const GUARDIAN_KNOBS = {
  guardianTickMs: { env: 'GUARDIAN_TICK_MS', kind: 'int', default: 1000, min: 0, max: 60_000, doc: 'How often the guardian looks whether a breaker probe or evaluation is due by the wall clock, and if so writes a `GuardianClockTicked` record onto `mesh.guardian`; the breaker changes where that record lands. 0: never (event time then moves only with the inputs, or ticks another writer sequences).' },
} as const satisfies KnobDecls;
