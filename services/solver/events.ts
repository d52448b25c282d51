// Builders of solver input events (CLI, demo, bench and specs share them): a CSR matrix as
// SessionOpened + row-block chunks, cost updates, slices.
import type { CostUpdated, MatrixChunkAppended, SessionOpened, SolverMethod, SolvermeshEvent } from '../../schemas/generated/events';
import { packFloat64, packInt32 } from '../../schemas/packed';
import type { Csr } from '../../wasm';
import { derivedEventId } from '../runtime/ids';

/** Values per chunk: under the 65,536 decode-time limit. */
export const CHUNK_VALUES = 60_000;

/**
 * The event ends its session: a close, or a rejection of the session itself. A DUPLICATE_SESSION
 * rejection refuses a second SessionOpened of an id in use and leaves that session running.
 */
export const endsSession = (e: SolvermeshEvent): boolean =>
  e.type === 'SessionClosed' || (e.type === 'SessionRejected' && e.reason !== 'DUPLICATE_SESSION');

export interface OpenOptions {
  readonly method?: SolverMethod;
  readonly tolerance?: number;
  readonly maxIterations?: number;
  readonly verificationInterval?: number;
  readonly occurredAt?: number;
  readonly producer?: string;
}

const metaFor = (sessionId: string, what: string, occurredAt: number, producer: string) => ({
  event_id: derivedEventId(sessionId, what), correlation_id: sessionId, causation_id: null, occurred_at: occurredAt, producer, sequence: null,
});

export function openSession(sessionId: string, a: Csr, b: ArrayLike<number>, o: OpenOptions = {}): Array<SessionOpened | MatrixChunkAppended> {
  const at = o.occurredAt ?? 1_767_225_600_000_000;
  const producer = o.producer ?? 'cli';
  const blocks: Array<{ start: number; count: number }> = [];
  let start = 0;
  while (start < a.n) {
    let end = start + 1;
    while (end < a.n && a.rowPtr[end + 1]! - a.rowPtr[start]! <= CHUNK_VALUES && end - start < CHUNK_VALUES) end++;
    blocks.push({ start, count: end - start });
    start = end;
  }
  const opened: SessionOpened = {
    type: 'SessionOpened', meta: metaFor(sessionId, 'opened', at, producer), session_id: sessionId,
    rows: a.n, cols: a.n, nnz: a.values.length, chunk_count: blocks.length, source_format: 'CSR', method: o.method ?? 'CG',
    options: {
      tolerance: o.tolerance ?? 1e-8, max_iterations: o.maxIterations ?? 10_000, preconditioner: 'JACOBI',
      verification_interval: o.verificationInterval ?? 100,
      swarm: { enabled: false, topology: 'MESH', cost_aggregation: 'WEIGHTED_AVERAGE', verification_strategy: 'RANDOM_PROBE' },
    },
    owner: null,
  };
  const chunks = blocks.map((blk, k): MatrixChunkAppended => {
    const p0 = a.rowPtr[blk.start]!, p1 = a.rowPtr[blk.start + blk.count]!;
    const rp = Int32Array.from({ length: blk.count + 1 }, (_, r) => a.rowPtr[blk.start + r]! - p0);
    return {
      type: 'MatrixChunkAppended', meta: metaFor(sessionId, `chunk:${k}`, at, producer), session_id: sessionId,
      chunk_index: k, chunk_count: blocks.length, rows: a.n, cols: a.n, row_start: blk.start, row_count: blk.count,
      row_pointers: packInt32(rp), col_indices: packInt32(a.colIdx.subarray(p0, p1)), values: packFloat64(a.values.subarray(p0, p1)),
      b_values: packFloat64(Float64Array.from({ length: blk.count }, (_, r) => b[blk.start + r]!)),
    };
  });
  return [opened, ...chunks];
}

export interface CostSpec {
  readonly indices?: number[];
  readonly values?: number[];
  readonly matrix?: Array<{ row: number; col: number; old_value: number; new_value: number }>;
  readonly flush?: boolean;
  readonly occurredAt?: number;
  readonly source?: string;
}

export function costUpdated(sessionId: string, seq: number | string, c: CostSpec): CostUpdated {
  return {
    type: 'CostUpdated', meta: metaFor(sessionId, `cost:${seq}`, c.occurredAt ?? 1_767_225_600_000_000, c.source ?? 'cli'), session_id: sessionId,
    delta_indices: c.indices ?? [], delta_values: c.values ?? [], matrix_updates: c.matrix ?? [],
    source_node: c.source ?? 'cli', propagation_depth: 0, flush: c.flush ?? true,
  };
}

/** A deterministic stream of b deltas: `count` updates, groups of `burst` (last one flushes). */
export function costStream(sessionId: string, n: number, count: number, burst: number, seed = 1, startSeq = 0, atUs = 1_767_225_600_000_000): CostUpdated[] {
  let state = seed >>> 0;
  const rnd = () => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return state / 4294967296; };
  const out: CostUpdated[] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor(rnd() * n);
    out.push(costUpdated(sessionId, startSeq + k, {
      indices: [i], values: [Math.round((rnd() - 0.5) * 2000) / 10000], flush: (k + 1) % burst === 0 || k === count - 1,
      occurredAt: atUs + (startSeq + k) * 1000,
    }));
  }
  return out;
}
