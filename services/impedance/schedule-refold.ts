// The agents a schedule saw, refolded: a partition's heartbeats and agent-acks folded by the
// service's own PartitionFold up to a registry position (partition-fold.ts: the state does not
// depend on how the two inputs interleave). Positions of a partition are visited in order, one
// fold advancing through them; one that goes back on either input (a new owner restarting from
// its checkpoint while a zombie's entries stayed) starts a fold afresh. The summary replay
// (summary-replay.ts) refolds whole partitions the same way (PartitionRefold). Pure.
import type { AckReceived, ConflictReported, HeartbeatReceived, MeshHealRequested, RegistryPosition } from '../../schemas/generated/events';
import { PartitionFold } from './partition-fold';
import { scheduleAgentOf } from './registry-store';
import type { ScheduleAgent } from './schedule';

export interface AckInput { readonly offset: number; readonly event: AckReceived | MeshHealRequested | ConflictReported }
export interface HeartbeatInput { readonly offset: number; readonly event: HeartbeatReceived }

export interface Refolder {
  /** Per position (`partition|heartbeats|acks`), the named agents as a schedule reads them (absent: the fold has no such agent). */
  agentsAt(wanted: ReadonlyArray<{ readonly position: RegistryPosition; readonly ids: ReadonlySet<string> }>): Map<string, Map<string, ScheduleAgent>>;
}

/** A fold position of one partition (a schedule entry's RegistryPosition, a summary's SummaryPosition). */
export interface PartitionPosition { readonly partition: number; readonly heartbeats_through: number; readonly acks_through: number }

export const positionKey = (p: PartitionPosition) => `${p.partition}|${p.heartbeats_through}|${p.acks_through}`;

/**
 * One partition's inputs folded forward to the positions asked for, in any order: a position
 * behind the fold on either input starts a fold afresh.
 */
export class PartitionRefold {
  private fold: PartitionFold;
  private h = 0;
  private a = 0;
  private heartbeatsThrough = -1;
  private acksThrough = -1;

  constructor(private readonly heartbeats: readonly HeartbeatInput[], private readonly acks: readonly AckInput[], private readonly maxPendingAckAgents?: number) {
    this.fold = new PartitionFold(maxPendingAckAgents);
  }

  /** The fold through `w`; valid until the next call (it reuses the states it replaced). */
  to(w: PartitionPosition): PartitionFold {
    if (w.heartbeats_through < this.heartbeatsThrough || w.acks_through < this.acksThrough) {
      this.fold = new PartitionFold(this.maxPendingAckAgents);
      this.h = 0; this.a = 0;
    }
    const { fold, heartbeats: hbs, acks: as } = this;
    for (; this.h < hbs.length && hbs[this.h]!.offset <= w.heartbeats_through; this.h++) fold.apply(hbs[this.h]!.event, hbs[this.h]!.offset);
    for (; this.a < as.length && as[this.a]!.offset <= w.acks_through; this.a++) {
      const x = as[this.a]!;
      if (x.event.type === 'AckReceived') fold.applyAck(x.event, x.offset);
      else if (x.event.type === 'ConflictReported') fold.applyOffence(x.event, x.offset);
      else fold.applyHeal(x.event, x.offset);
    }
    this.heartbeatsThrough = w.heartbeats_through;
    this.acksThrough = w.acks_through;
    fold.commit();
    return fold;
  }
}

export function refolder(heartbeats: ReadonlyMap<number, readonly HeartbeatInput[]>, acks: ReadonlyMap<number, readonly AckInput[]>, maxPendingAckAgents?: number): Refolder {
  return {
    agentsAt(wanted) {
      const out = new Map<string, Map<string, ScheduleAgent>>();
      const refolds = new Map<number, PartitionRefold>();
      // In position order per partition: one fold advancing through them.
      const list = [...wanted].sort((x, y) => x.position.partition - y.position.partition
        || x.position.heartbeats_through - y.position.heartbeats_through || x.position.acks_through - y.position.acks_through);
      for (const w of list) {
        const p = w.position.partition;
        let r = refolds.get(p);
        if (!r) { r = new PartitionRefold(heartbeats.get(p) ?? [], acks.get(p) ?? [], maxPendingAckAgents); refolds.set(p, r); }
        const fold = r.to(w.position);
        const got = new Map<string, ScheduleAgent>();
        for (const id of w.ids) {
          const s = fold.agents.get(id);
          if (s) got.set(id, scheduleAgentOf(s, w.position));
        }
        out.set(positionKey(w.position), got);
      }
      return out;
    },
  };
}
