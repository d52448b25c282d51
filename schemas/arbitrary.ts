// Random valid events for round-trip, property and integration tests. Pure: all randomness
// comes from the seeded Rng passed in. A generic walk fills every field from the schema
// (respecting range/packed/limit annotations); FIXUPS then make cross-field rules hold.
import type { AvroSchema } from './catalog';
import type { EventOf, EventType, SolvermeshEvent } from './generated/events';
import { packFloat64, packInt32 } from './packed';
import { nullableOf, planFor, resolve, type FieldAnnotations } from './walk';

/** Uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: small, fast, good enough for test data; same seed, same sequence. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-_';
const str = (rng: Rng, len = int(rng, 1, 12)): string => Array.from({ length: len }, () => pick(rng, [...ALPHABET])).join('');
const hex = (rng: Rng, n: number): string => Array.from({ length: n }, () => int(rng, 0, 15).toString(16)).join('');
export const uuid = (rng: Rng): string => `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${pick(rng, ['8', '9', 'a', 'b'])}${hex(rng, 3)}-${hex(rng, 12)}`;
const double = (rng: Rng, min = -1e3, max = 1e3): number => min + rng() * (max - min);
const doubles = (rng: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => double(rng));
// 2023-11-14 .. +1 year, in microseconds
const micros = (rng: Rng): number => 1_700_000_000_000_000 + int(rng, 0, 31_536_000_000_000);

function generate(node: unknown, named: Map<string, AvroSchema>, ann: FieldAnnotations, rng: Rng): unknown {
  const inner = nullableOf(node);
  if (inner !== undefined) return rng() < 0.3 ? null : generate(inner, named, ann, rng);
  const s = resolve(node, named);
  const sch = (typeof s === 'string' ? { type: s } : s) as AvroSchema;
  const [min, max] = ann.range ?? [null, null];
  switch (sch.type) {
    case 'null':
      return null;
    case 'boolean':
      return rng() < 0.5;
    case 'int':
    case 'long':
      return int(rng, min ?? -1000, max ?? (min ?? 0) + 1000);
    case 'double':
    case 'float':
      return double(rng, min ?? -1e3, max ?? (min ?? 0) + 1e3);
    case 'string':
      if (sch.logicalType === 'uuid') return uuid(rng);
      return str(rng);
    case 'bytes':
      if (ann.packed === 'float64le') return packFloat64(doubles(rng, int(rng, 0, 8)));
      if (ann.packed === 'int32le') return packInt32(Int32Array.from({ length: int(rng, 0, 8) }, () => int(rng, 0, 100)));
      return Buffer.from(Array.from({ length: int(rng, 0, 16) }, () => int(rng, 0, 255)));
    case 'enum':
      return pick(rng, sch.symbols as string[]);
    case 'array':
      return Array.from({ length: int(rng, 0, 4) }, () => generate(sch.items, named, { ...(ann.range ? { range: ann.range } : {}) }, rng));
    case 'map':
      return Object.fromEntries(Array.from({ length: int(rng, 0, 3) }, () => [str(rng), generate(sch.values, named, {}, rng)]));
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const f of sch.fields as Array<AvroSchema & FieldAnnotations>) out[String(f.name)] = generate(f.type, named, f, rng);
      if (String(sch.name).endsWith('EventMetadata')) out.occurred_at = micros(rng);
      return out;
    }
    default:
      if (sch.logicalType === 'timestamp-micros') return micros(rng);
      throw new Error(`arbitrary: unsupported schema ${JSON.stringify(sch)}`);
  }
}

type Fixup<T extends EventType> = (e: EventOf<T>, rng: Rng) => void;

function csrBlock(e: EventOf<'MatrixChunkAppended'>, rng: Rng): void {
  e.rows = int(rng, 1, 40);
  e.cols = int(rng, 1, 40);
  e.row_start = int(rng, 0, e.rows - 1);
  e.row_count = int(rng, 1, e.rows - e.row_start);
  const rp = [0];
  const cols: number[] = [];
  for (let r = 0; r < e.row_count; r++) {
    const k = int(rng, 0, Math.min(4, e.cols));
    for (let j = 0; j < k; j++) cols.push(int(rng, 0, e.cols - 1));
    rp.push(cols.length);
  }
  e.row_pointers = packInt32(rp);
  e.col_indices = packInt32(cols);
  e.values = packFloat64(doubles(rng, cols.length));
  e.b_values = packFloat64(doubles(rng, e.row_count));
}

function sparse(rng: Rng, n: number): { idx: number[]; val: number[] } {
  const k = int(rng, 0, 5);
  return { idx: Array.from({ length: k }, () => int(rng, 0, n - 1)), val: Array.from({ length: k }, () => double(rng)) };
}

function vectorChunk(e: { n: number; offset: number }, rng: Rng): Buffer {
  e.n = int(rng, 1, 50);
  e.offset = int(rng, 0, e.n - 1);
  return packFloat64(doubles(rng, int(rng, 0, e.n - e.offset)));
}

const FIXUPS: { readonly [T in EventType]?: Fixup<T> } = {
  SessionOpened: (e, rng) => {
    e.rows = int(rng, 1, 1000);
    e.cols = int(rng, 1, 1000);
    e.nnz = int(rng, 0, e.rows * e.cols);
    e.options.tolerance = pick(rng, [1e-6, 1e-8, 1e-10]);
  },
  MatrixChunkAppended: csrBlock,
  CostUpdated: (e, rng) => {
    const d = sparse(rng, 1000);
    e.delta_indices = d.idx;
    e.delta_values = d.val;
  },
  IterationCompleted: (e, rng) => {
    e.n = int(rng, 1, 1000);
    const d = sparse(rng, e.n);
    e.x_change_indices = d.idx;
    e.x_change_values = d.val;
  },
  SolutionPublished: (e, rng) => {
    e.values = vectorChunk(e, rng);
  },
  SessionSnapshotted: (e, rng) => {
    e.x_values = vectorChunk(e, rng);
  },
  CorrectionRequested: (e, rng) => {
    e.step_factor = e.action === 'ADJUST_STEP' ? 0.8 : null;
    e.preconditioner = e.action === 'RESTART_PRECONDITIONER' ? pick(rng, ['ILU', 'JACOBI'] as const) : null;
    e.method = e.action === 'RESTART_METHOD' ? pick(rng, ['CG', 'BICGSTAB', 'GAUSS_SEIDEL'] as const) : null;
  },
  VerificationCompleted: (e, rng) => {
    e.n = int(rng, 1, 1000);
    e.probe_indices = Array.from({ length: int(rng, 0, 5) }, () => int(rng, 0, e.n - 1));
    e.residual_components = e.probe_indices.map(() => rng() * 1e-6);
  },
  ConsensusReached: (e, rng) => {
    e.participants = int(rng, 1, 9);
    e.threshold = Math.floor((2 * e.participants) / 3) + 1;
    e.threshold = Math.min(e.threshold, e.participants);
    e.agreeing = int(rng, e.threshold, e.participants);
    e.agreement_level = e.agreeing / e.participants;
  },
  EntryEstimated: (e, rng) => {
    e.n = int(rng, 1, 1000);
    e.index = int(rng, 0, e.n - 1);
  },
  ClusterSummarized: (e, rng) => {
    e.agent_count = int(rng, 0, 30);
    e.active_count = int(rng, 0, e.agent_count);
    e.degraded_count = int(rng, 0, e.agent_count);
    e.unstable_count = int(rng, 0, e.agent_count);
  },
  SectorSummarized: (e, rng) => {
    e.active_agents = int(rng, 0, e.total_agents);
  },
  MeshSummarized: (e, rng) => {
    e.active_agents = int(rng, 0, e.total_agents);
    e.active_rate = e.total_agents === 0 ? 0 : e.active_agents / e.total_agents;
  },
  OperationalModeChanged: (e, rng) => {
    e.active_agents = int(rng, 0, e.total_agents);
  },
  CoordinationRequested: (e, rng) => {
    if (e.target_agent_ids.length === 0) e.target_agent_ids = [str(rng)];
  },
  ScheduleComputed: (e, rng) => {
    for (const x of e.entries) {
      const scheduled = x.status === 'SCHEDULED';
      x.send_at = scheduled ? micros(rng) : null;
      x.confidence = scheduled ? rng() : null;
      x.expected_processing_ms = scheduled ? double(rng, 0, 500) : null;
      x.skip_reason = scheduled ? null : pick(rng, ['INSUFFICIENT_LEAD_TIME', 'AGENT_OFFLINE', 'CIRCUIT_OPEN'] as const);
    }
  },
  AckReceived: (e, rng) => {
    if (e.state !== 'CONFLICT') e.conflict = null;
    else if (e.conflict === null) e.conflict = { conflict_type: 'OTHER', expected_value: null, received_value: null, context_hash: hex(rng, 16), divergence_depth: null, affects_agent_count: null, conflicting_data: null };
  },
  QuorumDecided: (e) => {
    e.total = e.ready_count + e.transit_count + e.conflict_count;
    e.achieved = e.decision === 'PROCEED';
  },
  StructuralEventObserved: (e, rng) => {
    const k = e.kind;
    const call = k === 'CALL' || k === 'CALL_RETURN';
    e.request_id = call || k === 'REQUEST_START' || k === 'REQUEST_END' ? int(rng, 0, 1e6) : null;
    e.success = k === 'REQUEST_END' || k === 'CALL_RETURN' ? rng() < 0.8 : null;
    e.peer_component_id = call ? str(rng) : null;
    e.resource = k === 'RESOURCE_SPIKE' ? pick(rng, ['cpu', 'memory', 'fd']) : null;
    e.value = k === 'RESOURCE_SPIKE' ? rng() : null;
    e.queue_depth = k === 'QUEUE_DEPTH' ? int(rng, 0, 500) : null;
    e.circuit_state = k === 'CIRCUIT_BREAKER' ? pick(rng, ['CLOSED', 'OPEN', 'HALF_OPEN'] as const) : null;
  },
};

/** A random event of `type` that passes validateEvent with DEFAULT_LIMITS. */
export function arbitraryEvent<T extends EventType>(type: T, rng: Rng): EventOf<T> {
  const { schema, named } = planFor(type);
  const body = generate(schema, named, {}, rng) as Record<string, unknown>;
  const event = { type, ...body } as unknown as EventOf<T>;
  const meta = (event as SolvermeshEvent).meta;
  // Solver events are keyed by session; the envelope says the same.
  if ('session_id' in event) meta.correlation_id = (event as { session_id: string }).session_id;
  if ('chunk_index' in event) {
    const c = event as unknown as { chunk_index: number; chunk_count: number };
    c.chunk_index = int(rng, 0, c.chunk_count - 1);
  }
  const fix = FIXUPS[type] as Fixup<T> | undefined;
  fix?.(event, rng);
  return event;
}
