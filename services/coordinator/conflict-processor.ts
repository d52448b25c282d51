// Wires the conflict lifecycle to Kafka. CONFLICT acks on mesh.acks become ConflictReported on
// mesh.conflicts, keyed by conflict id so every fact about one conflict stays in order on one
// partition; that partition's reports, deadline records and operator commands are folded by its
// ConflictBook. Deadline records are written by a timer here, as consensus writes its vote
// deadlines: the wall clock only chooses when to write one; its place in the log decides.
import pino from 'pino';
import type { ConflictDeadlinePassed } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import type { Producer } from '../runtime/kafka/types';
import type { Logger } from '../runtime/logger';
import { derivedEventId } from '../runtime/ids';
import { isOneOf, type Emit, type EventValidator, type Processor } from '../runtime/processor';
import { unreachable } from '../runtime/errors';
import { ConflictBook } from './conflict-book';
import { isOverdue, reportOfAck, type ConflictInput } from './conflict-lifecycle';
import { PRODUCER } from './conflicts';

export const CONFLICTS_TOPIC: TopicName = 'mesh.conflicts';
const ACKS: TopicName = 'mesh.acks';
const INPUTS = ['ConflictReported', 'ConflictDeadlinePassed', 'ConflictResolutionRequested'] as const satisfies ReadonlyArray<ConflictInput['type']>;
const isConflictInput = isOneOf(INPUTS);
export const CONFLICT_PROCESSOR_TYPES = ['AckReceived', ...INPUTS] as const;

export interface ConflictProcessorOptions {
  readonly logger?: Logger;
  /** Reads of the service's own log at assignment; without them a partition starts empty. */
  readonly brokers?: readonly string[];
  readonly codec?: EventCodec;
  readonly topicPrefix?: string;
  readonly groupId?: string;
  readonly validate?: EventValidator;
  /** Where deadline records go; without it none are written (they can still come from elsewhere). */
  readonly producer?: () => Promise<Producer>;
  /** Wall clock, ms: when a deadline record is written. */
  readonly now?: () => number;
}

/** setTimeout's longest delay; a later deadline re-arms when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const RETRY_MS = 1000;

export function conflictProcessor(o: ConflictProcessorOptions = {}): Processor<(typeof CONFLICT_PROCESSOR_TYPES)[number]> {
  const log = (o.logger ?? pino({ level: 'silent' })).child({ component: 'conflicts' });
  const now = o.now ?? Date.now;
  const prefix = o.topicPrefix ?? '';
  const books = new Map<number, ConflictBook>();
  const stale = new Set<number>();
  const timers = new Map<string, NodeJS.Timeout>();
  let producer: Promise<Producer> | undefined;
  let closed = false;

  function writeDeadline(conflictId: string, resolveBy: number): void {
    const ev: ConflictDeadlinePassed = {
      type: 'ConflictDeadlinePassed',
      meta: { event_id: derivedEventId(conflictId, `deadline:${resolveBy}`), correlation_id: conflictId, causation_id: null, occurred_at: Math.max(now() * 1000, resolveBy), producer: PRODUCER, sequence: null },
      conflict_id: conflictId, resolve_by: resolveBy,
    };
    const topic = prefix + CONFLICTS_TOPIC;
    // A producer that failed to connect is not kept: the retry connects again.
    (producer ??= o.producer!().catch((err: unknown) => { producer = undefined; throw err; }))
      .then(async (p) => p.send([{ topic, key: conflictId, value: await o.codec!.encode(topic, ev) }]))
      .catch((err: unknown) => {
        // Not written, not decided: try again (a duplicate is harmless, the first one counts).
        log.warn({ err, conflictId }, 'deadline record not written; retrying in 1 s');
        if (!closed && !timers.has(conflictId)) timers.set(conflictId, setTimeout(() => { timers.delete(conflictId); writeDeadline(conflictId, resolveBy); }, RETRY_MS));
      });
  }

  function arm(conflictId: string, resolveBy: number): void {
    if (!o.producer || !o.codec || timers.has(conflictId)) return;
    const wait = Math.ceil(resolveBy / 1000 - now());
    timers.set(conflictId, setTimeout(() => {
      timers.delete(conflictId);
      if (wait > MAX_DELAY_MS) arm(conflictId, resolveBy); else writeDeadline(conflictId, resolveBy);
    }, Math.min(Math.max(0, wait), MAX_DELAY_MS)));
  }

  function disarm(conflictId: string): void {
    const t = timers.get(conflictId);
    if (t) clearTimeout(t);
    timers.delete(conflictId);
  }

  /** A deadline is awaited while the conflict is open and not yet escalated as overdue. */
  function armFor(book: ConflictBook, conflictId: string): void {
    const s = book.state(conflictId);
    if (s.status === 'open' && s.resolveBy !== null && !isOverdue(s)) arm(conflictId, s.resolveBy);
    else disarm(conflictId);
  }

  async function restore(partition: number): Promise<ConflictBook> {
    const book = new ConflictBook();
    if (o.brokers && o.codec && o.groupId) {
      const topic = prefix + CONFLICTS_TOPIC;
      const to = (await committedOffsets(o.brokers, o.groupId, [{ topic, partition }])).get(`${topic}/${partition}`) ?? -1;
      if (to > 0) {
        await readLog(o.brokers, o.codec, [{ topic, partition, from: 0, to }], {
          onRecord: (r) => { if (isConflictInput(r.event) && !(o.validate && o.validate(r.event).length > 0)) book.apply(r.event); },
        });
      }
    }
    for (const q of book.queue()) if (q.resolveBy !== null && !q.overdue) arm(q.conflictId, q.resolveBy);
    books.set(partition, book);
    stale.delete(partition);
    return book;
  }

  const bookFor = (p: number) => (books.has(p) && !stale.has(p) ? Promise.resolve(books.get(p)!) : restore(p));

  function handleWith(book: ConflictBook, e: ConflictInput): Emit[] {
    const facts = book.apply(e);
    armFor(book, e.conflict_id);
    return facts.map((f) => ({ topic: CONFLICTS_TOPIC, key: f.conflict_id, event: f }));
  }

  return {
    name: 'coordinator.conflicts',
    inputs: [ACKS, CONFLICTS_TOPIC],
    accepts: CONFLICT_PROCESSOR_TYPES,
    handle(event, ctx) {
      switch (event.type) {
        case 'AckReceived': {
          const report = reportOfAck(event);
          return report ? [{ topic: CONFLICTS_TOPIC, key: report.conflict_id, event: report }] : [];
        }
        case 'ConflictReported':
        case 'ConflictDeadlinePassed':
        case 'ConflictResolutionRequested': {
          const b = books.get(ctx.partition);
          if (b && !stale.has(ctx.partition)) return handleWith(b, event);
          return bookFor(ctx.partition).then((book) => handleWith(book, event));
        }
        default: return unreachable(event);
      }
    },
    onAbort() { for (const p of books.keys()) stale.add(p); },
    async onAssigned(list) {
      for (const p of new Set(list.filter((x) => x.topic === CONFLICTS_TOPIC).map((x) => x.partition))) await bookFor(p);
    },
    onRevoked(list) {
      for (const x of list) {
        if (x.topic !== CONFLICTS_TOPIC) continue;
        const book = books.get(x.partition);
        for (const q of book?.queue() ?? []) disarm(q.conflictId);
        books.delete(x.partition);
        stale.delete(x.partition);
      }
    },
    async close() {
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      if (producer) await (await producer).close();
    },
  };
}
