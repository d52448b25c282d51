// When the 5 s summaries may be taken: at the latest summary tick every heartbeat partition has
// reached. A summary reads the whole registry and judges an agent silent for 30 s of event time
// offline, so taken at a tick one partition passed while another is still being read (a burst of
// many periods), it finds the live agents of the lagging partition silent. The tick is therefore
// the minimum of the partitions' watermarks, rounded down to a summary tick. A partition that was
// at the end of its log when its last batch committed and got no batch for `quietMs` of wall time
// since is not waited for (as Kafka Streams' max.task.idle.ms): its agents are silent, not
// unread, and would otherwise hold every summary back forever. One known to have records unread
// is always waited for, and none is quiet before QUIET_PARTITION_MS after heartbeats resumed
// (the service's first batch, or the first after a quiet spell: the processor passes seenMs no
// older than that), since a burst after a pause reaches the partitions one after another. Pure.
import { SUMMARY_EVERY_US } from './partition-fold';

/** One heartbeat partition's event-time watermark and when (wall ms) it last got a batch. */
export interface PartitionMark {
  readonly partition: number;
  readonly watermarkUs: number;
  readonly seenMs: number;
  /** Records were behind its high watermark when its last batch committed. */
  readonly behind: boolean;
}

/** A partition at the end of its log this long without a batch is quiet (two summary periods of wall time). */
export const QUIET_PARTITION_MS = 10_000;

/**
 * The summary tick all partitions reached, or null while none has a watermark, or one not quiet
 * has none yet (assigned, its first records not read).
 */
export function summaryTickOf(marks: readonly PartitionMark[], nowMs: number, quietMs = QUIET_PARTITION_MS): number | null {
  const quiet = (m: PartitionMark) => !m.behind && nowMs - m.seenMs >= quietMs;
  if (marks.some((m) => !Number.isFinite(m.watermarkUs) && !quiet(m))) return null;
  const known = marks.filter((m) => Number.isFinite(m.watermarkUs));
  if (known.length === 0) return null;
  const live = known.filter((m) => !quiet(m));
  // Every partition quiet: nothing moves, and the slowest still bounds what the registry knows.
  const min = Math.min(...(live.length > 0 ? live : known).map((m) => m.watermarkUs));
  return Math.floor(min / SUMMARY_EVERY_US) * SUMMARY_EVERY_US;
}

/** Marks by partition, `mine` (the owned folds, fresher than Redis) over `published`. */
export function mergeMarks(published: readonly PartitionMark[], mine: readonly PartitionMark[]): PartitionMark[] {
  const by = new Map(published.map((m) => [m.partition, m]));
  for (const m of mine) by.set(m.partition, m);
  return [...by.values()].sort((a, b) => a.partition - b.partition);
}

/**
 * The tick a SummaryDue record asks for, or null: `dueUs` once every partition below it is at the
 * end of its log (lag 0 at its last commit). The record is written only after QUIET_PARTITION_MS
 * of wall time in which the summaries did not reach the tick (the processor arms it), so a
 * partition that has not reached it by then, with nothing unread, is silent: without the record
 * the tick would wait for the next heartbeat that crosses one (a mesh gone silent, none comes).
 * Decided where the record lands, with what the log had delivered by then. Pure.
 */
export function dueTickOf(marks: readonly PartitionMark[], dueUs: number): number | null {
  if (!Number.isFinite(dueUs) || marks.length === 0) return null;
  return marks.every((m) => m.watermarkUs >= dueUs || !m.behind) ? dueUs : null;
}

/** The tick a fold's own partitions reached: the latest summary tick of the furthest one (null before any watermark). */
export function reachedTickOf(marks: readonly PartitionMark[]): number | null {
  const known = marks.filter((m) => Number.isFinite(m.watermarkUs));
  if (known.length === 0) return null;
  return Math.floor(Math.max(...known.map((m) => m.watermarkUs)) / SUMMARY_EVERY_US) * SUMMARY_EVERY_US;
}
