// Writes tick and deadline records (DESIGN invariant 8) onto a service's own input partitions
// when the wall clock reaches them. The wall clock only chooses when a record is written; where
// it lands in the partition decides what it does, so a replay decides the same. One pending
// timer per id: arming an id again keeps the earlier time. A write that fails is tried again.
import type { SolvermeshEvent } from '../../schemas/generated/events';
import type { EventCodec } from './codec';
import type { Producer } from './kafka/types';
import type { Logger } from './logger';

export interface TickRecord {
  /** Logical topic name. */
  readonly topic: string;
  readonly key: string;
  readonly event: SolvermeshEvent;
}

export interface TickWriterOptions {
  readonly producer: () => Promise<Producer>;
  readonly codec: Pick<EventCodec, 'encode'>;
  readonly topicPrefix: string;
  readonly logger: Logger;
  readonly retryMs?: number;
  /** Wall clock, ms (tests). */
  readonly now?: () => number;
}

/** setTimeout's longest delay: a longer one fires at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class TickWriter {
  private readonly timers = new Map<string, { atMs: number; timer: NodeJS.Timeout }>();
  private producer: Promise<Producer> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: TickWriterOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Writes `build(writtenAtMs)` at wall time `atMs` (at once when it is past). */
  arm(id: string, atMs: number, build: (writtenAtMs: number) => TickRecord): void {
    if (this.closed) return;
    const pending = this.timers.get(id);
    if (pending && pending.atMs <= atMs) return;
    if (pending) clearTimeout(pending.timer);
    const wait = atMs - this.now();
    const timer = setTimeout(() => {
      this.timers.delete(id);
      // Past setTimeout's longest delay (a conflict's deadline can be far ahead): wait again.
      if (wait > MAX_DELAY_MS) this.arm(id, atMs, build); else void this.write(id, atMs, build);
    }, Math.min(Math.max(0, wait), MAX_DELAY_MS));
    this.timers.set(id, { atMs, timer });
  }

  /** Writes `record` now, without a timer (a write that fails is tried again like an armed one). */
  writeNow(id: string, record: TickRecord): void {
    if (this.closed) return;
    void this.write(id, this.now(), () => record);
  }

  /** The producer, connected once; call it at start so the first tick does not wait for it. */
  connect(): Promise<Producer> {
    return (this.producer ??= this.o.producer());
  }

  /** Drops pending timers whose id matches (partitions revoked). */
  cancel(match: (id: string) => boolean): void {
    for (const [id, t] of this.timers) if (match(id)) { clearTimeout(t.timer); this.timers.delete(id); }
  }

  get pending(): number { return this.timers.size; }

  private async write(id: string, atMs: number, build: (writtenAtMs: number) => TickRecord): Promise<void> {
    try {
      const p = await this.connect();
      // The record's event time is when it is written, not when it was due: a tick that claimed
      // its due time while waiting for a connection would release sends that are already late.
      // setTimeout may fire a millisecond early by the clock it is compared with.
      const r = build(Math.max(atMs, this.now()));
      const topic = this.o.topicPrefix + r.topic;
      await p.send([{ topic, key: r.key, value: await this.o.codec.encode(topic, r.event) }]);
    } catch (err) {
      if (this.closed) return;
      this.o.logger.warn({ err, id }, 'tick not written; trying again');
      this.arm(id, this.now() + (this.o.retryMs ?? 1000), build);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancel(() => true);
    if (this.producer) await (await this.producer).close().catch(() => undefined);
  }
}
