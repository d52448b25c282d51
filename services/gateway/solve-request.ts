// The seed's solve request (000 §2.1) checked and normalised to a square CSR matrix and b. Pure.
// Every inconsistency is an error naming the field, e.g. the seed's own §9.1 request, which
// declares 1000x1000 and sends a 3x3 matrix: "matrix.data.row_pointers has 4 entries; matrix.rows
// 1000 needs 1001".
//
// Formats (the seed labels its §9.1 CSR arrays row_indices/col_pointers, which are CSC's names;
// here each format has its own names, and the wrong ones are refused by name):
//   csr   {values, col_indices, row_pointers}   row_pointers: rows + 1 entries
//   csc   {values, row_indices, col_pointers}   col_pointers: cols + 1 entries
//   coo   {values, row_indices, col_indices}    duplicates are summed
//   dense {values: number[][]}                  rows x cols, zeros dropped
import type { MatrixFormat, Preconditioner, SolverMethod, SwarmSettings } from '../../schemas/generated/events';
import { canonicalRows, csrFromCoo, type Csr } from '../../wasm/index';
import { GatewayError } from './errors';

export interface SolveRequest {
  readonly session_id?: string;
  readonly matrix: {
    readonly rows: number;
    readonly cols: number;
    readonly nnz?: number;
    readonly format: 'csr' | 'csc' | 'coo' | 'dense';
    readonly data: Record<string, unknown>;
  };
  readonly vector: number[];
  readonly method?: string;
  readonly options?: {
    readonly tolerance?: number;
    readonly max_iterations?: number;
    readonly preconditioner?: string;
    readonly swarm_enabled?: boolean;
    readonly verification_interval?: number;
  };
  readonly flow_nexus?: { readonly swarm_topology?: string; readonly cost_aggregation?: string; readonly verification_strategy?: string };
}

export interface NormalisedSolve {
  readonly a: Csr;
  readonly b: Float64Array;
  /** MatrixFormat has no DENSE symbol and no enum default, so adding one is not FULL_TRANSITIVE compatible: dense is recorded as its coordinates (COO). */
  readonly sourceFormat: MatrixFormat;
  readonly method: SolverMethod;
  readonly tolerance: number;
  readonly maxIterations: number;
  readonly preconditioner: Preconditioner;
  readonly verificationInterval: number;
  readonly swarm: SwarmSettings;
}

const METHODS: Record<string, SolverMethod> = { jacobi: 'JACOBI', gauss_seidel: 'GAUSS_SEIDEL', cg: 'CG', bicgstab: 'BICGSTAB', neumann: 'NEUMANN', hybrid: 'HYBRID' };
const PRECONDS: Record<string, Preconditioner> = { none: 'NONE', jacobi: 'JACOBI', ilu: 'ILU', ilu0: 'ILU' };
const TOPOLOGY: Record<string, SwarmSettings['topology']> = { mesh: 'MESH', hierarchical: 'HIERARCHICAL', ring: 'RING', star: 'STAR' };
const AGGREGATION: Record<string, SwarmSettings['cost_aggregation']> = { weighted_average: 'WEIGHTED_AVERAGE', mean: 'MEAN', median: 'MEDIAN' };
const STRATEGY: Record<string, SwarmSettings['verification_strategy']> = { random_probe: 'RANDOM_PROBE', full_residual: 'FULL_RESIDUAL' };

const bad = (msg: string): never => { throw new GatewayError('BAD_REQUEST', msg); };

function numbers(data: Record<string, unknown>, name: string, format: string, opts: { integer?: boolean } = {}): number[] {
  const v = data[name];
  const field = `matrix.data.${name}`;
  if (!Array.isArray(v)) return bad(`${field} is required for format ${format} (an array of numbers)`);
  for (let k = 0; k < v.length; k++) {
    const x = v[k];
    if (typeof x !== 'number' || !Number.isFinite(x)) return bad(`${field}[${k}] must be a finite number, got ${JSON.stringify(x)}`);
    if (opts.integer && (!Number.isInteger(x) || x < 0)) return bad(`${field}[${k}] must be a non-negative integer, got ${x}`);
  }
  return v as number[];
}

function refuseForeign(data: Record<string, unknown>, format: string, own: readonly string[]): void {
  const foreign = Object.keys(data).filter((k) => !own.includes(k));
  if (foreign.length > 0) bad(`matrix.data.${foreign[0]} does not belong to format ${format}, which takes ${own.join(', ')}${format === 'csr' && foreign.includes('col_pointers') ? ' (the seed\'s §9.1 example sends CSC names under "csr")' : ''}`);
}

function pointers(p: number[], field: string, count: number, countField: string, nnz: number): void {
  if (p.length !== count + 1) bad(`${field} has ${p.length} entries; ${countField} ${count} needs ${count + 1}`);
  if (p[0] !== 0) bad(`${field}[0] must be 0, got ${p[0]}`);
  for (let k = 1; k < p.length; k++) if (p[k]! < p[k - 1]!) bad(`${field} must not decrease: [${k - 1}]=${p[k - 1]} > [${k}]=${p[k]}`);
  if (p[count] !== nnz) bad(`${field}[${count}] is ${p[count]} but matrix.data.values has ${nnz} entries`);
}

function inRange(xs: number[], field: string, bound: number, boundField: string): void {
  for (let k = 0; k < xs.length; k++) if (xs[k]! >= bound) bad(`${field}[${k}] is ${xs[k]}, outside 0..${bound - 1} (${boundField} ${bound})`);
}

function matrixOf(m: SolveRequest['matrix']): Csr {
  const { rows: n, format, data } = m;
  if (m.cols !== n) bad(`matrix.cols ${m.cols} differs from matrix.rows ${n}: the solver takes square systems`);
  let a: Csr;
  switch (format) {
    case 'csr': {
      refuseForeign(data, format, ['values', 'col_indices', 'row_pointers']);
      const values = numbers(data, 'values', format);
      const cols = numbers(data, 'col_indices', format, { integer: true });
      const ptr = numbers(data, 'row_pointers', format, { integer: true });
      if (cols.length !== values.length) bad(`matrix.data.col_indices has ${cols.length} entries but matrix.data.values has ${values.length}`);
      pointers(ptr, 'matrix.data.row_pointers', n, 'matrix.rows', values.length);
      inRange(cols, 'matrix.data.col_indices', n, 'matrix.cols');
      a = canonicalRows({ n, rowPtr: Int32Array.from(ptr), colIdx: Int32Array.from(cols), values: Float64Array.from(values) });
      break;
    }
    case 'csc': {
      refuseForeign(data, format, ['values', 'row_indices', 'col_pointers']);
      const values = numbers(data, 'values', format);
      const rowsIdx = numbers(data, 'row_indices', format, { integer: true });
      const ptr = numbers(data, 'col_pointers', format, { integer: true });
      if (rowsIdx.length !== values.length) bad(`matrix.data.row_indices has ${rowsIdx.length} entries but matrix.data.values has ${values.length}`);
      pointers(ptr, 'matrix.data.col_pointers', n, 'matrix.cols', values.length);
      inRange(rowsIdx, 'matrix.data.row_indices', n, 'matrix.rows');
      const colsIdx = new Int32Array(values.length);
      for (let j = 0; j < n; j++) for (let k = ptr[j]!; k < ptr[j + 1]!; k++) colsIdx[k] = j;
      a = csrFromCoo(n, rowsIdx, colsIdx, values);
      break;
    }
    case 'coo': {
      refuseForeign(data, format, ['values', 'row_indices', 'col_indices']);
      const values = numbers(data, 'values', format);
      const r = numbers(data, 'row_indices', format, { integer: true });
      const c = numbers(data, 'col_indices', format, { integer: true });
      if (r.length !== values.length) bad(`matrix.data.row_indices has ${r.length} entries but matrix.data.values has ${values.length}`);
      if (c.length !== values.length) bad(`matrix.data.col_indices has ${c.length} entries but matrix.data.values has ${values.length}`);
      inRange(r, 'matrix.data.row_indices', n, 'matrix.rows');
      inRange(c, 'matrix.data.col_indices', n, 'matrix.cols');
      a = csrFromCoo(n, r, c, values);
      break;
    }
    case 'dense': {
      refuseForeign(data, format, ['values']);
      const rowsArr = data.values;
      if (!Array.isArray(rowsArr)) return bad('matrix.data.values is required for format dense (an array of rows, each an array of numbers)');
      if (rowsArr.length !== n) bad(`matrix.data.values has ${rowsArr.length} rows but matrix.rows is ${n}`);
      const r: number[] = [], c: number[] = [], v: number[] = [];
      rowsArr.forEach((row: unknown, i) => {
        if (!Array.isArray(row) || row.length !== n) bad(`matrix.data.values[${i}] must be an array of ${n} numbers (matrix.cols), got ${Array.isArray(row) ? `${row.length}` : typeof row}`);
        (row as unknown[]).forEach((x, j) => {
          if (typeof x !== 'number' || !Number.isFinite(x)) bad(`matrix.data.values[${i}][${j}] must be a finite number, got ${JSON.stringify(x)}`);
          if (x !== 0) { r.push(i); c.push(j); v.push(x as number); }
        });
      });
      a = csrFromCoo(n, r, c, v);
      break;
    }
    default:
      return bad(`matrix.format must be csr, csc, coo or dense, got ${JSON.stringify(format)}`);
  }
  return a;
}

function pick<T>(table: Record<string, T>, raw: string | undefined, field: string, def: T): T {
  if (raw === undefined) return def;
  const v = table[raw.toLowerCase()];
  if (v === undefined) bad(`${field} must be one of ${Object.keys(table).join(', ')}, got ${JSON.stringify(raw)}`);
  return v!;
}

export function normaliseSolve(req: SolveRequest): NormalisedSolve {
  const m = req.matrix;
  const values = m.format === 'dense' ? undefined : m.data.values;
  if (m.nnz !== undefined && Array.isArray(values) && m.nnz !== values.length) bad(`matrix.nnz is ${m.nnz} but matrix.data.values has ${values.length} entries`);
  const a = matrixOf(m);
  if (req.vector.length !== m.rows) bad(`vector has ${req.vector.length} entries but matrix.rows is ${m.rows}`);
  req.vector.forEach((x, i) => { if (!Number.isFinite(x)) bad(`vector[${i}] must be finite`); });
  const o = req.options ?? {};
  const fn = req.flow_nexus ?? {};
  return {
    a, b: Float64Array.from(req.vector),
    sourceFormat: m.format === 'csc' ? 'CSC' : m.format === 'csr' ? 'CSR' : 'COO',
    method: pick(METHODS, req.method, 'method', 'HYBRID'),
    tolerance: o.tolerance ?? 1e-8,
    maxIterations: o.max_iterations ?? 10_000,
    preconditioner: pick(PRECONDS, o.preconditioner, 'options.preconditioner', 'JACOBI'),
    verificationInterval: o.verification_interval ?? 100,
    swarm: {
      enabled: o.swarm_enabled ?? false,
      topology: pick(TOPOLOGY, fn.swarm_topology, 'flow_nexus.swarm_topology', 'MESH'),
      cost_aggregation: pick(AGGREGATION, fn.cost_aggregation, 'flow_nexus.cost_aggregation', 'WEIGHTED_AVERAGE'),
      verification_strategy: pick(STRATEGY, fn.verification_strategy, 'flow_nexus.verification_strategy', 'RANDOM_PROBE'),
    },
  };
}

/** The JSON schema Fastify checks first (shape and types); normaliseSolve checks consistency. */
export const SOLVE_BODY_SCHEMA = {
  type: 'object',
  required: ['matrix', 'vector'],
  properties: {
    type: { type: 'string', const: 'solve_request' },
    session_id: { type: 'string', format: 'uuid' },
    matrix: {
      type: 'object',
      required: ['rows', 'cols', 'format', 'data'],
      properties: {
        rows: { type: 'integer', minimum: 1 },
        cols: { type: 'integer', minimum: 1 },
        nnz: { type: 'integer', minimum: 0 },
        format: { type: 'string', enum: ['csr', 'csc', 'coo', 'dense'] },
        data: { type: 'object' },
      },
    },
    vector: { type: 'array', items: { type: 'number' } },
    method: { type: 'string', enum: Object.keys(METHODS) },
    options: {
      type: 'object',
      properties: {
        tolerance: { type: 'number', exclusiveMinimum: 0 },
        max_iterations: { type: 'integer', minimum: 1 },
        preconditioner: { type: 'string', enum: Object.keys(PRECONDS) },
        swarm_enabled: { type: 'boolean' },
        verification_interval: { type: 'integer', minimum: 1 },
      },
    },
    flow_nexus: {
      type: 'object',
      properties: {
        swarm_topology: { type: 'string', enum: Object.keys(TOPOLOGY) },
        cost_aggregation: { type: 'string', enum: Object.keys(AGGREGATION) },
        verification_strategy: { type: 'string', enum: Object.keys(STRATEGY) },
      },
    },
  },
} as const;
