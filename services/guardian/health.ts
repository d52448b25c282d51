// The seed 004 health summary of the guardian's fold: components monitored, learned patterns,
// open breakers, recent witnesses, plus the mesh's mode and partition state.
import type { StructuralWitnessRecorded } from '../../schemas/generated/events';
import { nextProbeAt } from './breakers';
import type { GuardianCore } from './core';

export interface GuardianHealth {
  readonly clock: number;
  readonly mode: string;
  readonly frozenSince: number | null;
  readonly componentsMonitored: number;
  readonly suspected: readonly string[];
  readonly crashed: readonly string[];
  readonly patterns: ReadonlyArray<{ readonly name: string; readonly sequence: string; readonly occurrences: number; readonly expectedLatencyUs: number; readonly learned: boolean }>;
  readonly openBreakers: ReadonlyArray<{ readonly breaker: string; readonly state: string; readonly nextAt: number | null }>;
  readonly recentWitnesses: ReadonlyArray<{ readonly at: number; readonly trigger: string; readonly text: string; readonly decision: string }>;
}

export function healthOf(core: GuardianCore, witnesses: readonly StructuralWitnessRecorded[]): GuardianHealth {
  const learnedAt = core.policy.patterns.learnedAt;
  const openBreakers = [
    ...[...core.board.breakers].map(([k, b]) => ({ breaker: k, state: b.status, nextAt: nextProbeAt(b) })),
    ...[...core.components].filter(([, c]) => c.state !== 'CLOSED').map(([id, c]) => ({ breaker: `COMPONENT:${id}`, state: c.state, nextAt: c.state === 'OPEN' ? c.lastFailure + c.resetTimeoutUs : null })),
  ].sort((a, b) => a.breaker.localeCompare(b.breaker));
  return {
    clock: core.clock,
    mode: core.currentMode,
    frozenSince: core.split.status === 'frozen' ? core.split.since : null,
    componentsMonitored: core.latencies.size,
    suspected: [...core.suspects].filter(([, x]) => x.status === 'suspected').map(([id]) => id).sort(),
    crashed: [...core.suspects].filter(([, x]) => x.status === 'crashed').map(([id]) => id).sort(),
    patterns: [...core.learner.patterns.values()].map((p) => ({
      name: p.name, sequence: p.sequence.map(([a, b]) => `${a}->${b}`).join(' '), occurrences: p.occurrences,
      expectedLatencyUs: p.expectedLatencyUs, learned: p.occurrences >= learnedAt,
    })),
    openBreakers,
    recentWitnesses: witnesses.slice(-core.policy.recentWitnesses).map((w) => ({ at: w.meta.occurred_at, trigger: w.trigger, text: w.trigger_text, decision: w.decision })),
  };
}

const iso = (us: number | null) => (us === null || us === 0 ? '-' : new Date(Math.floor(us / 1000)).toISOString());

export function formatHealth(h: GuardianHealth): string {
  const lines = [
    `guardian at ${iso(h.clock)} (event time)`,
    `  mode ${h.mode}${h.frozenSince !== null ? `, FROZEN (read-only) since ${iso(h.frozenSince)}` : ''}`,
    `  components monitored: ${h.componentsMonitored}`,
    `  suspected: ${h.suspected.length}, crashed (confirmed): ${h.crashed.length}${h.crashed.length > 0 ? ` (${h.crashed.slice(0, 10).join(', ')}${h.crashed.length > 10 ? ', ...' : ''})` : ''}`,
    `  patterns: ${h.patterns.length} (${h.patterns.filter((p) => p.learned).length} learned)`,
    ...h.patterns.map((p) => `    ${p.name.padEnd(12)} ${String(p.occurrences).padStart(6)}x  ~${p.expectedLatencyUs} us${p.learned ? '  learned' : ''}  ${p.sequence}`),
    `  breakers not closed: ${h.openBreakers.length}`,
    ...h.openBreakers.map((b) => `    ${b.breaker.padEnd(28)} ${b.state.padEnd(9)} next ${iso(b.nextAt)}`),
    `  recent witnesses: ${h.recentWitnesses.length}`,
    ...h.recentWitnesses.map((w) => `    ${iso(w.at)} ${w.trigger.padEnd(17)} ${w.text}: ${w.decision}`),
  ];
  return lines.join('\n');
}
