// Replay of the 5 s summaries (DESIGN invariant 3). A summary reads the whole registry, which the
// owners of the heartbeat partitions write while the service works; so the summary entries and,
// per partition, the fold position they are as of are written in one MULTI and read in one MULTI
// (registry-store.ts), and every summary names the positions it read. The replay refolds each
// partition's heartbeats and agent-acks up to exactly those positions with the service's own
// fold, recomputes the tick's cluster, sector and mesh summaries with the same pure function
// (summaries.ts), and compares the encoded bytes with the recorded ones, naming the first
// divergence.
//
// The mesh summary's prediction accuracy (prediction_samples, _within_50ms, _hit_rate,
// _p90_error_ms, conflicts_last_hour) is refolded too: the agent-ack fold counts it, each ack
// once by the fold's own state, and each partition's counts are written with its position and
// read with it (accuracy.ts), so the refolded partitions' counts over the tick's hour are the
// ones the service read.
import type { ClusterSummarized, MeshSummarized, SectorSummarized, SummaryPosition } from '../../schemas/generated/events';
import { firstDifference } from '../runtime/divergence';
import { windowAccuracy, type AccuracyCells } from './accuracy';
import { snapshotOf } from './registry-store';
import { PartitionRefold, positionKey, type AckInput, type HeartbeatInput } from './schedule-refold';
import { summarize, type AgentSnapshot } from './summaries';

export type SummaryEvent = ClusterSummarized | SectorSummarized | MeshSummarized;

/** A recorded summary: its bytes as written and where. */
export interface LoggedSummary {
  readonly event: SummaryEvent;
  readonly value: Buffer;
  readonly partition: number;
  readonly offset: number;
}

/** What the replay reads of the log (summary-log.ts reads it from Kafka; a spec may change it). */
export interface SummaryLog {
  /** The impedance service's summaries on mesh.summaries. */
  readonly summaries: readonly LoggedSummary[];
  /** The service's inputs per mesh.heartbeats / mesh.agent-acks partition, in offset order (dead-lettered ones left out). */
  readonly heartbeats: ReadonlyMap<number, ReadonlyArray<HeartbeatInput>>;
  readonly acks: ReadonlyMap<number, ReadonlyArray<AckInput>>;
}

export interface SummaryDivergence {
  /** The summary tick (µs) and the recorded event. */
  readonly tick: number;
  readonly eventId: string;
  readonly scope: string;
  /** mesh.summaries partition/offset of the recorded event. */
  readonly at: string;
  readonly kind: 'differs' | 'no positions' | 'not recorded' | 'not recomputed';
  /** The first field that differs (`mean_impedance`), with both values. */
  readonly field?: string;
  readonly recorded?: unknown;
  readonly recomputed?: unknown;
  readonly detail?: string;
}

export interface SummaryReplay {
  readonly ok: boolean;
  /** Ticks summarised (one summary read each), summaries recorded / recomputed / identical byte for byte. */
  readonly ticks: number;
  readonly recorded: number;
  readonly recomputed: number;
  readonly identical: number;
  /** Partition positions refolded to. */
  readonly positions: number;
  readonly divergence?: SummaryDivergence;
}

const scopeOf = (e: SummaryEvent) => e.meta.correlation_id;

/** One summary read: the events of one tick computed from the same positions. */
interface Read { readonly tick: number; readonly positions: readonly SummaryPosition[]; readonly events: LoggedSummary[] }

const readKey = (tick: number, positions: readonly SummaryPosition[]) => `${tick}@${positions.map(positionKey).join(',')}`;

/**
 * Recomputes every summary from the agents refolded to the positions it names and compares it
 * with the recorded one byte for byte (`encode`: the event as the service wrote it). Stops at the
 * first divergence, in tick order.
 */
export async function compareSummaries(log: SummaryLog, encode: (e: SummaryEvent) => Promise<Buffer>, maxPendingAckAgents?: number): Promise<SummaryReplay> {
  const reads = new Map<string, Read>();
  let recorded = 0, recomputed = 0, identical = 0, positionsN = 0;
  const result = (divergence?: SummaryDivergence): SummaryReplay => ({
    ok: !divergence, ticks: reads.size, recorded, recomputed, identical, positions: positionsN, ...(divergence ? { divergence } : {}),
  });
  const where = (s: LoggedSummary) => ({ tick: s.event.meta.occurred_at, eventId: s.event.meta.event_id, scope: scopeOf(s.event), at: `mesh.summaries ${s.partition}/${s.offset}` });
  for (const s of log.summaries) {
    recorded++;
    const positions = s.event.registry_positions;
    if (positions === null) return result({ ...where(s), kind: 'no positions', detail: 'the summary names no registry positions (written before they were recorded)' });
    const k = readKey(s.event.meta.occurred_at, positions);
    let r = reads.get(k);
    if (!r) { r = { tick: s.event.meta.occurred_at, positions, events: [] }; reads.set(k, r); }
    r.events.push(s);
  }
  // In tick order, each partition's fold advancing through its positions.
  const ordered = [...reads.values()].sort((a, b) => a.tick - b.tick);
  const refolds = new Map<number, PartitionRefold>();
  const refold = (p: number) => {
    let x = refolds.get(p);
    if (!x) { x = new PartitionRefold(log.heartbeats.get(p) ?? [], log.acks.get(p) ?? [], maxPendingAckAgents); refolds.set(p, x); }
    return x;
  };
  for (const r of ordered) {
    const agents: AgentSnapshot[] = [];
    const cells: AccuracyCells[] = [];
    for (const pos of r.positions) {
      positionsN++;
      const fold = refold(pos.partition).to(pos);
      for (const a of fold.agents.values()) agents.push(snapshotOf(a));
      cells.push(fold.accuracyCells());
    }
    const s = summarize(agents, r.tick, windowAccuracy(cells, Math.floor(r.tick / 1000)), r.positions.map((p) => ({ ...p })));
    const expected: SummaryEvent[] = [...s.clusters, ...s.sectors, s.mesh];
    recomputed += expected.length;
    const byId = new Map(r.events.map((e) => [e.event.meta.event_id, e]));
    for (const e of expected) {
      const c = byId.get(e.meta.event_id);
      if (!c) {
        return result({
          tick: r.tick, eventId: e.meta.event_id, scope: scopeOf(e), at: `tick ${r.tick} at ${r.positions.map(positionKey).join(', ')}`, kind: 'not recorded', recomputed: e,
          detail: 'the refolded agents give a summary the service did not write at this tick and positions',
        });
      }
      byId.delete(e.meta.event_id);
      if (!(await encode(e)).equals(c.value)) {
        const d = firstDifference(c.event, e);
        return result({ ...where(c), kind: 'differs', field: d?.path ?? '(bytes)', recorded: d?.a, recomputed: d?.b });
      }
      identical++;
    }
    const extra = byId.values().next().value;
    if (extra) return result({ ...where(extra), kind: 'not recomputed', recorded: extra.event, detail: 'no agent refolded to these positions gives this scope' });
  }
  return result();
}

/** One line for the CLI and the soak: the counts, or the first divergence with both values. */
export function summaryReplayLine(r: SummaryReplay): string {
  if (r.ok) return `${r.identical} summaries identical byte for byte (${r.ticks} ticks, ${r.positions} partition positions refolded)`;
  const d = r.divergence!;
  return `DIVERGED at tick ${d.tick} ${d.scope} (${d.eventId}, ${d.at}): ${d.kind}${d.field ? ` at ${d.field}` : ''}${d.detail ? `: ${d.detail}` : ''} ` +
    `(${r.identical} identical before it); recorded ${JSON.stringify(d.recorded ?? null)}; recomputed ${JSON.stringify(d.recomputed ?? null)}`;
}
