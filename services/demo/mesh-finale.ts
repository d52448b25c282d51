// `make demo`, the end of the mesh part: while the simulated agents still answer, one sector is
// asked to arrive together (a scatter-gather, seed 002 §3.2) and its QuorumDecided awaited; then
// the KPIs of seed 002 §11.1 as `solvermesh mesh status` prints them, from the run's own log.
import type { QuorumDecided } from '../../schemas/generated/events';
import { formatKpiBox, meshKpis } from '../cli/commands/mesh-kpis';
import { closureOf } from '../coordinator/gather';
import { requestCoordination } from '../cli/coordination-request';
import { EventSender } from '../cli/event-sender';
import { coordinationRequested, scheduleLine } from '../impedance/coordination';
import type { RuntimeConfig } from '../runtime/config';

/** How long before the end of the simulation the finale starts: T is 3 s ahead, the window 500 ms, its deadline a grace later. */
export const FINALE_LEAD_MS = 12_000;

export async function scatterGatherFinale(config: RuntimeConfig, sector: string): Promise<{ lines: string[]; decision: QuorumDecided }> {
  const nowUs = Date.now() * 1000;
  const req = coordinationRequested({ targets: [`sector:${sector}`], arrivalAtUs: nowUs + 3_000_000, nowUs, source: 'demo-orchestrator' });
  const sender = await EventSender.connect(config);
  let r;
  try {
    r = await requestCoordination(config, sender, req, { scheduleMs: 30_000, quorumMs: 30_000 });
  } finally {
    await sender.close();
  }
  if (!r.quorum) throw new Error(r.quorumMissing ?? r.scheduleMissing ?? `no decision for the scatter-gather ${req.meta.correlation_id}`);
  const q = r.quorum;
  const lines = [
    `scatter-gather of sector ${sector} at T = now + 3 s: ${r.schedule ? scheduleLine(r.schedule.summary) : 'schedule not read'}`,
    `  QuorumDecided ${q.decision} ${q.gather_status} by ${closureOf(q)}: ${q.ready_count}/${q.sent_count} READY, ${q.conflict_count} CONFLICT, ${q.silent_count} silent${q.confidence === null ? '' : `, confidence ${q.confidence.toFixed(3)}`}`,
    ...formatKpiBox(await meshKpis(config, { decisions: 100, maxRecords: 1_000_000 })).split('\n').map((l) => `  ${l}`),
  ];
  return { lines, decision: q };
}
