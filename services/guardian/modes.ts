// Graceful degradation (seed 002 §6.3): the operational mode from the active agent rate, with
// the seed's descriptions and restrictions; a change of mode is a fact. An empty mesh (no agents
// known) has no rate and keeps its mode. Pure.
import type { OperationalMode } from '../../schemas/generated/events';

export interface ModeSpec {
  readonly mode: OperationalMode;
  /** Lowest active rate of the mode (inclusive). */
  readonly from: number;
  readonly description: string;
  readonly restrictions: readonly string[];
}

export const MODES: readonly ModeSpec[] = [
  { mode: 'FULL', from: 0.95, description: 'All systems nominal', restrictions: [] },
  { mode: 'DEGRADED_LIGHT', from: 0.80, description: 'Minor capacity reduction', restrictions: ['Disable non-critical background tasks', 'Increase retry timeouts'] },
  { mode: 'DEGRADED_MODERATE', from: 0.60, description: 'Significant capacity reduction', restrictions: ['Route to healthy sectors only', 'Disable scatter operations over 1000 agents', 'Queue non-urgent operations'] },
  { mode: 'DEGRADED_SEVERE', from: 0.30, description: 'Major outage in progress', restrictions: ['Critical operations only', 'Human approval for all mesh-wide operations', 'Prepare for potential full shutdown'] },
  { mode: 'EMERGENCY', from: 0, description: 'Mesh critically impaired', restrictions: ['Halt all automated operations', 'Preserve state to persistent storage', 'Alert all human operators', 'Investigate root cause before any action'] },
];

export const modeSpec = (mode: OperationalMode): ModeSpec => MODES.find((m) => m.mode === mode)!;

export function modeFor(activeRate: number): ModeSpec {
  return MODES.find((m) => activeRate >= m.from) ?? MODES[MODES.length - 1]!;
}

export interface ModeState { readonly mode: OperationalMode }
export const INITIAL_MODE: ModeState = { mode: 'FULL' };

export interface MeshCount { readonly at: number; readonly active: number; readonly total: number }

export interface ModeChanged {
  readonly kind: 'modeChanged';
  readonly at: number;
  readonly from: OperationalMode;
  readonly to: ModeSpec;
  readonly activeRate: number;
  readonly active: number;
  readonly total: number;
}

export function decide(s: ModeState, c: MeshCount): ModeChanged[] {
  if (c.total <= 0) return [];
  const activeRate = Math.min(1, Math.max(0, c.active / c.total));
  const to = modeFor(activeRate);
  return to.mode === s.mode ? [] : [{ kind: 'modeChanged', at: c.at, from: s.mode, to, activeRate, active: c.active, total: c.total }];
}

export const evolve = (s: ModeState, f: ModeChanged): ModeState => (f.to.mode === s.mode ? s : { mode: f.to.mode });
