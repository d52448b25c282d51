// The coordination KPIs of `mesh status` (seed 002 §11.1), folded from the newest QuorumDecided
// events on mesh.acks. Decisions are few among the acks (one per 30,000 acks of a broadcast), so
// the tail of each partition is read in widening windows until enough decisions are in or the
// window reaches its bound: the status answers in bounded time however long the log is. The
// same tails give the other KPIs: cascade latency p95 and the last cascade (CascadeCompleted on
// mesh.cascades), mesh availability (MeshSummarized on mesh.summaries), recovery time (the closing
// CircuitStateChanged on mesh.circuits).
import type { CascadeCompleted, EventOf, EventType, QuorumDecided } from '../../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../../topics/catalog';
import { AVAILABILITY, CASCADE_LATENCY_TARGET_MS, cascadeKpis, foldKpis, KPI_TARGETS, meshAvailability, type Availability, type CascadeKpis, type Kpis } from '../../coordinator/kpis';
import { EMPTY_BOARD } from '../../guardian/breakers';
import { formatRecovery, recoveryKpis, type RecoveryKpi } from '../../guardian/recovery';
import { isOneOf } from '../../runtime/processor';
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

/** The newest `w.decisions` events of one type on a topic, read back from the partitions' tails in widening windows. */
export async function recentEvents<T extends EventType>(config: RuntimeConfig, logical: TopicName, type: T, w: RecentWindow): Promise<Array<EventOf<T>>> {
  const topic = config.topicPrefix + logical;
  const ends = await endOffsets(config.kafkaBrokers, topic, topicSpec(logical).partitions);
  const codec = new EventCodec(config.schemaRegistryUrl);
  const is = isOneOf([type]);
  for (let span = Math.min(4096, w.maxRecords); ; span = Math.min(span * 4, w.maxRecords)) {
    const ranges = ends.map((to, partition) => ({ topic, partition, from: Math.max(0, to - span), to }));
    const found: Array<EventOf<T>> = [];
    await readLog(config.kafkaBrokers, codec, ranges, {
      timeoutMs: w.timeoutMs ?? 30_000,
      onRecord: (r) => { if (is(r.event)) found.push(r.event); },
    });
    const whole = ranges.every((r) => r.from === 0);
    if (found.length >= w.decisions || whole || span >= w.maxRecords) {
      return found.sort((a, b) => a.meta.occurred_at - b.meta.occurred_at).slice(-w.decisions);
    }
  }
}

export const recentDecisions = (config: RuntimeConfig, w: RecentWindow): Promise<QuorumDecided[]> => recentEvents(config, 'mesh.acks', 'QuorumDecided', w);

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
const time = (us: number | null) => (us === null ? '?' : new Date(us / 1000).toISOString().slice(11, 19));

/** The KPIs that are not per coordination: cascades, availability, recovery (seed 002 §11.1). */
export interface MeshKpis {
  readonly coordination: Kpis;
  readonly cascades: CascadeKpis;
  readonly availability: Availability;
  readonly recovery: readonly RecoveryKpi[];
  readonly nowUs: number;
}

const ago = (us: number) => {
  const s = Math.max(0, Math.round(us / 1e6));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};

export function formatKpiBox(m: MeshKpis): string {
  const k = m.coordination;
  const span = k.decisions === 0 ? 'no decisions on mesh.acks' : `last ${k.decisions} decisions, ${time(k.fromUs)}-${time(k.toUs)} UTC`;
  return formatBox(`COORDINATION KPIs (${span})`, [
    `Coordination success: ${pct(k.coordinationSuccessRate)} SUCCESS (target >= ${pct(KPI_TARGETS.coordinationSuccessRate)}), PROCEED ${pct(k.proceedRate)}`,
    `Arrival window hit: ${pct(k.arrivalWindowHitRate)} of agents sent (target >= ${pct(KPI_TARGETS.arrivalWindowHitRate)})`,
    `Conflict rate: ${pct(k.conflictRate)} of answers (target <= ${pct(KPI_TARGETS.conflictRate)})`,
    ...cascadeLines(m.cascades, m.nowUs),
    `Mesh availability: ${pct(m.availability.rate)} of ${m.availability.fromUs === null || m.availability.toUs === null ? 'no time' : ago(m.availability.toUs - m.availability.fromUs)} at >= ${pct(AVAILABILITY.activeRate)} active (target >= ${pct(AVAILABILITY.target)})`,
    ...(m.recovery.length === 0 ? ['Recovery: no incident restored'] : m.recovery.map((r) => `Recovery ${formatRecovery(r)}`)),
  ]);
}

function cascadeLines(c: CascadeKpis, nowUs: number): string[] {
  const p95 = c.latencyP95Ms === null ? 'n/a' : `${c.latencyP95Ms.toFixed(0)} ms`;
  const last = c.last === null ? 'none' : `${c.last.strategy} ${c.last.status} in ${(c.last.latency_us / 1000).toFixed(0)} ms, ${ago(nowUs - c.last.meta.occurred_at)} ago`;
  return [`Cascade latency p95: ${p95} of ${c.cascades} (target <= ${CASCADE_LATENCY_TARGET_MS} ms, ${c.withinTarget} within)`, `Last cascade: ${last}`];
}

export async function meshKpis(config: RuntimeConfig, w: RecentWindow): Promise<MeshKpis> {
  const [decisions, cascades, summaries, circuits] = await Promise.all([
    recentDecisions(config, w),
    recentEvents(config, 'mesh.cascades', 'CascadeCompleted', w),
    // The mesh's summaries of the recent span (one every few seconds): availability over it.
    recentEvents(config, 'mesh.summaries', 'MeshSummarized', { ...w, decisions: Math.max(w.decisions, 1000) }),
    recentEvents(config, 'mesh.circuits', 'CircuitStateChanged', { ...w, decisions: Math.max(w.decisions, 1000) }),
  ]);
  const nowUs = Date.now() * 1000;
  // Restored incidents carry their recovery time; breakers still open are the guardian's to report (mesh health).
  return { coordination: foldKpis(decisions), cascades: cascadeKpis(cascades as CascadeCompleted[]), availability: meshAvailability(summaries), recovery: recoveryKpis(circuits, EMPTY_BOARD, nowUs), nowUs };
}
