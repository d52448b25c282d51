// The guardian's fold of its sequenced log (mesh.guardian, one partition): each input advances
// the event-time clock (never back), then feeds the deciders it concerns in a fixed order —
// mesh breakers, cascade reflex, component breakers, failure detection, latency, patterns,
// modes, partition — and their facts become events (outputs.ts). Pure but for the fields it
// keeps: no clock, no I/O.
import type {
  AgentStateChanged, GuardianClockTicked, MeshSummarized, OperationalMode, StructuralEventObserved,
} from '../../schemas/generated/events';
import { unreachable } from '../runtime/errors';
import * as breakers from './breakers';
import * as cascade from './cascade';
import { check, forceOpen, recordFailure, recordSuccess, componentBreaker, type ComponentBreaker } from './component-breaker';
import * as detection from './detection';
import * as latency from './latency';
import * as modes from './modes';
import * as partition from './partition';
import * as patterns from './patterns';
import type { GuardianPolicy } from './policy';
import { outputEventId } from './outputs';

export type GuardianInput = AgentStateChanged | MeshSummarized | StructuralEventObserved | GuardianClockTicked;
export const GUARDIAN_INPUT_TYPES = ['AgentStateChanged', 'MeshSummarized', 'StructuralEventObserved', 'GuardianClockTicked'] as const satisfies ReadonlyArray<GuardianInput['type']>;

/** What the guardian decided on one input, in order; outputs.ts turns each into an event. */
export type GuardianFact =
  | breakers.BreakerChanged
  | (cascade.ReflexFact & { readonly states: ReadonlyMap<string, ComponentSnapshot> })
  | { readonly kind: 'componentBreaker'; readonly at: number; readonly componentId: string; readonly state: ComponentBreaker['state'] }
  | latency.Regression
  | (Extract<patterns.LearnerFact, { kind: 'deviated' }> & { readonly at: number })
  | modes.ModeChanged
  | partition.PartitionFact
  | detection.CrashConfirmed;

export interface ComponentSnapshot {
  readonly latencyP99Us: number;
  readonly errorRate: number;
  readonly queueDepth: number;
  readonly circuitState: ComponentBreaker['state'];
}

export const clusterComponent = (clusterId: string) => `cluster:${clusterId}`;
const CLUSTER_PREFIX = 'cluster:';
const isDown = (s: AgentStateChanged['new_state']) => s === 'OFFLINE' || s === 'QUARANTINED';

export class GuardianCore {
  clock = 0;
  board: breakers.BreakerBoard = breakers.EMPTY_BOARD;
  reflex: cascade.Reflex = cascade.CALM;
  readonly components = new Map<string, ComponentBreaker>();
  readonly latencies = new Map<string, latency.LatencyTrack>();
  readonly queueDepths = new Map<string, number>();
  learner: patterns.Learner = patterns.NO_PATTERNS;
  mode: modes.ModeState = modes.INITIAL_MODE;
  split: partition.PartitionState = partition.WHOLE;
  /** Components suspected or declared crashed (detection.ts); absent = healthy. */
  readonly suspects = new Map<string, detection.Suspicion>();
  /** Agents down now (OFFLINE or QUARANTINED) and where they were counted. */
  readonly down = new Map<string, breakers.Placement>();
  readonly offline = new Set<string>();
  knownAgents = 0;
  /** Of the last MeshSummarized; null before one. */
  activeAgents: number | null = null;

  constructor(readonly policy: GuardianPolicy) {}

  /** The facts one input of the sequenced log decides, in order. */
  fold(e: GuardianInput): GuardianFact[] {
    const at = (this.clock = Math.max(this.clock, e.type === 'GuardianClockTicked' ? e.tick_at : e.meta.occurred_at));
    const out: GuardianFact[] = [];
    switch (e.type) {
      case 'AgentStateChanged': {
        const was = this.down.get(e.agent_id) ?? null;
        const now = isDown(e.new_state) ? { clusterId: e.cluster_id, sectorId: e.sector_id } : null;
        if (now) this.down.set(e.agent_id, now); else this.down.delete(e.agent_id);
        this.breakers({ kind: 'agent', at, was, now }, out);
        if (now && !was) {
          this.failure({ at, componentId: clusterComponent(e.cluster_id), eventId: e.meta.event_id, what: 'AGENT_DOWN' }, out);
        } else this.reflexTime(at);
        if (e.new_state === 'OFFLINE') this.offline.add(e.agent_id); else this.offline.delete(e.agent_id);
        if (e.new_state === 'OFFLINE' && e.cause === 'HEARTBEAT_TIMEOUT') {
          this.detect({ kind: 'signal', agentId: e.agent_id, placement: { clusterId: e.cluster_id, sectorId: e.sector_id }, signal: { kind: 'MISSED_HEARTBEATS', observer: e.meta.producer, eventId: e.meta.event_id, at } }, out);
        } else if (e.new_state === 'ACTIVE' || e.new_state === 'DEGRADED') this.detect({ kind: 'alive', agentId: e.agent_id, at }, out);
        this.componentTimers(at, out);
        this.reach(at, e.meta.event_id, out);
        break;
      }
      case 'MeshSummarized':
        this.breakers({ kind: 'time', at }, out);
        this.reflexTime(at);
        this.componentTimers(at, out);
        this.knownAgents = e.total_agents;
        this.activeAgents = e.active_agents;
        this.modeOf({ at, active: e.active_agents, total: e.total_agents }, out);
        this.reach(at, e.meta.event_id, out);
        break;
      case 'StructuralEventObserved':
        this.breakers({ kind: 'time', at }, out);
        this.componentTimers(at, out);
        this.structural(e, at, out);
        break;
      case 'GuardianClockTicked':
        this.breakers({ kind: 'time', at }, out);
        this.reflexTime(at);
        this.componentTimers(at, out);
        break;
      default:
        return unreachable(e);
    }
    return out;
  }

  /** The earliest event time at which a timer is due; null when none is pending. */
  nextDueAt(): number | null {
    let due: number | null = null;
    const consider = (t: number) => { due = due === null ? t : Math.min(due, t); };
    for (const b of this.board.breakers.values()) { const t = breakers.nextProbeAt(b); if (t !== null) consider(t); }
    for (const c of this.components.values()) if (c.state === 'OPEN') consider(c.lastFailure + c.resetTimeoutUs + 1);
    return due;
  }

  private breakers(input: breakers.BreakerInput, out: GuardianFact[]): void {
    const changes = breakers.decide(this.board, input, this.policy.breakers);
    this.board = [input, ...changes].reduce<breakers.BreakerBoard>(breakers.evolve, this.board);
    out.push(...changes);
  }

  private reflexTime(at: number): void {
    this.reflex = cascade.evolve(this.reflex, { kind: 'time', at }, this.policy.cascade);
  }

  private failure(f: cascade.Failure, out: GuardianFact[]): void {
    const input: cascade.ReflexInput = { kind: 'failure', failure: f };
    const facts = cascade.decide(this.reflex, input, this.policy.cascade);
    this.reflex = cascade.evolve(this.reflex, input, this.policy.cascade);
    for (const fact of facts) {
      // The witness shows the components as the reflex found them, before it acts.
      const names = fact.kind === 'cascade' ? fact.components : [fact.componentId];
      const states = new Map(names.map((c) => [c, this.snapshot(c, fact.kind === 'cascade' ? fact.counts.get(c) ?? 0 : 1)]));
      this.reflex = cascade.evolve(this.reflex, fact, this.policy.cascade);
      out.push({ ...fact, states });
      const reason = fact.kind === 'cascade'
        ? `cascade: ${fact.components.length} components failing within ${this.policy.cascade.windowUs / 1e6} s`
        : `joined the cascade under way since ${(this.reflex.status === 'tripped' ? this.reflex.since : fact.at)}`;
      for (const c of names) this.open(c, fact.at, reason, out);
    }
  }

  private open(componentId: string, at: number, reason: string, out: GuardianFact[]): void {
    if (componentId.startsWith(CLUSTER_PREFIX)) {
      this.breakers({ kind: 'trip', at, scope: 'CLUSTER', id: componentId.slice(CLUSTER_PREFIX.length), reason }, out);
      return;
    }
    const before = this.componentBreaker(componentId);
    const after = forceOpen(before);
    this.setComponent(componentId, before, after, at, out);
  }

  private componentBreaker(id: string): ComponentBreaker {
    return this.components.get(id) ?? componentBreaker(this.policy.componentThreshold, this.policy.componentResetUs);
  }

  private setComponent(id: string, before: ComponentBreaker, after: ComponentBreaker, at: number, out: GuardianFact[]): void {
    this.components.set(id, after);
    if (after.state !== before.state) out.push({ kind: 'componentBreaker', at, componentId: id, state: after.state });
  }

  /** Open component breakers whose reset timeout passed turn HALF_OPEN (seed 004 check). */
  private componentTimers(at: number, out: GuardianFact[]): void {
    for (const id of [...this.components.keys()].sort()) {
      const cb = this.components.get(id)!;
      if (cb.state === 'OPEN') this.setComponent(id, cb, check(cb, at).breaker, at, out);
    }
  }

  private snapshot(componentId: string, failuresInWindow: number): ComponentSnapshot {
    const samples = this.latencies.get(componentId)?.samples ?? [];
    const sorted = [...samples].sort((a, b) => a - b);
    const p99 = sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!;
    const circuitState = componentId.startsWith(CLUSTER_PREFIX)
      ? breakers.breakerOf(this.board, 'CLUSTER', componentId.slice(CLUSTER_PREFIX.length)).status
      : this.componentBreaker(componentId).state;
    // Seed 004: error rate = failures in the window / 10.
    return { latencyP99Us: p99, errorRate: Math.min(1, failuresInWindow / 10), queueDepth: this.queueDepths.get(componentId) ?? 0, circuitState };
  }

  private structural(e: StructuralEventObserved, at: number, out: GuardianFact[]): void {
    const id = e.component_id;
    // Seed 004 counts a failed request end as its component's failure; a failed call return
    // names the callee to failure detection instead (below).
    const ended = e.kind === 'REQUEST_END';
    if (ended && e.success === false) {
      const before = this.componentBreaker(id);
      this.setComponent(id, before, recordFailure(before, at), at, out);
      this.failure({ at, componentId: id, eventId: e.meta.event_id, what: 'REQUEST_END' }, out);
    } else {
      this.reflexTime(at);
      if (ended && e.success === true) {
        const before = this.componentBreaker(id);
        if (this.components.has(id)) this.setComponent(id, before, recordSuccess(check(before, at).breaker), at, out);
      }
    }
    // A failed call names its callee as failing to the caller; a success from a component is a sign of life.
    if (e.kind === 'CALL_RETURN' && e.peer_component_id !== null) {
      const peer = e.peer_component_id;
      if (e.success === false) this.detect({ kind: 'signal', agentId: peer, placement: null, signal: { kind: 'FAILED_DELIVERY', observer: id, eventId: e.meta.event_id, at } }, out);
      else if (e.success === true) this.detect({ kind: 'alive', agentId: peer, at }, out);
    }
    if (e.kind === 'REQUEST_END' && e.success === true) this.detect({ kind: 'alive', agentId: id, at }, out);
    if (e.kind === 'QUEUE_DEPTH' && e.queue_depth !== null) this.queueDepths.set(id, e.queue_depth);
    if (e.kind === 'CALL' && e.peer_component_id !== null && e.request_id !== null) {
      // A trace's latency is its own calls' times, whatever else moved the clock meanwhile.
      this.learn({ kind: 'call', requestId: e.request_id, call: { at: e.meta.occurred_at, from: id, to: e.peer_component_id } }, at, out);
    }
    if (e.kind === 'REQUEST_END' && e.success === true && e.request_id !== null) {
      this.learn({ kind: 'completed', requestId: e.request_id, at }, at, out);
    }
    if (e.latency_us !== null) {
      const track = this.latencies.get(id) ?? latency.NO_SAMPLES;
      out.push(...latency.decide(track, id, e.latency_us, at));
      this.latencies.set(id, latency.evolve(track, e.latency_us));
    }
  }

  private learn(input: patterns.LearnerInput, at: number, out: GuardianFact[]): void {
    const p = this.policy.patterns;
    const facts = patterns.decide(this.learner, input, p);
    // The trace is read before the completion removes it.
    this.learner = facts.reduce((l, f) => patterns.evolve(l, f, p), this.learner);
    this.learner = patterns.evolve(this.learner, input, p);
    for (const f of facts) if (f.kind === 'deviated') out.push({ ...f, at });
  }

  private detect(input: detection.DetectionInput, out: GuardianFact[]): void {
    const current = this.suspects.get(input.agentId);
    if (current === undefined && input.kind === 'alive') return;
    const facts = detection.decide(current, input);
    const next = [input, ...facts].reduce<detection.Suspicion | undefined>(detection.evolve, current);
    if (next === undefined) this.suspects.delete(input.agentId); else this.suspects.set(input.agentId, next);
    out.push(...facts);
  }

  private modeOf(c: modes.MeshCount, out: GuardianFact[]): void {
    for (const f of modes.decide(this.mode, c)) { this.mode = modes.evolve(this.mode, f); out.push(f); }
  }

  private reach(at: number, causeId: string, out: GuardianFact[]): void {
    if (this.knownAgents <= 0) return;
    const r = { at, reachable: Math.max(0, this.knownAgents - this.offline.size), total: this.knownAgents };
    for (const f of partition.decide(this.split, r)) {
      this.split = partition.evolve(this.split, f, outputEventId(causeId, out.length));
      out.push(f);
    }
  }

  get currentMode(): OperationalMode { return this.mode.mode; }
}
