// Structural events from the services themselves (seed 004 StructuralEvent; issue 19): a solver
// slice far slower than its running median or a fixed limit, a Redis write that took long, a
// consumer falling far behind its partitions' end (the runner's lag, runner.ts).
//
// These are observations of wall-clock facts, not decisions: they are written with a plain
// (non-transactional) producer onto mesh.witnesses, the topic the guardian consumes structural
// events from, outside the exactly-once folds of the service that observes them. A replay of the
// service's inputs does not reproduce them and need not: from the moment one is in the log it
// is an input like any other, and the guardian's fold of it (copied onto mesh.guardian) replays
// bit for bit. A write that fails is logged and dropped (an observation is not worth a retry
// that could pile up behind a broker outage).
import type { StructuralEventObserved } from '../../schemas/generated/events';
import type { EventCodec } from './codec';
import type { RuntimeConfig } from './config';
import { createEngine } from './engine';
import { derivedEventId } from './ids';
import type { PartitionProgress, Producer } from './kafka/types';
import type { Logger } from './logger';

/** The topic the guardian reads structural events from (services/guardian/processor.ts SOURCES). */
export const STRUCTURAL_TOPIC = 'mesh.witnesses';

/**
 * The producer named in an observation: not the service's own name, which marks its decided
 * outputs (the guardian skips its own and its replay compares them), while the guardian's lag is
 * an observation like any other service's.
 */
export const observerOf = (component: string) => `${component}/observed`;

/**
 * A value far above its running median: the median of the last `window` values (before this
 * one) times `ratio`, once `minSamples` are known. Pure: the caller measures.
 */
export class SpikeDetector {
  private readonly values: number[] = [];

  constructor(readonly window = 50, readonly minSamples = 10, readonly ratio = 5) {}

  /** Records v; says whether it is a spike, and the median it was compared with (null before minSamples). */
  observe(v: number): { spike: boolean; median: number | null } {
    const median = this.values.length >= this.minSamples ? medianOf(this.values) : null;
    this.values.push(v);
    if (this.values.length > this.window) this.values.shift();
    return { spike: median !== null && v > median * this.ratio, median };
  }
}

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * A consumer partition far behind its end: reported when its lag goes above `threshold` records,
 * and again only once it came back to half of that, so a partition that stays behind for minutes
 * is one observation, not one per batch. Pure: the caller measures.
 */
export class LagWatch {
  private readonly behind = new Set<string>();

  constructor(readonly threshold: number) {}

  /** Records `lag` of the partition `key`; says whether it just went over the threshold. */
  observe(key: string, lag: number): boolean {
    if (this.behind.has(key)) {
      if (lag <= this.threshold / 2) this.behind.delete(key);
      return false;
    }
    if (!(lag > this.threshold)) return false;
    this.behind.add(key);
    return true;
  }

  /** The partition is no longer this consumer's (revoked): its next owner judges it afresh. */
  forget(key: string): void {
    this.behind.delete(key);
  }
}

export interface StructuralEmitterOptions {
  /** Component id in the events, e.g. `solver` or `impedance`. */
  readonly component: string;
  readonly producer: () => Promise<Producer>;
  readonly codec: Pick<EventCodec, 'encode'>;
  readonly topicPrefix: string;
  readonly logger: Logger;
  /** Wall clock, ms (tests). */
  readonly now?: () => number;
}

export class StructuralEmitter {
  private producer: Promise<Producer> | undefined;
  private readonly detectors = new Map<string, SpikeDetector>();
  private seq = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: StructuralEmitterOptions) {
    this.now = o.now ?? Date.now;
  }

  /** `value` of `resource` measured; emits RESOURCE_SPIKE when it is far above the resource's running median. */
  sample(resource: string, value: number, latencyMs: number | null = null, detail?: string): boolean {
    let d = this.detectors.get(resource);
    if (!d) { d = new SpikeDetector(); this.detectors.set(resource, d); }
    const { spike, median } = d.observe(value);
    if (spike) this.spike(resource, value, latencyMs, `${detail ? `${detail}: ` : ''}${value.toFixed(3)} over ${d.ratio}x the running median ${median!.toFixed(3)}`);
    return spike;
  }

  /** A measured duration over a fixed limit (a Redis write that took long); emits RESOURCE_SPIKE. */
  slow(resource: string, ms: number, limitMs: number, detail?: string): boolean {
    if (!(ms > limitMs)) return false;
    this.spike(resource, ms, ms, `${detail ? `${detail}: ` : ''}${ms.toFixed(1)} ms over the ${limitMs} ms limit`);
    return true;
  }

  /** Runs `fn` and reports it with slow() when it took longer than limitMs. */
  async timed<T>(resource: string, limitMs: number, fn: () => Promise<T>, detail?: string): Promise<T> {
    const t0 = performance.now();
    try { return await fn(); } finally { this.slow(resource, performance.now() - t0, limitMs, detail); }
  }

  /** A consumer partition `lag` records behind its high watermark, over `limit`; emits RESOURCE_SPIKE `consumer_lag`. */
  lagged(p: PartitionProgress, limit: number): void {
    this.spike('consumer_lag', p.lag, null, `${p.topic}[${p.partition}] ${p.lag} records behind its end (position ${p.position}, high watermark ${p.highWatermark}): over the ${limit}-record limit`);
  }

  /** Writes one RESOURCE_SPIKE, fire and forget (see the header). */
  spike(resource: string, value: number, latencyMs: number | null, error: string): void {
    if (this.closed) return;
    const atUs = this.now() * 1000;
    const event: StructuralEventObserved = {
      type: 'StructuralEventObserved',
      meta: {
        event_id: derivedEventId(`structural:${this.o.component}:${process.pid}`, `${resource}:${atUs}:${this.seq++}`),
        correlation_id: this.o.component, causation_id: null, occurred_at: atUs, producer: observerOf(this.o.component), sequence: null,
      },
      component_id: this.o.component, kind: 'RESOURCE_SPIKE', request_id: null, success: null, peer_component_id: null,
      resource, value, queue_depth: null, circuit_state: null,
      latency_us: latencyMs === null ? null : Math.max(0, Math.round(latencyMs * 1000)), error,
    };
    this.o.logger.warn({ component: this.o.component, resource, value, error }, 'structural event observed');
    const p = this.write(event).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async write(event: StructuralEventObserved): Promise<void> {
    try {
      const p = await (this.producer ??= this.o.producer());
      const topic = this.o.topicPrefix + STRUCTURAL_TOPIC;
      await p.send([{ topic, key: event.component_id, value: await this.o.codec.encode(topic, event) }]);
    } catch (err) {
      if (!this.closed) this.o.logger.warn({ err, resource: event.resource }, 'structural event not written; dropped');
    }
  }

  /** Waits for the writes under way (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.producer) await (await this.producer).close().catch(() => undefined);
  }
}

/** A service's emitter on its own producer (the service's engine, not its transactional one). */
export function serviceStructuralEmitter(config: RuntimeConfig, logger: Logger, codec: Pick<EventCodec, 'encode'>, component: string): StructuralEmitter {
  return new StructuralEmitter({ component, producer: () => createEngine(config, logger).producer(), codec, topicPrefix: config.topicPrefix, logger });
}

/** What the runner tells about its partitions' lag (runner.ts); topics are logical names. */
export interface LagReporter {
  /** A batch of the partition committed; `p` is its progress then. */
  committed(p: PartitionProgress): void;
  revoked(list: ReadonlyArray<{ topic: string; partition: number }>): void;
}

/** Reports a partition whose lag at a commit went over `limit` records (LagWatch) through `emitter`. */
export function consumerLagReporter(emitter: StructuralEmitter, limit: number): LagReporter {
  const watch = new LagWatch(limit);
  const key = (topic: string, partition: number) => `${topic}/${partition}`;
  return {
    committed(p) { if (watch.observe(key(p.topic, p.partition), p.lag)) emitter.lagged(p, limit); },
    revoked(list) { for (const p of list) watch.forget(key(p.topic, p.partition)); },
  };
}
