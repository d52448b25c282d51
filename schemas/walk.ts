// Shared walk over the expanded event schemas, used by validation and the arbitrary generator.
// Field annotations that Avro ignores but we read (kept in the .avsc so the rules live next to
// the fields they constrain):
//   "range": [min|null, max|null]  inclusive bounds of a number (or of each array item)
//   "packed": "float64le"|"int32le" a bytes field holding a packed numeric array
//   "limit": "<ValidationLimits key>"  the size limit of an array, map, packed or bytes field
import { loadEventSchemas, type AvroSchema } from './catalog';
import type { PackedLayout } from './packed';

export interface FieldAnnotations {
  readonly range?: readonly [number | null, number | null];
  readonly packed?: PackedLayout;
  readonly limit?: string;
}

export interface FieldSpec extends FieldAnnotations {
  readonly name: string;
  readonly type: unknown;
}

/** Every named type of an expanded schema by full name (and short name), for resolving references. */
export function namedTypes(schema: AvroSchema): Map<string, AvroSchema> {
  const out = new Map<string, AvroSchema>();
  const visit = (node: unknown, ns: string | undefined): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, ns));
    if (!node || typeof node !== 'object') return;
    const s = node as AvroSchema;
    const inner = typeof s.namespace === 'string' ? s.namespace : ns;
    if (typeof s.name === 'string' && ['record', 'enum', 'fixed'].includes(String(s.type))) {
      const full = s.name.includes('.') || !inner ? s.name : `${inner}.${s.name}`;
      out.set(full, s);
    }
    visit(s.type, inner);
    visit(s.items, inner);
    visit(s.values, inner);
    if (Array.isArray(s.fields)) (s.fields as AvroSchema[]).forEach((f) => visit(f.type, inner));
  };
  visit(schema, undefined);
  return out;
}

/** Resolves a string reference to its definition; primitives come back as their name. */
export function resolve(node: unknown, named: Map<string, AvroSchema>): unknown {
  if (typeof node !== 'string') return node;
  return named.get(node) ?? [...named.entries()].find(([k]) => k.endsWith(`.${node}`))?.[1] ?? node;
}

export interface EventPlan {
  readonly schema: AvroSchema;
  readonly named: Map<string, AvroSchema>;
}

let plans: Map<string, EventPlan> | undefined;

/** Expanded schema and its named types for an event type, built once per process. */
export function planFor(type: string): EventPlan {
  if (!plans) {
    plans = new Map();
    for (const [name, ev] of loadEventSchemas()) plans.set(name, { schema: ev.schema, named: namedTypes(ev.schema) });
  }
  const plan = plans.get(type);
  if (!plan) throw new Error(`unknown event type '${type}'`);
  return plan;
}

/** Whether a node is the ["null", T] union, and T. */
export function nullableOf(node: unknown): unknown {
  return Array.isArray(node) && node.length === 2 && node[0] === 'null' ? node[1] : undefined;
}
