// Failure detection with confirmation (seed 003 HeartbeatMonitor: a suspected peer is handled as
// failed only once confirmations come in). A first signal that an agent failed makes it
// suspected; it is declared crashed when a second signal confirms it: one of the other kind
// (missed heartbeats and a failed delivery) or the same kind from another observer. A sign of
// life clears the suspicion, and a crashed agent that comes back is healthy again. Pure.

export type SignalKind = 'MISSED_HEARTBEATS' | 'FAILED_DELIVERY';

export interface Signal {
  readonly kind: SignalKind;
  readonly observer: string;
  readonly eventId: string;
  readonly at: number;
}

export interface Placement { readonly clusterId: string; readonly sectorId: string }

export type Suspicion =
  | { readonly status: 'suspected'; readonly since: number; readonly signals: readonly Signal[]; readonly placement: Placement | null }
  | { readonly status: 'crashed'; readonly since: number; readonly signals: readonly Signal[]; readonly placement: Placement | null };

export type DetectionInput =
  | { readonly kind: 'signal'; readonly agentId: string; readonly signal: Signal; readonly placement: Placement | null }
  | { readonly kind: 'alive'; readonly agentId: string; readonly at: number };

export interface CrashConfirmed {
  readonly kind: 'crashConfirmed';
  readonly at: number;
  readonly agentId: string;
  readonly suspectedAt: number;
  readonly placement: Placement | null;
  readonly signals: readonly Signal[];
}

/** Whether `s` confirms the signals before it. */
export const confirms = (before: readonly Signal[], s: Signal) => before.some((b) => b.kind !== s.kind || b.observer !== s.observer);

/** `current`: the agent's suspicion, undefined when healthy. */
export function decide(current: Suspicion | undefined, input: DetectionInput): CrashConfirmed[] {
  if (input.kind !== 'signal' || current?.status !== 'suspected' || !confirms(current.signals, input.signal)) return [];
  return [{
    kind: 'crashConfirmed', at: input.signal.at, agentId: input.agentId, suspectedAt: current.since,
    placement: input.placement ?? current.placement, signals: [...current.signals, input.signal],
  }];
}

/** The agent's suspicion after an input or a confirmation; undefined = healthy. */
export function evolve(current: Suspicion | undefined, e: DetectionInput | CrashConfirmed): Suspicion | undefined {
  switch (e.kind) {
    case 'alive': return undefined;
    case 'signal':
      if (current === undefined) return { status: 'suspected', since: e.signal.at, signals: [e.signal], placement: e.placement };
      if (current.status === 'crashed') return current;
      // Only a signal that adds something is kept: a repeat of the same observer and kind is not evidence.
      return current.signals.some((b) => b.kind === e.signal.kind && b.observer === e.signal.observer)
        ? current
        : { ...current, signals: [...current.signals, e.signal], placement: e.placement ?? current.placement };
    case 'crashConfirmed':
      return { status: 'crashed', since: e.at, signals: e.signals, placement: e.placement };
    default: { const never: never = e; return never; }
  }
}
