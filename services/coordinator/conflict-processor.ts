// Wires the conflict lifecycle to Kafka. CONFLICT acks on mesh.acks become ConflictReported on
// mesh.conflicts, keyed by conflict id so every fact about one conflict stays in order on one
// partition; that partition's reports, deadline records and operator commands are folded by its
// ConflictBook. Deadline records are written by the service's tick writer, as consensus writes
// its vote deadlines: the wall clock only chooses when to write one; its place in the log decides.
import type { ConflictDeadlinePassed } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import type { TickWriter } from '../runtime/tick-writer';
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
  /** Reads of the service's own log at assignment; without them a partition starts empty. */
  readonly brokers?: readonly string[];
  readonly codec?: EventCodec;
  readonly topicPrefix?: string;
  readonly groupId?: string;
  readonly validate?: EventValidator;
  /** Writes the deadline records; without it none are written (they can still come from elsewhere). */
  readonly ticks?: TickWriter;
}

const timerId = (conflictId: string) => `conflict/${conflictId}`;

export function conflictProcessor(o: ConflictProcessorOptions = {}): Processor<(typeof CONFLICT_PROCESSOR_TYPES)[number]> {
  const prefix = o.topicPrefix ?? '';
  const books = new Map<number, ConflictBook>();
  const stale = new Set<number>();

  function arm(conflictId: string, resolveBy: number): void {
    o.ticks?.arm(timerId(conflictId), Math.ceil(resolveBy / 1000), (writtenAtMs) => {
      const event: ConflictDeadlinePassed = {
        type: 'ConflictDeadlinePassed',
        meta: {
          event_id: derivedEventId(conflictId, `deadline:${resolveBy}:${writtenAtMs}`), correlation_id: conflictId, causation_id: null,
          occurred_at: Math.max(writtenAtMs * 1000, resolveBy), producer: PRODUCER, sequence: null,
        },
        conflict_id: conflictId, resolve_by: resolveBy,
      };
      return { topic: CONFLICTS_TOPIC, key: conflictId, event };
    });
  }

  const disarm = (conflictId: string) => o.ticks?.cancel((id) => id === timerId(conflictId));

  /** A deadline is awaited while the conflict is open and not yet escalated as overdue. */
  function armFor(book: ConflictBook, conflictId: string): void {
    const s = book.state(conflictId);
    if (s.status === 'open' && s.resolveBy !== null && !isOverdue(s)) arm(conflictId, s.resolveBy);
    else if (s.status !== 'unknown') disarm(conflictId);
  }

  async function restore(partition: number): Promise<ConflictBook> {
    const book = new ConflictBook();
    if (o.brokers && o.codec && o.groupId) {
      const topic = prefix + CONFLICTS_TOPIC;
      const to = (await committedOffsets(o.brokers, o.groupId, [{ topic, partition }])).get(`${topic}/${partition}`) ?? -1;
      if (to > 0) {
        await readLog(o.brokers, o.codec, [{ topic, partition, from: 0, to }], {
          onRecord: (r) => { if (isConflictInput(r.event) && !(o.validate && o.validate(r.event, r.timestampMs).length > 0)) book.apply(r.event); },
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
      o.ticks?.cancel((id) => id.startsWith('conflict/'));
    },
  };
}
