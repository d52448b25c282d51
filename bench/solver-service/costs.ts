// The cost stream the solver-service benches send: encoded CostUpdated records for one session.
import type { CostUpdated } from '../../schemas/generated/events';
import type { EventCodec } from '../../services/runtime/codec';
import { costUpdated } from '../../services/solver/events';
import type { Csr } from '../../wasm';

/** Record k of a stream, encoded when it is called: its event time is the moment it is sent. */
export interface Stamped {
  readonly count: number;
  at(k: number): Buffer;
}

/** A session's cost stream: b deltas, and every 100th record a diagonal edit that knows the current value. */
export class CostSource {
  private seq = 0;
  private state = 7;
  private readonly diag = new Map<number, number>();
  constructor(private readonly codec: EventCodec, private readonly sessionId: string, private readonly a: Csr) {}

  private rnd(): number { this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0; return this.state / 4294967296; }

  /** Encoded now, all dated now: for bursts, whose event times do not matter. */
  async encoded(topic: string, count: number, flushEvery: number): Promise<Buffer[]> {
    const now = Date.now() * 1000;
    const out: Buffer[] = [];
    for (const e of this.events(count, flushEvery)) out.push(await this.codec.encode(topic, e(now)));
    return out;
  }

  /**
   * Encoded at send time, each dated when it is sent, as a producer in front of the service
   * dates its updates. The solver coalesces flushes by event time (SOLVER_MIN_GROUP_INTERVAL_MS):
   * records of a paced stream dated when they were encoded, seconds before they were sent,
   * looked to it like thousands of flushes in one instant.
   */
  async stamped(topic: string, count: number, flushEvery: number): Promise<Stamped> {
    const events = this.events(count, flushEvery);
    // The schema id is registered (and known to encodeKnown) before the first send.
    if (events.length > 0) await this.codec.encode(topic, events[0]!(Date.now() * 1000));
    return {
      count,
      at: (k) => this.codec.encodeKnown(topic, events[k]!(Date.now() * 1000))!,
    };
  }

  private events(count: number, flushEvery: number): Array<(occurredAt: number) => CostUpdated> {
    const out: Array<(occurredAt: number) => CostUpdated> = [];
    for (let k = 0; k < count; k++) {
      const seq = this.seq++;
      const i = Math.floor(this.rnd() * this.a.n);
      const flush = flushEvery > 0 ? (k + 1) % flushEvery === 0 || k === count - 1 : k === count - 1;
      if (seq % 100 === 99) {
        const old = this.diag.get(i) ?? this.a.values[diagIndex(this.a, i)]!;
        const next = Math.round((old + (this.rnd() - 0.5) * 0.02) * 1e6) / 1e6;
        this.diag.set(i, next);
        const matrix = [{ row: i, col: i, old_value: old, new_value: next }];
        out.push((occurredAt) => costUpdated(this.sessionId, seq, { matrix, flush, source: 'bench', occurredAt }));
      } else {
        const values = [Math.round((this.rnd() - 0.5) * 2000) / 10000];
        out.push((occurredAt) => costUpdated(this.sessionId, seq, { indices: [i], values, flush, source: 'bench', occurredAt }));
      }
    }
    return out;
  }
}

function diagIndex(a: Csr, i: number): number {
  for (let q = a.rowPtr[i]!; q < a.rowPtr[i + 1]!; q++) if (a.colIdx[q] === i) return q;
  throw new Error(`row ${i} has no diagonal`);
}
