// A decided gather for specs: DispatchCompleted, acks and the window's deadline folded by the
// gather decider, so the QuorumDecided carries the counts the coordinator would write.
import type { AckReceived, DispatchCompleted, GatherWindowClosed, QuorumDecided, TrinaryState } from '../../schemas/generated/events';
import { decide, evolve, NO_GATHER, quorumEvent, type GatherInput } from '../../services/coordinator/gather';
import { SEED_THRESHOLDS } from '../../services/coordinator/quorum';

export const GATHER_T = 1_767_225_600_000_000; // µs
const MS = 1000;

export const agentIds = (n: number) => Array.from({ length: n }, (_, i) => `A${String(i).padStart(3, '0')}`);

/** [agent, answer, arrival ms after T] */
export type Answer = readonly [string, TrinaryState, number];

/** The inputs of one gather with a 500 ms window at `targetUs`: the dispatch summary, the answers, the deadline. */
export function gatherInputs(corr: string, sent: readonly string[], answers: readonly Answer[], targetUs = GATHER_T): GatherInput[] {
  const meta = (id: string, at: number) => ({ event_id: `${corr}-${id}`, correlation_id: corr, causation_id: null, occurred_at: at, producer: 'spec', sequence: null });
  return [
    { type: 'DispatchCompleted', meta: meta('done', targetUs - 10 * MS), message_id: corr, target_arrival_time: targetUs, arrival_window_ms: 500, minimum_response_rate: 0.95, dispatched_agent_ids: [...sent], expired: [], skipped_count: 0, payload_hash: null, expired_count: 0, applied_through: null } satisfies DispatchCompleted,
    ...answers.map(([agent, state, afterMs]): AckReceived => ({ type: 'AckReceived', meta: meta(`ack-${agent}`, targetUs + afterMs * MS), message_id: corr, agent_id: agent, state, actual_arrival_at: targetUs + afterMs * MS, expected_arrival_at: targetUs, processing_ms: 10, conflict: null, payload_hash: null, sender_seq: null, signature: null })),
    { type: 'GatherWindowClosed', meta: meta('closed', targetUs + 1500 * MS), message_id: corr, window_end_at: targetUs + 500 * MS, grace_ms: 1000 } satisfies GatherWindowClosed,
  ];
}

/** The decision the gather makes from those inputs. */
export function decidedGather(corr: string, sent: readonly string[], answers: readonly Answer[], targetUs = GATHER_T): QuorumDecided {
  let g = NO_GATHER;
  for (const e of gatherInputs(corr, sent, answers, targetUs)) {
    const [d] = decide(g, e, SEED_THRESHOLDS);
    if (d) return quorumEvent(e, d, SEED_THRESHOLDS, null);
    g = evolve(g, e, SEED_THRESHOLDS);
  }
  throw new Error(`${corr} never decided`);
}

/** The three gathers of the KPI specs, hand-counted:
 *  c1: 4 sent, 4 READY in the window (PROCEED, SUCCESS; in window 4, conflicts 0);
 *  c2: 20 sent, 18 READY + 1 CONFLICT in it, 1 READY 100 ms after it (RETRY, PARTIAL; in window 19, conflicts 1);
 *  c3: 100 sent, 80 READY + 5 CONFLICT, 15 silent (WAIT, PARTIAL; in window 85, conflicts 5). */
export const KPI_GATHERS = {
  allReady: (targetUs = GATHER_T) => decidedGather('c1', agentIds(4), agentIds(4).map((a, i): Answer => [a, 'READY', i * 10]), targetUs),
  oneLate: (targetUs = GATHER_T) => decidedGather('c2', agentIds(20), [...agentIds(18).map((a): Answer => [a, 'READY', 0]), [agentIds(20)[18]!, 'CONFLICT', 200], [agentIds(20)[19]!, 'READY', 600]], targetUs),
  silent: (targetUs = GATHER_T) => decidedGather('c3', agentIds(100), [...agentIds(80).map((a): Answer => [a, 'READY', 0]), ...agentIds(85).slice(80).map((a): Answer => [a, 'CONFLICT', 0])], targetUs),
};
