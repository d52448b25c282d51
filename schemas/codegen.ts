// Generates schemas/generated/events.ts from the .avsc catalog, so the schemas stay the single
// source of truth for event types. Run: npx tsx schemas/codegen.ts
// The mapping follows how avsc decodes (no custom logical types registered): long/int/float/
// double -> number, bytes/fixed -> Buffer, enum -> string-literal union, ["null", T] -> T | null.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_DIR, loadEventSchemas, type AvroSchema, type EventSchema } from './catalog';

export const GENERATED_FILE = join(SCHEMA_DIR, 'generated', 'events.ts');

interface NamedDecl {
  readonly fullName: string;
  readonly code: string;
}

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function qualify(name: string, ns: string | undefined): string {
  return name.includes('.') || !ns ? name : `${ns}.${name}`;
}

function docComment(doc: unknown, indent: string): string {
  if (typeof doc !== 'string' || doc === '') return '';
  return `${indent}/** ${doc.replace(/\*\//g, '*\\/')} */\n`;
}

function enumConstName(name: string): string {
  return `${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_SYMBOLS`;
}

class Generator {
  private readonly decls = new Map<string, NamedDecl>();
  private readonly shortNames = new Map<string, string>();

  /** TypeScript type expression for a schema node, declaring named types on first sight. */
  typeOf(node: unknown, ns: string | undefined, where: string): string {
    if (typeof node === 'string') {
      const prim = PRIMITIVES[node];
      if (prim) return prim;
      const full = qualify(node, ns);
      if (!this.decls.has(full)) throw new Error(`${where}: reference to undefined type ${full}`);
      return shortName(full);
    }
    if (Array.isArray(node)) {
      const nonNull = node.filter((b) => b !== 'null');
      // Only ["null", T] unions: avsc unwraps them, and wider unions would need wrapped values
      // that every consumer would then have to unwrap by hand.
      if (nonNull.length !== 1 || node.length !== 2 || node[0] !== 'null') {
        throw new Error(`${where}: only ["null", T] unions are supported, got ${JSON.stringify(node)}`);
      }
      return `${this.typeOf(nonNull[0], ns, where)} | null`;
    }
    if (node && typeof node === 'object') {
      const s = node as AvroSchema;
      const t = s.type;
      if (typeof t === 'string' && t in PRIMITIVES) return PRIMITIVES[t]!;
      if (t === 'array') return `Array<${this.typeOf(s.items, ns, `${where}[]`)}>`;
      if (t === 'map') return `Record<string, ${this.typeOf(s.values, ns, `${where}{}`)}>`;
      if (t === 'fixed') return 'Buffer';
      if (t === 'enum') return this.declareEnum(s, ns);
      if (t === 'record') return this.declareRecord(s, ns, undefined);
    }
    throw new Error(`${where}: unsupported schema ${JSON.stringify(node)}`);
  }

  declareEvent(schema: AvroSchema): string {
    return this.declareRecord(schema, undefined, String(schema.name));
  }

  private register(full: string, code: string): string {
    const short = shortName(full);
    const owner = this.shortNames.get(short);
    if (owner && owner !== full) throw new Error(`type name ${short} used by both ${owner} and ${full}`);
    this.shortNames.set(short, full);
    this.decls.set(full, { fullName: full, code });
    return short;
  }

  private declareEnum(s: AvroSchema, ns: string | undefined): string {
    const full = qualify(String(s.name), typeof s.namespace === 'string' ? s.namespace : ns);
    const name = shortName(full);
    const symbols = (s.symbols as string[]).map((x) => `'${x}'`);
    const constName = enumConstName(name);
    const code =
      docComment(s.doc, '') +
      `export const ${constName} = [${symbols.join(', ')}] as const;\n` +
      `export type ${name} = (typeof ${constName})[number];\n`;
    return this.register(full, code);
  }

  private declareRecord(s: AvroSchema, ns: string | undefined, discriminator: string | undefined): string {
    const innerNs = typeof s.namespace === 'string' ? s.namespace : ns;
    const full = qualify(String(s.name), innerNs);
    const name = shortName(full);
    // Reserve the name before the fields so recursive references resolve.
    this.register(full, '');
    const lines: string[] = [];
    if (discriminator) lines.push(`  /** Event type discriminator (the Avro record name); not part of the Avro body. */`);
    if (discriminator) lines.push(`  readonly type: '${discriminator}';`);
    for (const f of s.fields as AvroSchema[]) {
      const fname = String(f.name);
      if (discriminator && fname === 'type') throw new Error(`${full}: a top-level field may not be named 'type'`);
      const ts = this.typeOf(f.type, innerNs, `${full}.${fname}`);
      lines.push(docComment(f.doc, '  ') + `  ${fname}: ${ts};`);
    }
    const code = docComment(s.doc, '') + `export interface ${name} {\n${lines.join('\n')}\n}\n`;
    this.register(full, code);
    return name;
  }

  declarations(): string[] {
    return [...this.decls.values()].map((d) => d.code);
  }
}

/** Source text of schemas/generated/events.ts for the given catalog. */
export function generateEventTypes(events: ReadonlyMap<string, EventSchema>): string {
  const gen = new Generator();
  const names = [...events.keys()].sort();
  for (const name of names) gen.declareEvent(events.get(name)!.schema);
  const header =
    '// GENERATED by schemas/codegen.ts from schemas/**/*.avsc. Do not edit by hand:\n' +
    '// change the .avsc files and run `npx tsx schemas/codegen.ts`.\n' +
    '/* eslint-disable */\n';
  const union = `export type SolvermeshEvent =\n${names.map((n) => `  | ${n}`).join('\n')};\n`;
  const tail =
    `export type EventType = SolvermeshEvent['type'];\n` +
    '/**\n' +
    ' * Each event by its type. EventOf indexes it rather than Extract<SolvermeshEvent, { type: T }>:\n' +
    ' * an indexed access is covariant in T (a conditional type is invariant), so a Processor<\'A\'>\n' +
    ' * stands where a Processor<EventType> is expected.\n' +
    ' */\n' +
    `export interface EventsByType {\n${names.map((n) => `  ${n}: ${n};`).join('\n')}\n}\n` +
    `export type EventOf<T extends EventType> = EventsByType[T];\n` +
    `export const EVENT_TYPES = [\n${names.map((n) => `  '${n}',`).join('\n')}\n] as const satisfies readonly EventType[];\n`;
  return [header, ...gen.declarations(), union, tail].join('\n');
}

if (require.main === module) {
  mkdirSync(join(SCHEMA_DIR, 'generated'), { recursive: true });
  writeFileSync(GENERATED_FILE, generateEventTypes(loadEventSchemas()));
  process.stdout.write(`wrote ${GENERATED_FILE}\n`);
}
