// The agents a schedule saw, refolded: a partition's heartbeats and agent-acks folded by the
// service's own PartitionFold up to a registry position (partition-fold.ts: the state does not
// depend on how the two inputs interleave). Positions of a partition are visited in order, one
// fold advancing through them; one that goes back on either input (a new owner restarting from
// its checkpoint while a zombie's entries stayed) starts a fold afresh. Pure.
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

export function refolder(heartbeats: ReadonlyMap<number, readonly HeartbeatInput[]>, acks: ReadonlyMap<number, readonly AckInput[]>, maxPendingAckAgents?: number): Refolder {
  return {
    agentsAt(wanted) {
      const out = new Map<string, Map<string, ScheduleAgent>>();
      const byPartition = new Map<number, Array<(typeof wanted)[number]>>();
      for (const w of wanted) {
        const list = byPartition.get(w.position.partition) ?? [];
        list.push(w);
        byPartition.set(w.position.partition, list);
      }
      for (const [p, list] of byPartition) {
        list.sort((a, b) => a.position.heartbeats_through - b.position.heartbeats_through || a.position.acks_through - b.position.acks_through);
        const hbs = heartbeats.get(p) ?? [];
        const as = acks.get(p) ?? [];
        let fold = new PartitionFold(maxPendingAckAgents);
        let h = 0, a = 0, acksThrough = -1;
        for (const w of list) {
          if (w.position.acks_through < acksThrough) { fold = new PartitionFold(maxPendingAckAgents); h = 0; a = 0; }
          for (; h < hbs.length && hbs[h]!.offset <= w.position.heartbeats_through; h++) fold.apply(hbs[h]!.event, hbs[h]!.offset);
          for (; a < as.length && as[a]!.offset <= w.position.acks_through; a++) {
            const x = as[a]!;
            if (x.event.type === 'AckReceived') fold.applyAck(x.event, x.offset);
            else if (x.event.type === 'ConflictReported') fold.applyOffence(x.event, x.offset);
            else fold.applyHeal(x.event, x.offset);
          }
          acksThrough = w.position.acks_through;
          // Read out before the next commit: the fold reuses the states it replaced.
          const got = new Map<string, ScheduleAgent>();
          for (const id of w.ids) {
            const s = fold.agents.get(id);
            if (s) got.set(id, scheduleAgentOf(s, w.position));
          }
          fold.commit();
          out.set(`${p}|${w.position.heartbeats_through}|${w.position.acks_through}`, got);
        }
      }
      return out;
    },
  };
}
