// The cost stream the solver-service benches send: encoded CostUpdated records for one session.
import type { EventCodec } from '../../services/runtime/codec';
import { costUpdated } from '../../services/solver/events';
import type { Csr } from '../../wasm';

/** A session's cost stream: b deltas, and every 100th record a diagonal edit that knows the current value. */
export class CostSource {
  private seq = 0;
  private state = 7;
  private readonly diag = new Map<number, number>();
  constructor(private readonly codec: EventCodec, private readonly sessionId: string, private readonly a: Csr) {}

  private rnd(): number { this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0; return this.state / 4294967296; }

  async encoded(topic: string, count: number, flushEvery: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let k = 0; k < count; k++) {
      const seq = this.seq++;
      const i = Math.floor(this.rnd() * this.a.n);
      const flush = flushEvery > 0 ? (k + 1) % flushEvery === 0 || k === count - 1 : k === count - 1;
      let e;
      if (seq % 100 === 99) {
        const old = this.diag.get(i) ?? this.a.values[diagIndex(this.a, i)]!;
        const next = Math.round((old + (this.rnd() - 0.5) * 0.02) * 1e6) / 1e6;
        this.diag.set(i, next);
        e = costUpdated(this.sessionId, seq, { matrix: [{ row: i, col: i, old_value: old, new_value: next }], flush, source: 'bench', occurredAt: Date.now() * 1000 });
      } else {
        e = costUpdated(this.sessionId, seq, { indices: [i], values: [Math.round((this.rnd() - 0.5) * 2000) / 10000], flush, source: 'bench', occurredAt: Date.now() * 1000 });
      }
      out.push(await this.codec.encode(topic, e));
    }
    return out;
  }
}

function diagIndex(a: Csr, i: number): number {
  for (let q = a.rowPtr[i]!; q < a.rowPtr[i + 1]!; q++) if (a.colIdx[q] === i) return q;
  throw new Error(`row ${i} has no diagonal`);
}
