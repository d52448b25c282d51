// Cost updates as a user writes them, turned into the CostSpec of services/solver/events.ts.
// Pure: strings in, specs or an error naming the offending part out.
//
// Command line: `--b i=v` (add v to b[i]) and `--a i,j,old,new` (replace A[i][j], which the
// sender believes holds `old`, by `new`); indices are 0-based like the events.
// NDJSON (`--stdin`): one object per line, named like the CostUpdated fields:
//   {"delta_indices":[12,40],"delta_values":[0.5,-1],
//    "matrix_updates":[{"row":7,"col":7,"old_value":4,"new_value":4.5}],"flush":false}
// Every key is optional; `flush` defaults to true (the schema default: the update is its own
// group). An update must change something, unless it is {"flush":true} alone, which closes a
// group left open by earlier "flush":false lines.
import type { CostSpec } from '../solver/events';

export type MatrixEdit = NonNullable<CostSpec['matrix']>[number];

export const NDJSON_KEYS = ['delta_indices', 'delta_values', 'matrix_updates', 'flush'] as const;
const EDIT_KEYS = ['row', 'col', 'old_value', 'new_value'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkSessionId(id: string, flag = '--session'): string {
  if (!UUID.test(id)) throw new Error(`${flag} must be a session id (a uuid such as 0f8fad5b-d9cb-469f-a165-70867728950e), got ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

function index(raw: unknown, what: string): number {
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2_147_483_647) throw new Error(`${what} must be a non-negative integer index (0-based), got ${JSON.stringify(raw)}`);
  return v;
}

function finite(raw: unknown, what: string): number {
  const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} must be a finite number, got ${JSON.stringify(raw)}`);
  return v;
}

/** `--b i=v`. */
export function parseBFlag(raw: string): { index: number; value: number } {
  const m = /^([^=]+)=(.+)$/.exec(raw.trim());
  if (!m) throw new Error(`--b ${JSON.stringify(raw)}: expected i=v, e.g. --b 12=0.5 (add 0.5 to b[12])`);
  return { index: index(m[1]!.trim(), `--b ${raw}: the index`), value: finite(m[2]!.trim(), `--b ${raw}: the value`) };
}

/** `--a i,j,old,new`. */
export function parseAFlag(raw: string): MatrixEdit {
  const p = raw.split(',').map((s) => s.trim());
  if (p.length !== 4) throw new Error(`--a ${JSON.stringify(raw)}: expected row,col,old,new, e.g. --a 7,7,4,4.5 (A[7][7] from 4 to 4.5)`);
  return {
    row: index(p[0], `--a ${raw}: the row`), col: index(p[1], `--a ${raw}: the column`),
    old_value: finite(p[2], `--a ${raw}: the old value`), new_value: finite(p[3], `--a ${raw}: the new value`),
  };
}

/** The flags of one command-line update: all --b and --a together make one CostUpdated. */
export function costFromFlags(b: readonly string[], a: readonly string[], flush: boolean): CostSpec {
  if (b.length === 0 && a.length === 0) throw new Error('nothing to send: give --b i=v and/or --a i,j,old,new, or --stdin with NDJSON');
  const deltas = b.map(parseBFlag);
  return { indices: deltas.map((d) => d.index), values: deltas.map((d) => d.value), matrix: a.map(parseAFlag), flush };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One NDJSON line; throws with what is wrong (the caller adds the line number). */
export function costFromJson(line: string): CostSpec {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) throw new Error(`expected a JSON object like {"delta_indices":[3],"delta_values":[0.5]}, got ${line.length > 60 ? `${line.slice(0, 60)}...` : line}`);
  const unknown = Object.keys(v).filter((k) => !(NDJSON_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}; an update has ${NDJSON_KEYS.join(', ')}`);
  const list = (k: string): unknown[] => {
    const x = v[k];
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw new Error(`${k} must be an array, got ${JSON.stringify(x)}`);
    return x;
  };
  const indices = list('delta_indices').map((x, i) => index(x, `delta_indices[${i}]`));
  const values = list('delta_values').map((x, i) => finite(x, `delta_values[${i}]`));
  if (indices.length !== values.length) throw new Error(`delta_indices has ${indices.length} entries but delta_values has ${values.length}; they pair up`);
  const matrix = list('matrix_updates').map((m, i): MatrixEdit => {
    if (!isObject(m)) throw new Error(`matrix_updates[${i}] must be an object {"row","col","old_value","new_value"}`);
    const missing = EDIT_KEYS.filter((k) => m[k] === undefined);
    if (missing.length > 0) throw new Error(`matrix_updates[${i}] lacks ${missing.join(', ')}`);
    const extra = Object.keys(m).filter((k) => !(EDIT_KEYS as readonly string[]).includes(k));
    if (extra.length > 0) throw new Error(`matrix_updates[${i}] has unknown key ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
    return {
      row: index(m.row, `matrix_updates[${i}].row`), col: index(m.col, `matrix_updates[${i}].col`),
      old_value: finite(m.old_value, `matrix_updates[${i}].old_value`), new_value: finite(m.new_value, `matrix_updates[${i}].new_value`),
    };
  });
  if (v.flush !== undefined && typeof v.flush !== 'boolean') throw new Error(`flush must be true or false, got ${JSON.stringify(v.flush)}`);
  const flush = v.flush ?? true;
  if (indices.length === 0 && matrix.length === 0 && v.flush !== true) {
    throw new Error('the update changes nothing: give delta_indices/delta_values or matrix_updates ({"flush":true} alone closes an open group)');
  }
  return { indices, values, matrix, flush };
}
