// State folded per input partition, restored from the partition's log up to the group's committed
// offset when the partition is assigned, when a batch aborted (what it folded is taken back by
// folding the log again), or at the first record of a partition nobody restored yet. The fold is
// the one the handler uses, so the restored state is the state the committed outputs came from.
import type { EventOf, EventType, SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from './codec';
import { committedOffsets, readLog } from './kafka/log-reader';
import { isOneOf, type EventValidator } from './processor';

/** Where a processor's partition states are restored from: the log, as its consumer group committed it. */
export interface LogRestoreDeps {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly validate?: EventValidator;
}

export interface PartitionStatesOptions<S, T extends EventType> extends LogRestoreDeps {
  /** Logical topic name. */
  readonly topic: string;
  readonly types: readonly T[];
  readonly create: (partition: number) => S;
  readonly fold: (state: S, event: EventOf<T>) => void;
  /** Called with a state just restored (arm its timers). */
  readonly restored?: (partition: number, state: S) => void;
}

export class PartitionStates<S, T extends EventType> {
  private readonly held = new Map<number, S>();
  private readonly stale = new Set<number>();
  private readonly accepts: (e: SolvermeshEvent | undefined) => e is EventOf<T>;

  constructor(private readonly o: PartitionStatesOptions<S, T>) {
    this.accepts = isOneOf(o.types);
  }

  /** The partition's state, without a promise when it is held and current. */
  get(partition: number): S | Promise<S> {
    const h = this.held.get(partition);
    return h !== undefined && !this.stale.has(partition) ? h : this.restore(partition);
  }

  /** The partition's state when it is held and current, else undefined (never restores). */
  peek(partition: number): S | undefined {
    return this.stale.has(partition) ? undefined : this.held.get(partition);
  }

  /** Every held partition must be folded again before its next record (a batch aborted). */
  invalidate(): void { for (const p of this.held.keys()) this.stale.add(p); }

  drop(partitions: Iterable<number>): void {
    for (const p of partitions) { this.held.delete(p); this.stale.delete(p); }
  }

  entries(): IterableIterator<[number, S]> { return this.held.entries(); }

  /** Restores the partitions (those held and current are kept) with one offsets query and one read. */
  async restore(...partitions: number[]): Promise<S> {
    const o = this.o;
    const todo = [...new Set(partitions)].filter((p) => !(this.held.has(p) && !this.stale.has(p)));
    const topic = o.topicPrefix + o.topic;
    const committed = await committedOffsets(o.brokers, o.groupId, todo.map((partition) => ({ topic, partition })));
    const states = new Map(todo.map((p) => [p, o.create(p)]));
    const ranges = todo.map((partition) => ({ topic, partition, from: 0, to: Math.max(0, committed.get(`${topic}/${partition}`) ?? 0) }));
    for (const r of await readLog(o.brokers, o.codec, ranges)) {
      const e = r.event;
      if (this.accepts(e) && !(o.validate && o.validate(e, r.timestampMs).length > 0)) o.fold(states.get(r.partition)!, e);
    }
    for (const [p, state] of states) {
      this.held.set(p, state);
      this.stale.delete(p);
      o.restored?.(p, state);
    }
    return this.held.get(partitions[0]!)!;
  }
}
