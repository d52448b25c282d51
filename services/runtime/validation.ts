// Decode-time validation for the runner: the schema annotations and per-event rules of
// schemas/validate.ts, turned into reasons for the dead-letter header.
//
// The runner validates every record it decodes, almost all of them valid. The generic walk of
// schemas/validate.ts resolves schema nodes and builds paths as it goes; here each event type's
// walk is compiled once into a plain predicate that answers "the walk would find nothing". Only
// a record it does not pass takes the walk, which then names the issues. The predicate is
// conservative: anything it is unsure of (an unknown limit, a value of an unexpected shape)
// goes to the walk, so the verdicts are the walk's.
import type { AvroSchema } from '../../schemas/catalog';
import type { SolvermeshEvent } from '../../schemas/generated/events';
import { PACKED_ELEMENT_SIZE } from '../../schemas/packed';
import { EVENT_RULES } from '../../schemas/rules';
import { DEFAULT_LIMITS, validateEvent, type IssueSink, type ValidationIssue, type ValidationLimits } from '../../schemas/validate';
import { nullableOf, planFor, resolve, type FieldAnnotations } from '../../schemas/walk';
import type { EventValidator } from './processor';

type Check = (v: unknown) => boolean;

const NONE: readonly string[] = Object.freeze([]);
const reasons = (issues: readonly ValidationIssue[]) => issues.map((i) => `${i.code} at ${i.path}: ${i.message}`);

export function schemaValidator(limits: ValidationLimits = DEFAULT_LIMITS): EventValidator {
  const compiled = new Map<string, Check | null>();
  // One sink for every call (validation is synchronous): a sink per record was a closure per
  // record, and under tsx each closure creation also names the function (esbuild's __name):
  // 1.7% of the solver service's CPU.
  const issues: ValidationIssue[] = [];
  const sink: IssueSink = { limits, add: (code, path, message) => { issues.push({ code, path, message }); } };
  return (event: SolvermeshEvent) => {
    let check = compiled.get(event.type);
    if (check === undefined) {
      check = compileEventCheck(event.type, limits);
      compiled.set(event.type, check);
    }
    if (check === null || !check(event)) return reasons(validateEvent(event, limits));
    const rule = EVENT_RULES[event.type] as ((e: SolvermeshEvent, s: IssueSink) => void) | undefined;
    if (!rule) return NONE as string[];
    issues.length = 0;
    rule(event, sink);
    return issues.length === 0 ? (NONE as string[]) : reasons(issues);
  };
}

/**
 * A predicate true only for events on which the generic walk of schemas/validate.ts finds no
 * issue (its per-event rule is not included); null for an unknown type (the walk reports it).
 */
export function compileEventCheck(type: string, limits: ValidationLimits = DEFAULT_LIMITS): Check | null {
  let plan;
  try {
    plan = planFor(type);
  } catch {
    return null;
  }
  return compileRecord(plan.schema, plan.named, limits);
}

const never: Check = () => false;
const always: Check = () => true;

function compileRecord(schema: AvroSchema, named: Map<string, AvroSchema>, limits: ValidationLimits): Check {
  const fields = (schema.fields as Array<AvroSchema & FieldAnnotations>).map((f) => ({ name: String(f.name), check: compileValue(f.type, f, named, limits) }));
  // avsc refuses such names when it parses the schema; this keeps recordCheck's source safe regardless.
  const bad = fields.find((f) => !IDENTIFIER.test(f.name));
  if (bad) throw new Error(`schema ${String(schema.name)}: field name ${JSON.stringify(bad.name)} is not an Avro name`);
  return recordCheck(fields);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The record's check as straight-line code, `v.name` per field, as avsc builds its readers:
 * the loop's `o[f.name]` was a lookup by a name that changes every field, which no inline cache
 * holds, on each of a heartbeat's 17 fields. Names are Avro names (checked), so the source is safe.
 */
function recordCheck(fields: ReadonlyArray<{ readonly name: string; readonly check: Check }>): Check {
  const params = fields.map((_, i) => `c${i}`);
  const body = `return function checkRecord(v) {
  if (v === null || typeof v !== 'object') return false;
${fields.map((f, i) => `  if (!c${i}(v.${f.name})) return false;`).join('\n')}
  return true;
};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(...params, body)(...fields.map((f) => f.check)) as Check;
}

function limitOf(limits: ValidationLimits, key: string): number | undefined {
  return (limits as unknown as Record<string, number | undefined>)[key];
}

function compileValue(node: unknown, ann: FieldAnnotations, named: Map<string, AvroSchema>, limits: ValidationLimits): Check {
  const inner = nullableOf(node);
  if (inner !== undefined) {
    const c = compileValue(inner, ann, named, limits);
    return (v) => v === null || v === undefined || c(v);
  }
  const s = resolve(node, named);
  const t = typeof s === 'string' ? s : (s as AvroSchema).type;
  switch (t) {
    case 'double':
    case 'float':
    case 'int':
    case 'long': {
      const [min, max] = ann.range ?? [null, null];
      if (min === null && max === null) return (v) => typeof v === 'number' && Number.isFinite(v);
      const lo = min ?? -Infinity;
      const hi = max ?? Infinity;
      return (v) => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
    }
    case 'string': {
      const max = limits.maxStringLength;
      return (v) => typeof v === 'string' && v.length <= max;
    }
    case 'bytes': {
      if (ann.packed) {
        const layout = ann.packed;
        const size = PACKED_ELEMENT_SIZE[layout];
        const limit = ann.limit ? limitOf(limits, ann.limit) : Infinity;
        if (limit === undefined) return never;
        return (v) => {
          if (!Buffer.isBuffer(v) || v.length % size !== 0 || v.length / size > limit) return false;
          if (layout !== 'float64le') return true;
          const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
          for (let i = 0; i < v.length; i += 8) if (!Number.isFinite(view.getFloat64(i, true))) return false;
          return true;
        };
      }
      const limit = limitOf(limits, ann.limit ?? 'maxBytesLength');
      if (limit === undefined) return never;
      return (v) => Buffer.isBuffer(v) && v.length <= limit;
    }
    case 'record':
      return compileRecord(s as AvroSchema, named, limits);
    case 'array': {
      const limit = limitOf(limits, ann.limit ?? 'maxArrayItems');
      if (limit === undefined) return never;
      const item = compileValue((s as AvroSchema).items, ann.range ? { range: ann.range } : {}, named, limits);
      return (v) => {
        if (!Array.isArray(v) || v.length > limit) return false;
        for (let i = 0; i < v.length; i++) if (!item(v[i])) return false;
        return true;
      };
    }
    case 'map': {
      const limit = limitOf(limits, ann.limit ?? 'maxArrayItems');
      if (limit === undefined) return never;
      const item = compileValue((s as AvroSchema).values, {}, named, limits);
      return (v) => {
        if (v === null || typeof v !== 'object') return false;
        const values = Object.values(v as Record<string, unknown>);
        if (values.length > limit) return false;
        for (const x of values) if (!item(x)) return false;
        return true;
      };
    }
    default:
      return always; // enums, booleans, fixed: Avro already enforced them
  }
}
