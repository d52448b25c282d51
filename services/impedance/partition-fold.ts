// The fold of one mesh.heartbeats partition: the agents keyed to it, its event-time watermark,
// the offline timers (a min-heap with lazy deletion) and the 5 s summary ticks. Deterministic:
// the same records in the same order give the same state changes at the same event times,
// whatever the batch boundaries. It also keeps an undo log per batch, so a batch whose
// transaction did not commit can be taken back before its records are consumed again.
import type { AgentStateChanged, HeartbeatReceived } from '../../schemas/generated/events';
import { OFFLINE_AFTER_US, foldHeartbeat, timeoutAgent, type AgentState } from './agent-fold';

export const SUMMARY_EVERY_US = 5_000_000;

interface Timer { readonly at: number; readonly agentId: string }

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
const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.agentId < b.agentId);

export interface ApplyResult {
  readonly changed: readonly AgentStateChanged[];
  /** Set when the watermark crossed a summary tick: the latest tick passed (µs). */
  readonly tick?: number;
}

/** An agent before the batch touched it, and whether it was already waiting to be written. */
interface Undo { readonly prev: AgentState | undefined; readonly registry: boolean; readonly changelog: boolean }

export class PartitionFold {
  readonly agents = new Map<string, AgentState>();
  private readonly timers = new TimerHeap();
  private watermark = -Infinity;
  private lastTick = -Infinity;
  /** Agents changed since they were last written to Redis, and to the changelog. */
  private readonly registryDirty = new Set<string>();
  private readonly changelogDirty = new Set<string>();
  /** State before the current batch, for agents it touched. */
  private undo = new Map<string, Undo>();
  private undoMark: { watermark: number; lastTick: number } | undefined;

  get watermarkUs(): number { return this.watermark; }
  get dirtyCount(): number { return this.registryDirty.size; }
  get changelogDirtyCount(): number { return this.changelogDirty.size; }

  /** Restores agents from the changelog; the watermark resumes at their latest heartbeat. */
  restore(agents: Iterable<AgentState>): void {
    for (const a of agents) {
      this.agents.set(a.agentId, a);
      this.watermark = Math.max(this.watermark, a.lastHeartbeatAt);
      this.arm(a);
    }
    if (Number.isFinite(this.watermark)) this.lastTick = Math.floor(this.watermark / SUMMARY_EVERY_US) * SUMMARY_EVERY_US;
  }

  apply(hb: HeartbeatReceived): ApplyResult {
    this.mark();
    const changed: AgentStateChanged[] = [];
    let tick: number | undefined;
    const at = hb.meta.occurred_at;
    if (at > this.watermark) {
      this.watermark = at;
      this.fireTimers(changed);
      const t = Math.floor(at / SUMMARY_EVERY_US) * SUMMARY_EVERY_US;
      if (t > this.lastTick) {
        if (Number.isFinite(this.lastTick)) tick = t;
        this.lastTick = t;
      }
    }
    const prev = this.agents.get(hb.agent_id);
    const out = foldHeartbeat(prev, hb);
    if (out) {
      this.put(prev, out.agent);
      this.arm(out.agent);
      if (out.changed) changed.push(out.changed);
    }
    return tick === undefined ? { changed } : { changed, tick };
  }

  private arm(a: AgentState): void {
    if (a.state !== 'OFFLINE' && a.state !== 'QUARANTINED') this.timers.push({ at: a.lastHeartbeatAt + OFFLINE_AFTER_US, agentId: a.agentId });
  }

  private fireTimers(changed: AgentStateChanged[]): void {
    for (let t = this.timers.peek(); t && t.at <= this.watermark; t = this.timers.peek()) {
      this.timers.pop();
      const a = this.agents.get(t.agentId);
      // Lazy deletion: a later heartbeat moved the deadline, or the agent already timed out.
      if (!a || a.lastHeartbeatAt + OFFLINE_AFTER_US !== t.at) continue;
      const out = timeoutAgent(a, this.watermark);
      if (!out) continue;
      this.put(a, out.agent);
      if (out.changed) changed.push(out.changed);
    }
  }

  private put(prev: AgentState | undefined, next: AgentState): void {
    const id = next.agentId;
    if (!this.undo.has(id)) this.undo.set(id, { prev, registry: this.registryDirty.has(id), changelog: this.changelogDirty.has(id) });
    this.agents.set(next.agentId, next);
    this.registryDirty.add(next.agentId);
    this.changelogDirty.add(next.agentId);
  }

  private mark(): void {
    this.undoMark ??= { watermark: this.watermark, lastTick: this.lastTick };
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
  }

  /** Agents changed since the last checkpointed(), in id order (they go to the changelog). */
  changelogAgents(): AgentState[] {
    return this.dirtyAgents(this.changelogDirty);
  }

  /** Their changelog entries committed: a new owner restores them. */
  checkpointed(): void {
    this.changelogDirty.clear();
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
    this.undo = new Map();
    this.undoMark = undefined;
  }

  /** Takes back everything since the last commit(). */
  rollback(): void {
    for (const [id, u] of this.undo) {
      if (u.prev) { this.agents.set(id, u.prev); this.arm(u.prev); } else this.agents.delete(id);
      if (!u.registry) this.registryDirty.delete(id);
      if (!u.changelog) this.changelogDirty.delete(id);
    }
    if (this.undoMark) { this.watermark = this.undoMark.watermark; this.lastTick = this.undoMark.lastTick; }
    this.commit();
  }
}
