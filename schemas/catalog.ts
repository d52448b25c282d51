// Loads the event catalog: one .avsc per event in schemas/<area>/, shared named types in
// schemas/common/. Each event schema is expanded into a self-contained schema (shared types
// inlined at first use) because that is what gets registered: the registry then needs no
// schema references, which Apicurio's ccompat API handles differently from Confluent's.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { projectRoot } from './project-root';

export const SCHEMA_DIR = join(projectRoot(), 'schemas');
const COMMON_DIR = 'common';

export type AvroSchema = Record<string, unknown>;

export interface EventSchema {
  /** Record name, also the event's `type` discriminator in TypeScript. */
  readonly name: string;
  /** Namespace-qualified name, used in registry subjects. */
  readonly fullName: string;
  /** Self-contained schema (shared types inlined). */
  readonly schema: AvroSchema;
  readonly type: avro.Type;
  readonly file: string;
}

function readJson(file: string): AvroSchema {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AvroSchema;
  } catch (err) {
    throw new Error(`schema file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function fullNameOf(s: AvroSchema): string {
  const name = String(s.name);
  return name.includes('.') || !s.namespace ? name : `${String(s.namespace)}.${name}`;
}

function avscFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort().map((f) => join(dir, f));
}

/** Shared named types (records, enums, fixed) by full name. */
export function loadCommonTypes(dir = SCHEMA_DIR): Map<string, AvroSchema> {
  const out = new Map<string, AvroSchema>();
  for (const file of avscFiles(join(dir, COMMON_DIR))) {
    const s = readJson(file);
    out.set(fullNameOf(s), s);
  }
  return out;
}

/**
 * Replaces string references to shared types by their definitions, the first time each is
 * seen in a depth-first walk (Avro allows a named type to be defined once, then referenced).
 */
export function expandSchema(schema: AvroSchema, common: Map<string, AvroSchema>): AvroSchema {
  const defined = new Set<string>();
  const walk = (node: unknown, ns: string | undefined): unknown => {
    if (typeof node === 'string') {
      const full = node.includes('.') ? node : ns ? `${ns}.${node}` : node;
      const shared = common.get(full) ?? common.get(node);
      if (!shared) return node;
      const key = fullNameOf(shared);
      if (defined.has(key)) return key;
      defined.add(key);
      return walk(shared, shared.namespace as string | undefined);
    }
    if (Array.isArray(node)) return node.map((n) => walk(n, ns));
    if (node && typeof node === 'object') {
      const obj = node as AvroSchema;
      const innerNs = typeof obj.namespace === 'string' ? obj.namespace : ns;
      if (typeof obj.name === 'string' && ['record', 'enum', 'fixed'].includes(String(obj.type))) {
        defined.add(fullNameOf({ ...obj, namespace: innerNs }));
      }
      const out: AvroSchema = {};
      for (const [k, v] of Object.entries(obj)) {
        out[k] = k === 'type' || k === 'items' || k === 'values' || k === 'fields' ? walk(v, innerNs) : v;
      }
      return out;
    }
    return node;
  };
  return walk(schema, schema.namespace as string | undefined) as AvroSchema;
}

let cached: Map<string, EventSchema> | undefined;

/** Every event schema under schemas/<area>/*.avsc, keyed by record name. */
export function loadEventSchemas(dir = SCHEMA_DIR): Map<string, EventSchema> {
  if (dir === SCHEMA_DIR && cached) return cached;
  const common = loadCommonTypes(dir);
  const out = new Map<string, EventSchema>();
  const areas = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== COMMON_DIR && d.name !== 'generated')
    .map((d) => d.name)
    .sort();
  for (const area of areas) {
    for (const file of avscFiles(join(dir, area))) {
      const raw = readJson(file);
      const expanded = expandSchema(raw, common);
      const name = String(raw.name);
      if (out.has(name)) throw new Error(`event type ${name} is defined twice (${out.get(name)!.file}, ${file})`);
      let type: avro.Type;
      try {
        type = avro.Type.forSchema(expanded as avro.Schema);
      } catch (err) {
        throw new Error(`schema ${file} does not parse: ${(err as Error).message}`);
      }
      out.set(name, { name, fullName: fullNameOf(raw), schema: expanded, type, file });
    }
  }
  if (dir === SCHEMA_DIR) cached = out;
  return out;
}
