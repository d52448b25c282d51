// Fans the one consumer's records out: folds them into the session projection (the CLI's
// `sessions` fold, services/cli/session-list.ts), keeps each session's recent stream items for
// resume and late subscribers, and hands new items to the streams subscribed to their session.
// Subscribing and replaying the history happen in one tick, so no record falls between them.
import type { EventOf } from '../../schemas/generated/events';
import { emptySessionLog, foldLogEntry, openingOf, summaryOf, summarize, type SessionOpening, type SessionSummary } from '../cli/session-list';
import { unreachable } from '../runtime/errors';
import { isOneOf } from '../runtime/processor';
import { isAfter, isStreamTopic, type Cursor, type StreamTopic } from './cursor';
import { GatewayError } from './errors';
import type { FollowedRecord } from './log-follower';
import { MeshView } from './mesh-view';
import { streamItem, type StreamItem } from './stream-item';

/** Topics the projection folds besides the streamed ones. */
export const FOLDED_TOPICS = ['solver.sessions', 'solver.costs', 'solver.iterations', 'solver.verifications', 'mesh.conflicts', 'mesh.summaries', 'mesh.circuits'] as const;

const STREAMED = ['SessionOpened', 'SessionRejected', 'SessionClosed', 'IterationCompleted', 'ConvergenceReached', 'VerificationCompleted', 'VerifierVoteCast', 'ConsensusReached', 'ConsensusNotReached', 'ConflictReported'] as const;
const isStreamed = isOneOf(STREAMED);
type Streamed = EventOf<(typeof STREAMED)[number]>;

/** The session a streamed event belongs to, null when none. */
function sessionOf(topic: StreamTopic, e: Streamed): string | null {
  switch (e.type) {
    case 'ConflictReported':
      // The solver reports a stale matrix edit with the session as the cluster (solver domain.conflict).
      return topic === 'mesh.conflicts' && e.sector_id === 'solver' ? e.cluster_id : null;
    case 'SessionOpened':
    case 'SessionRejected':
    case 'SessionClosed':
    case 'IterationCompleted':
    case 'ConvergenceReached':
    case 'VerificationCompleted':
    case 'VerifierVoteCast':
    case 'ConsensusReached':
    case 'ConsensusNotReached':
      // A session's events are read from solver topics, keyed by it; the same types elsewhere are not its.
      return topic === 'mesh.conflicts' ? null : e.session_id;
    default:
      return unreachable(e);
  }
}

/** Cost updates or conflicts alone do not make a session: it was opened, or rejected. */
const isSession = (s: SessionSummary): boolean => s.opened_at !== null || s.state === 'rejected';

export interface Subscriber {
  push(item: StreamItem): void;
}

interface History {
  readonly items: StreamItem[];
  /** Highest offset per topic-partition dropped from the front: a resume from before it is gone. */
  readonly dropped: Map<string, number>;
  readonly subs: Set<Subscriber>;
}

export interface ReplayFrom {
  readonly after?: Cursor;
  /** Record time, ms: items at or after it. */
  readonly fromMs?: number;
}

export class Hub {
  private readonly log = emptySessionLog();
  private readonly histories = new Map<string, History>();
  private readonly allSubs = new Set<Subscriber>();
  private readonly watchers = new Set<(r: FollowedRecord) => void>();
  readonly mesh = new MeshView();
  private records = 0;
  /** Highest offset folded per `topic/partition`. */
  private readonly folded = new Map<string, number>();

  constructor(private readonly historyCap: number) {}

  get recordsSeen(): number { return this.records; }

  onRecord(r: FollowedRecord): void {
    this.records++;
    this.folded.set(`${r.topic}/${r.partition}`, r.offset);
    foldLogEntry(this.log, r);
    const e = r.event;
    if (!e) return;
    this.mesh.onEvent(r.topic, e);
    for (const w of this.watchers) w(r);
    if (!isStreamTopic(r.topic) || !isStreamed(e)) return;
    const sessionId = sessionOf(r.topic, e);
    if (!sessionId) return;
    const item = streamItem(r.topic, r.partition, r.offset, r.timestampMs, sessionId, e);
    const h = this.history(sessionId);
    h.items.push(item);
    if (h.items.length > this.historyCap) {
      const old = h.items.shift()!;
      h.dropped.set(old.tp, Math.max(h.dropped.get(old.tp) ?? -1, old.offset));
    }
    for (const s of h.subs) s.push(item);
    for (const s of this.allSubs) s.push(item);
  }

  private history(id: string): History {
    let h = this.histories.get(id);
    if (!h) { h = { items: [], dropped: new Map(), subs: new Set() }; this.histories.set(id, h); }
    return h;
  }

  /**
   * Subscribes to a session: the kept items after `from` first, then every new one. A resume
   * from before what is kept is 410 (the stream would miss events, and it never silently does).
   */
  subscribe(sessionId: string, sub: Subscriber, from: ReplayFrom = {}): () => void {
    const h = this.history(sessionId);
    if (h.dropped.size > 0) {
      const lost = [...h.dropped].some(([tp, o]) => !from.after || !isAfter(from.after, tp, o));
      if (lost && from.fromMs === undefined) throw new GatewayError('GONE', `session ${sessionId}: events before the last ${h.items.length} are no longer kept by this gateway (GATEWAY_HISTORY_EVENTS); resume from a later event id`);
    }
    for (const item of h.items) {
      if (from.after && !isAfter(from.after, item.tp, item.offset)) continue;
      if (from.fromMs !== undefined && item.timestampMs < from.fromMs) continue;
      sub.push(item);
    }
    h.subs.add(sub);
    return () => { h.subs.delete(sub); };
  }

  /** Every streamed item of every session from now on (the live page's conflict feed). */
  subscribeAll(sub: Subscriber): () => void {
    this.allSubs.add(sub);
    return () => { this.allSubs.delete(sub); };
  }

  /** Whether the record at this position (or a later one of its partition) was folded. */
  hasFolded(topic: string, partition: number, offset: number): boolean {
    return (this.folded.get(`${topic}/${partition}`) ?? -1) >= offset;
  }

  /** Every decoded record from now on, after the projection folded it (answers to requests: EntryEstimated). */
  watch(fn: (r: FollowedRecord) => void): () => void {
    this.watchers.add(fn);
    return () => { this.watchers.delete(fn); };
  }

  summary(id: string): SessionSummary | undefined {
    const s = summaryOf(this.log, id);
    return s && isSession(s) ? s : undefined;
  }

  summaries(): SessionSummary[] {
    return summarize(this.log).filter(isSession);
  }

  /** What a session was opened with, without its summary (inputs are checked against it one by one). */
  opening(id: string): SessionOpening | undefined {
    return openingOf(this.log, id);
  }

  /** The owner a session was opened with, null for internal ones, undefined while unknown. */
  ownerOf(id: string): string | null | undefined {
    return this.opening(id)?.owner;
  }
}
