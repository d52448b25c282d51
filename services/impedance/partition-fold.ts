// The fold of one mesh.heartbeats partition and the same partition of mesh.agent-acks: the
// agents keyed to it, its event-time watermark (heartbeats only), the offline and quarantine
// release timers (a min-heap with lazy deletion) and the 5 s summary ticks. An agent has one
// offline timer in the heap, not one per heartbeat: a timer found early (a later heartbeat
// moved the deadline) is pushed again at the deadline, so timers still fire in (time, agent)
// order, and the heap holds one entry per agent instead of one per heartbeat of the last 30 s. Deterministic: the
// same records in the same order give the same state changes at the same event times, whatever
// the batch boundaries, and the same state whatever the interleaving of the two topics
// (agent-fold.ts). It also keeps an undo log per batch, so a batch whose transaction did not
// commit can be taken back before its records are consumed again. And the sum of its agents'
// prediction-accuracy cells (accuracy.ts), changed as their ack tallies change, so the counts
// written with a fold position are those of the acks folded up to it.
import type { AckReceived, AgentStateChanged, ConflictReported, HeartbeatReceived, MeshHealRequested } from '../../schemas/generated/events';
import { accuracyOf, foldAck, foldOffence, healTally, NO_ACKS, type AckTally } from './ack-fold';
import { AccuracyTotals, type AccuracyCells, type AckMeasure } from './accuracy';
import { OFFLINE_AFTER_US, foldAgentAck, foldAgentOffence, foldHeartbeat, healAgent, releaseAgent, timeoutAgent, type AgentState } from './agent-fold';

export const SUMMARY_EVERY_US = 5_000_000;
/** Agents not heard from whose acks a partition holds at most (IMPEDANCE_MAX_PENDING_ACK_AGENTS). */
export const MAX_PENDING_ACK_AGENTS = 50_000;

/** kind 0: offline after 30 s without heartbeat; 1: quarantine release. */
interface Timer { readonly at: number; readonly agentId: string; readonly kind: 0 | 1 }

class TimerHeap {
  private readonly xs: Timer[] = [];
  get size(): number { return this.xs.length; }
  peek(): Timer | undefined { return this.xs[0]; }
  push(t: Timer): void {
    const xs = this.xs;
    xs.push(t);
    let i = xs.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(xs[p]!, xs[i]!)) break;
      [xs[p], xs[i]] = [xs[i]!, xs[p]!];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const xs = this.xs;
    const top = xs[0];
    const last = xs.pop();
    if (xs.length > 0 && last) {
      xs[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < xs.length && less(xs[l]!, xs[m]!)) m = l;
        if (r < xs.length && less(xs[r]!, xs[m]!)) m = r;
        if (m === i) break;
        [xs[m], xs[i]] = [xs[i]!, xs[m]!];
        i = m;
      }
    }
    return top;
  }
}

// Ties broken by agent id so timers due at the same instant fire in one order on every replay.
const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && (a.agentId < b.agentId || (a.agentId === b.agentId && a.kind < b.kind)));

export interface ApplyResult {
  readonly changed: readonly AgentStateChanged[];
  /** Set when the watermark crossed a summary tick: the latest tick passed (µs). */
  readonly tick?: number;
  /** The heartbeat was not newer than the agent's last one: folded before (apply only). */
  readonly duplicate?: boolean;
  /** Why the ack was not folded (applyAck only): the processor dead-letters it. */
  readonly refused?: string;
  /** The ack's arrival, measured against its prediction when the fold counted it (applyAck only). */
  readonly measured?: AckMeasure;
}

// Most heartbeats change no state and cross no tick: one shared result for them instead of a
// result and an array per heartbeat.
const NO_CHANGES: readonly AgentStateChanged[] = Object.freeze([]) as readonly AgentStateChanged[];
const UNCHANGED: ApplyResult = Object.freeze({ changed: NO_CHANGES });
const DUPLICATE: ApplyResult = Object.freeze({ changed: NO_CHANGES, duplicate: true });

/**
 * An agent before the batch touched it, and whether it was already waiting to be written;
 * `own`: its current state, when a heartbeat of this batch made it with windows of its own, so
 * the next heartbeat may write over it (foldHeartbeat's `reuse`).
 */
interface Undo {
  readonly prev: AgentState | undefined; readonly registry: boolean; readonly changelog: boolean; own: AgentState | undefined;
  /** The dirty sets' generations when the batch last added the agent: it is in them while these hold. */
  registryGen: number; changelogGen: number;
}

/** Acks of an agent not heard from yet, and the offset of the first (replayed after a hand-over). */
interface Pending { readonly tally: AckTally; readonly firstOffset: number }

export class PartitionFold {
  readonly agents = new Map<string, AgentState>();
  private readonly timers = new TimerHeap();
  private watermark = -Infinity;
  private lastTick = -Infinity;
  /** Agents changed since they were last written to Redis, and to the changelog. */
  private readonly registryDirty = new Set<string>();
  private readonly changelogDirty = new Set<string>();
  /** Bumped when the dirty sets are cleared (see Undo). */
  private registryGen = 0;
  private changelogGen = 0;
  /** State before the current batch, for agents it touched. */
  private undo = new Map<string, Undo>();
  private pendingUndo = new Map<string, Pending | undefined>();
  private undoMark: { watermark: number; lastTick: number; ackOffset: number; heartbeatOffset: number } | undefined;
  /** Acks of agents without a heartbeat yet: merged into the agent at its first heartbeat. */
  private readonly pending = new Map<string, Pending>();
  /** The agents' accuracy cells summed, held acks included. */
  private readonly accuracy = new AccuracyTotals();
  /** The last mesh.agent-acks offset folded. */
  private ackOffset = -1;
  /** The last mesh.heartbeats offset folded (invalid records the runner dead-lettered included). */
  private heartbeatOffset = -1;
  /** apply()'s state changes under way (copied out when there are any). */
  private readonly scratch: AgentStateChanged[] = [];
  /**
   * States that committed batches replaced, whose arrays no current state shares: an agent's
   * first heartbeat of a batch is written over one (foldHeartbeat's `spare`) instead of making
   * a new state. So a state read from `agents` is only valid until the next commit(): whoever
   * keeps what it holds past that (a registry write) copies or encodes it first.
   */
  private readonly spares: AgentState[] = [];

  /** `maxPendingAckAgents`: agents not heard from yet whose acks are held; the acks of one more are refused. */
  constructor(readonly maxPendingAckAgents = MAX_PENDING_ACK_AGENTS) {}

  get watermarkUs(): number { return this.watermark; }
  get dirtyCount(): number { return this.registryDirty.size; }
  get changelogDirtyCount(): number { return this.changelogDirty.size; }
  get pendingAckAgents(): number { return this.pending.size; }
  /** How far each input was folded: the agents are those a fold of exactly these records gives (the interleaving does not matter). */
  get position(): { readonly heartbeatsThrough: number; readonly acksThrough: number } {
    return { heartbeatsThrough: this.heartbeatOffset, acksThrough: this.ackOffset };
  }

  /** The prediction-accuracy cells of exactly the acks folded through `position` (the recent ones: accuracy.ts recentCells). */
  accuracyCells(): AccuracyCells { return this.accuracy.cells(); }

  /**
   * The mesh.agent-acks offset up to which every ack is in the agents' entries: before the
   * first ack still held for an agent not heard from (those are not in the changelog).
   */
  acksAppliedThrough(): number {
    let through = this.ackOffset;
    for (const p of this.pending.values()) if (p.firstOffset - 1 < through) through = p.firstOffset - 1;
    return through;
  }

  /**
   * Restores agents from the changelog; the watermark resumes at their latest heartbeat, and
   * acks resume after `acksThrough` (the checkpoint's acks_applied_through).
   */
  restore(agents: Iterable<AgentState>, acksThrough = -1, heartbeatsThrough = -1): void {
    const list = [...agents];
    for (const a of list) this.watermark = Math.max(this.watermark, a.lastHeartbeatAt);
    for (let a of list) {
      // The entry of a quarantined agent does not say whether its offline timer fired: it had
      // iff the watermark (the same as when the entry was written) reached it.
      if (a.state === 'QUARANTINED' && !a.offline && a.lastHeartbeatAt + OFFLINE_AFTER_US <= this.watermark) a = { ...a, offline: true };
      this.agents.set(a.agentId, a);
      this.arm(a);
      this.accuracy.restore(a.acks.accuracy);
    }
    this.accuracy.commit();
    this.ackOffset = Math.max(this.ackOffset, acksThrough);
    this.heartbeatOffset = Math.max(this.heartbeatOffset, heartbeatsThrough);
    if (Number.isFinite(this.watermark)) this.lastTick = Math.floor(this.watermark / SUMMARY_EVERY_US) * SUMMARY_EVERY_US;
  }

  /** `offset`: the heartbeat's in its partition, when known (a tail replay says how far it went instead: heartbeatsFolded). */
  apply(hb: HeartbeatReceived, offset?: number): ApplyResult {
    this.mark();
    if (offset !== undefined && offset > this.heartbeatOffset) this.heartbeatOffset = offset;
    const changed = this.scratch;
    changed.length = 0;
    let tick: number | undefined;
    const at = hb.meta.occurred_at;
    if (at > this.watermark) {
      this.watermark = at;
      if (this.timers.size > 0 && this.timers.peek()!.at <= at) this.fireTimers(changed);
      const t = Math.floor(at / SUMMARY_EVERY_US) * SUMMARY_EVERY_US;
      if (t > this.lastTick) {
        if (Number.isFinite(this.lastTick)) tick = t;
        this.lastTick = t;
      }
    }
    const prev = this.agents.get(hb.agent_id);
    const held = prev ? undefined : this.pending.get(hb.agent_id);
    const undo = prev ? this.undo.get(prev.agentId) : undefined;
    const own = undo?.own;
    const spare = prev && own !== prev ? this.spares.pop() : undefined;
    const out = foldHeartbeat(prev, hb, this.watermark, held?.tally ?? NO_ACKS, own, spare);
    if (spare && out?.agent !== spare) this.spares.push(spare);
    if (out) {
      if (held) this.takePending(hb.agent_id);
      this.put(prev, out.agent, true, undo);
      // Otherwise its timer is in the heap already, due at or before the new deadline.
      if (!prev || prev.offline) this.armOffline(out.agent);
      this.armRelease(out.agent);
      if (out.changed) changed.push(out.changed);
    }
    if (tick === undefined && changed.length === 0) return out ? UNCHANGED : DUPLICATE;
    const result: { changed: readonly AgentStateChanged[]; tick?: number; duplicate?: boolean } = { changed: changed.slice() };
    if (tick !== undefined) result.tick = tick;
    if (!out) result.duplicate = true;
    return result;
  }

  /**
   * Folds an ack from `offset` of this partition of mesh.agent-acks. Acks do not move the
   * watermark (heartbeats alone drive the timers), so folding them never fires a timer.
   */
  applyAck(ack: AckReceived, offset: number): ApplyResult {
    let before: AckTally | undefined;
    const res = this.applyToTally(ack.agent_id, offset, (t) => foldAck(t, ack, offset), (a) => foldAgentAck(a, ack, offset, this.watermark), (t) => { before = t; });
    const measured = before === undefined ? null : accuracyOf(before, ack).measure;
    return measured ? { ...res, measured } : res;
  }

  /**
   * Folds a report copied to this partition of mesh.agent-acks (a message refused that only the
   * agent could have signed) into the agent's tally, as an ack is: past the limit it quarantines.
   */
  applyOffence(report: ConflictReported, offset: number): ApplyResult {
    return this.applyToTally(report.agent_id, offset, (t) => foldOffence(t, report, offset), (a) => foldAgentOffence(a, report, offset, this.watermark));
  }

  /** `taken`: called with the tally before, when the step took the input. */
  private applyToTally(
    agentId: string, offset: number, tallyStep: (t: AckTally) => AckTally | undefined, agentStep: (a: AgentState) => ReturnType<typeof foldAgentAck>,
    taken?: (before: AckTally) => void,
  ): ApplyResult {
    const ack = { agent_id: agentId };
    this.mark();
    if (offset > this.ackOffset) this.ackOffset = offset;
    const prev = this.agents.get(ack.agent_id);
    if (!prev) {
      const held = this.pending.get(ack.agent_id);
      // Checked here, not before the fold, so a new owner replaying the ack tail refuses the same
      // acks: anyone can ack for made-up agents, and each would be held until its first heartbeat.
      if (!held && this.pending.size >= this.maxPendingAckAgents) {
        return { changed: NO_CHANGES, refused: `agent ${ack.agent_id} was never heard from, and the acks of ${this.pending.size} such agents already wait on this partition (IMPEDANCE_MAX_PENDING_ACK_AGENTS)` };
      }
      const before = held?.tally ?? NO_ACKS;
      const tally = tallyStep(before);
      if (tally) {
        if (!this.pendingUndo.has(ack.agent_id)) this.pendingUndo.set(ack.agent_id, held);
        this.pending.set(ack.agent_id, { tally, firstOffset: held?.firstOffset ?? offset });
        this.accuracy.change(before.accuracy, tally.accuracy);
        taken?.(before);
      }
      return { changed: [] };
    }
    const out = agentStep(prev);
    if (!out) return { changed: [] };
    this.accuracy.change(prev.acks.accuracy, out.agent.acks.accuracy);
    taken?.(prev.acks);
    this.put(prev, out.agent);
    this.armRelease(out.agent);
    return { changed: out.changed ? [out.changed] : [] };
  }

  /**
   * Folds a heal found at `offset` of this partition of mesh.agent-acks into every agent it names
   * (all when it names none), in agent id order; agents not heard from yet have their held acks
   * healed, so the result does not depend on how heartbeats interleaved. Each agent's tally knows
   * whether it folded the heal before (a replayed tail, ack-fold.ts healTally).
   */
  applyHeal(heal: MeshHealRequested, offset: number): ApplyResult {
    this.mark();
    if (offset > this.ackOffset) this.ackOffset = offset;
    const named = heal.agent_ids.length === 0 ? undefined : new Set(heal.agent_ids);
    const changed: AgentStateChanged[] = [];
    for (const id of [...this.agents.keys()].sort()) {
      if (named && !named.has(id)) continue;
      const prev = this.agents.get(id)!;
      const out = healAgent(prev, heal, offset, this.watermark);
      if (!out) continue;
      this.accuracy.change(prev.acks.accuracy, out.agent.acks.accuracy);
      this.put(prev, out.agent);
      if (out.changed) changed.push(out.changed);
    }
    for (const [id, held] of [...this.pending].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (named && !named.has(id)) continue;
      const tally = healTally(held.tally, offset);
      if (!tally) continue;
      this.accuracy.change(held.tally.accuracy, tally.accuracy);
      if (!this.pendingUndo.has(id)) this.pendingUndo.set(id, held);
      this.pending.set(id, { tally, firstOffset: held.firstOffset });
    }
    return { changed };
  }

  private takePending(id: string): void {
    if (!this.pendingUndo.has(id)) this.pendingUndo.set(id, this.pending.get(id));
    this.pending.delete(id);
  }

  private arm(a: AgentState): void {
    this.armOffline(a);
    this.armRelease(a);
  }

  private armOffline(a: AgentState): void {
    if (!a.offline) this.timers.push({ at: a.lastHeartbeatAt + OFFLINE_AFTER_US, agentId: a.agentId, kind: 0 });
  }

  private armRelease(a: AgentState): void {
    const until = a.acks.quarantinedUntil;
    if (a.state === 'QUARANTINED' && until !== null) this.timers.push({ at: until, agentId: a.agentId, kind: 1 });
  }

  private fireTimers(changed: AgentStateChanged[]): void {
    for (let t = this.timers.peek(); t && t.at <= this.watermark; t = this.timers.peek()) {
      this.timers.pop();
      const a = this.agents.get(t.agentId);
      // Lazy deletion: a later heartbeat moved the deadline, a later conflict the release, or
      // the timer already fired.
      if (!a) continue;
      if (t.kind === 0) {
        if (a.offline) continue;
        const due = a.lastHeartbeatAt + OFFLINE_AFTER_US;
        // The popped timer goes back in at the deadline: it is in the heap nowhere else.
        if (due > t.at) { (t as { at: number }).at = due; this.timers.push(t); continue; }
        // An extra timer left by a rolled-back batch: the one at the deadline fires.
        if (due !== t.at) continue;
      }
      if (t.kind === 1 && a.acks.quarantinedUntil !== t.at) continue;
      const out = t.kind === 0 ? timeoutAgent(a, this.watermark) : releaseAgent(a, this.watermark);
      if (!out) continue;
      this.put(a, out.agent);
      if (out.changed) changed.push(out.changed);
    }
  }

  /** `own`: `next` was made by a heartbeat, with new windows (see Undo). */
  private put(prev: AgentState | undefined, next: AgentState, own = false, known?: Undo): void {
    const id = next.agentId;
    const u = known ?? this.undo.get(id);
    if (next !== prev) this.agents.set(id, next);
    if (!u) {
      this.undo.set(id, {
        prev, registry: this.registryDirty.has(id), changelog: this.changelogDirty.has(id), own: own ? next : undefined,
        registryGen: this.registryGen, changelogGen: this.changelogGen,
      });
      this.registryDirty.add(id);
      this.changelogDirty.add(id);
      return;
    }
    u.own = own ? next : undefined;
    // An agent's later heartbeats in a batch: it is in both sets already, unless they were cleared since.
    if (u.registryGen !== this.registryGen) { this.registryDirty.add(id); u.registryGen = this.registryGen; }
    if (u.changelogGen !== this.changelogGen) { this.changelogDirty.add(id); u.changelogGen = this.changelogGen; }
  }

  private mark(): void {
    this.undoMark ??= { watermark: this.watermark, lastTick: this.lastTick, ackOffset: this.ackOffset, heartbeatOffset: this.heartbeatOffset };
  }

  /** The heartbeats were folded through `offset` (a tail replayed, its invalid records skipped). */
  heartbeatsFolded(offset: number): void {
    this.mark();
    if (offset > this.heartbeatOffset) this.heartbeatOffset = offset;
  }

  /** Agents changed since the last takeDirty, in id order (they go to Redis). */
  takeDirty(): AgentState[] {
    const out = this.dirtyAgentsForRegistry();
    this.registryWritten();
    return out;
  }

  /** Agents changed since the last registryWritten(), in id order. */
  dirtyAgentsForRegistry(): AgentState[] {
    return this.dirtyAgents(this.registryDirty);
  }

  registryWritten(): void {
    this.registryDirty.clear();
    this.registryGen++;
  }

  /** Agents changed since the last checkpointed(), in id order (they go to the changelog). */
  changelogAgents(): AgentState[] {
    return this.dirtyAgents(this.changelogDirty);
  }

  /** Their changelog entries committed: a new owner restores them. */
  checkpointed(): void {
    this.changelogDirty.clear();
    this.changelogGen++;
  }

  private dirtyAgents(ids: Set<string>): AgentState[] {
    const out: AgentState[] = [];
    for (const id of [...ids].sort()) {
      const a = this.agents.get(id);
      if (a) out.push(a);
    }
    return out;
  }

  /** Marks every agent dirty for Redis (the registry must be rewritten, e.g. after Redis was emptied). */
  touchAll(): void {
    for (const id of this.agents.keys()) this.registryDirty.add(id);
  }

  /** The batch so far is final: forget how to undo it. */
  commit(): void {
    for (const [id, u] of this.undo) {
      const prev = u.prev;
      const cur = this.agents.get(id);
      // A state the batch made from prev without a heartbeat (an ack, a timer) shares its arrays.
      if (prev && cur && cur !== prev && cur.latencies !== prev.latencies && cur.processings !== prev.processings && cur.buckets !== prev.buckets) this.spares.push(prev);
    }
    this.undo = new Map();
    this.pendingUndo = new Map();
    this.undoMark = undefined;
    this.accuracy.commit();
  }

  /** Takes back everything since the last commit(). */
  rollback(): void {
    for (const [id, u] of this.undo) {
      if (u.prev) { this.agents.set(id, u.prev); this.arm(u.prev); } else this.agents.delete(id);
      if (!u.registry) this.registryDirty.delete(id);
      if (!u.changelog) this.changelogDirty.delete(id);
    }
    for (const [id, p] of this.pendingUndo) if (p) this.pending.set(id, p); else this.pending.delete(id);
    this.accuracy.rollback();
    if (this.undoMark) {
      this.watermark = this.undoMark.watermark; this.lastTick = this.undoMark.lastTick;
      this.ackOffset = this.undoMark.ackOffset; this.heartbeatOffset = this.undoMark.heartbeatOffset;
    }
    this.commit();
  }
}
