// Schema compatibility for `solvermesh schemas check`, pure (no registry). A structural walk
// following the Avro resolution rules, so every message names the field; avsc's
// createResolver runs as a backstop for anything the walk does not model.
//   BACKWARD: the newer schema reads data written with the older one (new required field fails,
//             removed field is fine). FORWARD: the older reads the newer (removal fails).
//   FULL: both.
import avro from 'avsc';
import type { AvroSchema } from './catalog';
import { namedTypes, resolve } from './walk';

export type CompatibilityLevel = 'BACKWARD' | 'FORWARD' | 'FULL';

// Writer type -> reader types it may be promoted to (Avro spec "Schema Resolution").
const PROMOTIONS: Record<string, readonly string[]> = {
  int: ['int', 'long', 'float', 'double'],
  long: ['long', 'float', 'double'],
  float: ['float', 'double'],
  string: ['string', 'bytes'],
  bytes: ['bytes', 'string'],
};

interface Side {
  readonly named: Map<string, AvroSchema>;
}

function kind(node: unknown, side: Side): { t: string; s: AvroSchema | undefined; branches?: unknown[] } {
  if (Array.isArray(node)) return { t: 'union', s: undefined, branches: node };
  const r = resolve(node, side.named);
  if (typeof r === 'string') return { t: r, s: undefined };
  const s = r as AvroSchema;
  if (typeof s.type === 'string' && !['record', 'enum', 'fixed', 'array', 'map'].includes(s.type)) return kind(s.type, side);
  if (Array.isArray(s.type)) return kind(s.type, side);
  return { t: String(s.type), s };
}

function describe(node: unknown, side: Side): string {
  const k = kind(node, side);
  if (k.t === 'union') return `union [${k.branches!.map((b) => describe(b, side)).join(', ')}]`;
  if (k.s && typeof k.s.name === 'string') return `${k.t} ${k.s.name}`;
  if (k.t === 'array') return `array<${describe(k.s!.items, side)}>`;
  if (k.t === 'map') return `map<${describe(k.s!.values, side)}>`;
  return k.t;
}

const short = (n: unknown): string => String(n).slice(String(n).lastIndexOf('.') + 1);
const label = (path: string): string => (path ? `field '${path}'` : 'top-level schema');

/** Problems when `reader` reads data written with `writer`; empty when it can. */
function readable(reader: unknown, writer: unknown, rs: Side, ws: Side, path: string, seen: Set<string>): string[] {
  const r = kind(reader, rs);
  const w = kind(writer, ws);
  if (w.t === 'union') {
    // every branch the writer may have used must be readable
    return w.branches!.flatMap((b) => readable(reader, b, rs, ws, path, seen));
  }
  if (r.t === 'union') {
    const ok = r.branches!.some((b) => readable(b, writer, rs, ws, path, new Set(seen)).length === 0);
    return ok ? [] : [`${label(path)}: reader union ${describe(reader, rs)} has no branch for writer type ${describe(writer, ws)}`];
  }
  if (w.t !== r.t) {
    if (PROMOTIONS[w.t]?.includes(r.t)) return [];
    return [`${label(path)} changed type from ${describe(writer, ws)} to ${describe(reader, rs)}`];
  }
  switch (r.t) {
    case 'record': {
      if (short(r.s!.name) !== short(w.s!.name) && !((r.s!.aliases as string[] | undefined) ?? []).map(short).includes(short(w.s!.name))) {
        return [`${label(path)}: record renamed from ${short(w.s!.name)} to ${short(r.s!.name)} without an alias`];
      }
      const key = `${String(r.s!.name)}<-${String(w.s!.name)}@${path}`;
      if (seen.has(key)) return []; // recursive type already being compared
      seen.add(key);
      const wFields = new Map((w.s!.fields as AvroSchema[]).map((f) => [String(f.name), f]));
      const out: string[] = [];
      for (const rf of r.s!.fields as AvroSchema[]) {
        const name = String(rf.name);
        const p = path ? `${path}.${name}` : name;
        const names = [name, ...((rf.aliases as string[] | undefined) ?? [])];
        const wf = names.map((n) => wFields.get(n)).find((f) => f !== undefined);
        if (wf) out.push(...readable(rf.type, wf.type, rs, ws, p, seen));
        else if (!('default' in rf)) out.push(`field '${p}' is not in the writer schema and has no default`);
      }
      return out;
    }
    case 'enum': {
      const rSyms = new Set(r.s!.symbols as string[]);
      const missing = (w.s!.symbols as string[]).filter((x) => !rSyms.has(x));
      if (missing.length === 0 || typeof r.s!.default === 'string') return [];
      return [`${label(path)}: enum ${short(r.s!.name)} lacks symbol(s) ${missing.join(', ')} that the writer can send, and has no default`];
    }
    case 'fixed':
      return r.s!.size === w.s!.size ? [] : [`${label(path)}: fixed size changed from ${String(w.s!.size)} to ${String(r.s!.size)}`];
    case 'array':
      return readable(r.s!.items, w.s!.items, rs, ws, path ? `${path}[]` : '[]', seen);
    case 'map':
      return readable(r.s!.values, w.s!.values, rs, ws, path ? `${path}{}` : '{}', seen);
    default:
      return [];
  }
}

function direction(reader: AvroSchema, writer: AvroSchema, what: string): string[] {
  const rs = { named: namedTypes(reader) };
  const ws = { named: namedTypes(writer) };
  const problems = readable(reader, writer, rs, ws, '', new Set()).map((m) => `${what}: ${m}`);
  if (problems.length > 0) return problems;
  try {
    avro.Type.forSchema(reader as avro.Schema).createResolver(avro.Type.forSchema(writer as avro.Schema));
  } catch (err) {
    return [`${what}: ${(err as Error).message}`];
  }
  return [];
}

/** BACKWARD: readers using `newer` can read data written with `older`. */
export function checkBackward(newer: AvroSchema, older: AvroSchema): string[] {
  return direction(newer, older, 'BACKWARD (new reader, old data)');
}

/** FORWARD: readers using `older` can read data written with `newer`. */
export function checkForward(newer: AvroSchema, older: AvroSchema): string[] {
  return direction(older, newer, 'FORWARD (old reader, new data)');
}

export function checkCompatibility(newer: AvroSchema, older: AvroSchema, level: CompatibilityLevel): string[] {
  switch (level) {
    case 'BACKWARD':
      return checkBackward(newer, older);
    case 'FORWARD':
      return checkForward(newer, older);
    case 'FULL':
      return [...checkBackward(newer, older), ...checkForward(newer, older)];
  }
}
