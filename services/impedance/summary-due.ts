// The summary-due timer (DESIGN invariant 8): when the summary partition's owner has reached a
// summary tick it could not summarise (a heartbeat partition it waits for has not reached it), a
// SummaryDue record is written onto its own mesh.heartbeats partition QUIET_PARTITION_MS later,
// unless the tick was summarised meanwhile. The wall clock only chooses when the record is
// written; where it lands among the heartbeats is where the summaries look again
// (summary-clock.ts dueTickOf), so a mesh gone silent has its last tick summarised without
// waiting for a heartbeat that never comes.
import type { SummaryDue } from '../../schemas/generated/events';
import { topicSpec, type TopicName } from '../../topics/catalog';
import { derivedEventId } from '../runtime/ids';
import { keyForPartition } from '../runtime/kafka/partition-key';
import type { TickWriter } from '../runtime/tick-writer';
import { QUIET_PARTITION_MS } from './summary-clock';

const HEARTBEATS: TopicName = 'mesh.heartbeats';
const TIMER_ID = 'summary-due';
/** After the quiet spell, so the partitions waited for are quiet when the record is read. */
const MARGIN_MS = 500;

export interface SummaryDueTimer {
  /** The tick `tickUs` is reached and not summarised: a record for it is due, unless one is pending already. */
  arm(tickUs: number): void;
  /** Summarised: no record. */
  cancel(): void;
  close(): Promise<void>;
}

export function summaryDue(partition: number, tickUs: number, writtenAtMs: number, producer = 'impedance'): SummaryDue {
  return {
    type: 'SummaryDue',
    meta: {
      event_id: derivedEventId(`summary-due:${partition}`, `${tickUs}:${writtenAtMs}`),
      correlation_id: keyOf(partition), causation_id: null, occurred_at: writtenAtMs * 1000, producer, sequence: null,
    },
    partition, tick_at: tickUs,
  };
}

/** A key that lands on `partition` of mesh.heartbeats (the default partitioner's choice). */
export const keyOf = (partition: number) => keyForPartition('summary-due', partition, topicSpec(HEARTBEATS).partitions);

export function summaryDueTimer(ticks: TickWriter, partition: number, opts: { quietMs?: number; now?: () => number } = {}): SummaryDueTimer {
  const now = opts.now ?? Date.now;
  const wait = (opts.quietMs ?? QUIET_PARTITION_MS) + MARGIN_MS;
  const key = keyOf(partition);
  // The tick of the pending record is the one reached when it was armed: a later tick was reached
  // less than the quiet spell ago, and gets its own record after this one is read.
  let armed: number | null = null;
  return {
    arm(t) {
      if (armed !== null) return;
      const tick = (armed = t);
      ticks.arm(TIMER_ID, now() + wait, (at) => { armed = null; return { topic: HEARTBEATS, key, event: summaryDue(partition, tick, at) }; });
    },
    cancel() { armed = null; ticks.cancel((id) => id === TIMER_ID); },
    close: () => ticks.close(),
  };
}
