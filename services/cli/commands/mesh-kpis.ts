// The coordination KPIs of `mesh status` (seed 002 §11.1), folded from the newest QuorumDecided
// events on mesh.acks. Decisions are few among the acks (one per 30,000 acks of a broadcast), so
// the tail of each partition is read in widening windows until enough decisions are in or the
// window reaches its bound: the status answers in bounded time however long the log is.
import type { QuorumDecided } from '../../../schemas/generated/events';
import { topicSpec } from '../../../topics/catalog';
import { foldKpis, KPI_TARGETS, type Kpis } from '../../coordinator/kpis';
import { formatBox } from '../../impedance/status';
import { EventCodec } from '../../runtime/codec';
import type { RuntimeConfig } from '../../runtime/config';
import { endOffsets, readLog } from '../../runtime/kafka/log-reader';

export interface RecentWindow {
  /** The newest decisions wanted. */
  readonly decisions: number;
  /** Most records read back from the end of each partition. */
  readonly maxRecords: number;
  readonly timeoutMs?: number;
}

export async function recentDecisions(config: RuntimeConfig, w: RecentWindow): Promise<QuorumDecided[]> {
  const topic = config.topicPrefix + 'mesh.acks';
  const ends = await endOffsets(config.kafkaBrokers, topic, topicSpec('mesh.acks').partitions);
  const codec = new EventCodec(config.schemaRegistryUrl);
  for (let span = Math.min(4096, w.maxRecords); ; span = Math.min(span * 4, w.maxRecords)) {
    const ranges = ends.map((to, partition) => ({ topic, partition, from: Math.max(0, to - span), to }));
    const found: QuorumDecided[] = [];
    await readLog(config.kafkaBrokers, codec, ranges, {
      timeoutMs: w.timeoutMs ?? 30_000,
      onRecord: (r) => { if (r.event?.type === 'QuorumDecided') found.push(r.event); },
    });
    const whole = ranges.every((r) => r.from === 0);
    if (found.length >= w.decisions || whole || span >= w.maxRecords) {
      return found.sort((a, b) => a.meta.occurred_at - b.meta.occurred_at).slice(-w.decisions);
    }
  }
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const time = (us: number | null) => (us === null ? '?' : new Date(us / 1000).toISOString().slice(11, 19));

export function formatKpiBox(k: Kpis): string {
  const span = k.decisions === 0 ? 'no decisions on mesh.acks' : `last ${k.decisions} decisions, ${time(k.fromUs)}-${time(k.toUs)} UTC`;
  return formatBox(`COORDINATION KPIs (${span})`, [
    `Coordination success: ${pct(k.coordinationSuccessRate)} SUCCESS (target >= ${pct(KPI_TARGETS.coordinationSuccessRate)}), PROCEED ${pct(k.proceedRate)}`,
    `Arrival window hit: ${pct(k.arrivalWindowHitRate)} of agents sent (target >= ${pct(KPI_TARGETS.arrivalWindowHitRate)})`,
    `Conflict rate: ${pct(k.conflictRate)} of answers (target <= ${pct(KPI_TARGETS.conflictRate)})`,
  ]);
}

export async function meshKpis(config: RuntimeConfig, w: RecentWindow): Promise<Kpis> {
  return foldKpis(await recentDecisions(config, w));
}
