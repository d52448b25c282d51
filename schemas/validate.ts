// Validation right after decoding (DESIGN invariant 6): Avro guarantees shapes, not meaning.
// A generic walk over the schema checks what the .avsc annotations declare (finite numbers,
// ranges, packed layouts, size limits); rules.ts adds cross-field checks per event (CSR
// structure, equal lengths, indices within the dimensions the event itself carries).
import type { AvroSchema } from './catalog';
import type { SolvermeshEvent } from './generated/events';
import { PACKED_ELEMENT_SIZE } from './packed';
import { EVENT_RULES } from './rules';
import { nullableOf, planFor, resolve, type FieldAnnotations } from './walk';

export const ISSUE_CODES = [
  'NON_FINITE',
  'LENGTH_MISMATCH',
  'INDEX_OUT_OF_RANGE',
  'TOO_LARGE',
  'OUT_OF_RANGE',
  'NOT_MONOTONE',
  'PACKED_LENGTH',
  'INCONSISTENT',
  'UNKNOWN_TYPE',
] as const;
export type IssueCode = (typeof ISSUE_CODES)[number];

export interface ValidationIssue {
  readonly code: IssueCode;
  /** Dotted path to the field, e.g. `values[17]`, `entries[3].confidence`. */
  readonly path: string;
  readonly message: string;
}

export interface ValidationLimits {
  /** Any string field. */
  readonly maxStringLength: number;
  /** Avro arrays without a more specific limit. */
  readonly maxArrayItems: number;
  /** Opaque bytes without a more specific limit (e.g. quarantined conflicting data). */
  readonly maxBytesLength: number;
  /** CoordinationRequested.payload. */
  readonly maxPayloadBytes: number;
  /** Values (and column indices) in one matrix chunk. */
  readonly maxChunkValues: number;
  /** Rows in one matrix chunk (and b values). */
  readonly maxChunkRows: number;
  /** Values in one solution / snapshot chunk. */
  readonly maxVectorChunkValues: number;
  /** Target agents of a coordination / entries of a schedule chunk. */
  readonly maxTargets: number;
  /** rows, cols, n of a session. */
  readonly maxDimension: number;
  /** Non-zeros of a whole matrix. */
  readonly maxNnz: number;
  /** Capabilities of one heartbeat or coordination request: each is a registry index entry. */
  readonly maxCapabilities: number;
}

// Chunk limits keep a chunk under ~1 MiB (64 Ki float64 values + int32 indices = 768 KiB), the
// Kafka default max message size; raise them together with the topics' max.message.bytes.
export const DEFAULT_LIMITS: ValidationLimits = Object.freeze({
  maxStringLength: 4096,
  maxArrayItems: 100_000,
  maxBytesLength: 262_144,
  maxPayloadBytes: 262_144,
  maxChunkValues: 65_536,
  maxChunkRows: 65_536,
  maxVectorChunkValues: 65_536,
  maxTargets: 30_000,
  maxDimension: 10_000_000,
  maxNnz: 200_000_000,
  maxCapabilities: 64,
});

const NUMBER_TYPES = new Set(['double', 'float', 'int', 'long']);

/** Finite and within the inclusive bounds, as number() checks it. */
function inRange(v: number, range: FieldAnnotations['range']): boolean {
  if (!Number.isFinite(v)) return false;
  if (!range) return true;
  const [min, max] = range;
  return (min === null || v >= min) && (max === null || v <= max);
}

/** Collects issues; `add` is what rules call. */
export interface IssueSink {
  add(code: IssueCode, path: string, message: string): void;
  readonly limits: ValidationLimits;
}

/** Issues of an event; empty means valid. Never throws on bad data. */
export function validateEvent(event: SolvermeshEvent, limits: ValidationLimits = DEFAULT_LIMITS): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const sink: IssueSink = { limits, add: (code, path, message) => issues.push({ code, path, message }) };
  let plan;
  try {
    plan = planFor(event.type);
  } catch {
    sink.add('UNKNOWN_TYPE', 'type', `unknown event type '${String(event.type)}'`);
    return issues;
  }
  const walker = new Walker(sink, plan.named);
  walker.record(event as unknown as Record<string, unknown>, plan.schema, '');
  const rule = EVENT_RULES[event.type] as ((e: SolvermeshEvent, s: IssueSink) => void) | undefined;
  // Cross-field rules assume the generic shape checks passed (e.g. packed lengths).
  if (rule && issues.length === 0) rule(event, sink);
  return issues;
}

class Walker {
  constructor(
    private readonly sink: IssueSink,
    private readonly named: Map<string, AvroSchema>,
  ) {}

  record(value: Record<string, unknown>, schema: AvroSchema, path: string): void {
    for (const f of schema.fields as Array<AvroSchema & FieldAnnotations>) {
      const name = String(f.name);
      const v = value[name];
      // Valid plain leaves, the bulk of every event, skip the walk and the path string: it runs
      // on every record the runner decodes. Anything else, or anything invalid, takes the walk.
      if (NUMBER_TYPES.has(f.type as string) ? typeof v === 'number' && inRange(v, f.range)
        : f.type === 'string' && typeof v === 'string' && v.length <= this.sink.limits.maxStringLength) continue;
      this.value(v, f.type, path ? `${path}.${name}` : name, f);
    }
  }

  private value(v: unknown, node: unknown, path: string, ann: FieldAnnotations): void {
    const inner = nullableOf(node);
    if (inner !== undefined) {
      if (v !== null && v !== undefined) this.value(v, inner, path, ann);
      return;
    }
    const s = resolve(node, this.named);
    const t = typeof s === 'string' ? s : (s as AvroSchema).type;
    switch (t) {
      case 'double':
      case 'float':
      case 'int':
      case 'long':
        return this.number(v as number, path, ann);
      case 'string':
        return this.string(v as string, path);
      case 'bytes':
        return ann.packed ? this.packed(v as Buffer, path, ann) : this.bytes(v as Buffer, path, ann);
      case 'record':
        return this.record(v as Record<string, unknown>, s as AvroSchema, path);
      case 'array': {
        const arr = v as unknown[];
        this.size(arr.length, path, ann.limit ?? 'maxArrayItems', 'items');
        const items = (s as AvroSchema).items;
        arr.forEach((item, i) => this.value(item, items, `${path}[${i}]`, { ...(ann.range ? { range: ann.range } : {}) }));
        return;
      }
      case 'map': {
        const entries = Object.entries(v as Record<string, unknown>);
        this.size(entries.length, path, ann.limit ?? 'maxArrayItems', 'entries');
        for (const [k, item] of entries) this.value(item, (s as AvroSchema).values, `${path}.${k}`, {});
        return;
      }
      default:
        return; // enums, booleans, fixed: Avro already enforced them
    }
  }

  private number(v: number, path: string, ann: FieldAnnotations): void {
    if (!Number.isFinite(v)) {
      this.sink.add('NON_FINITE', path, `${path} is ${v}; only finite numbers are accepted`);
      return;
    }
    const [min, max] = ann.range ?? [null, null];
    if ((min !== null && v < min) || (max !== null && v > max)) {
      this.sink.add('OUT_OF_RANGE', path, `${path} = ${v} is outside [${min ?? '-inf'}, ${max ?? '+inf'}]`);
    }
  }

  private string(v: string, path: string): void {
    if (v.length > this.sink.limits.maxStringLength) {
      this.sink.add('TOO_LARGE', path, `${path} has ${v.length} characters, over maxStringLength ${this.sink.limits.maxStringLength}`);
    }
  }

  private bytes(v: Buffer, path: string, ann: FieldAnnotations): void {
    this.size(v.length, path, ann.limit ?? 'maxBytesLength', 'bytes');
  }

  private packed(v: Buffer, path: string, ann: FieldAnnotations): void {
    const layout = ann.packed!;
    const size = PACKED_ELEMENT_SIZE[layout];
    if (v.length % size !== 0) {
      this.sink.add('PACKED_LENGTH', path, `${path} has ${v.length} bytes, not a multiple of ${size} (${layout})`);
      return;
    }
    const n = v.length / size;
    if (ann.limit) this.size(n, path, ann.limit, `${layout} values`);
    if (layout !== 'float64le') return;
    // DataView reads avoid a copy when the decoded slice is unaligned.
    const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const x = view.getFloat64(i * 8, true);
      if (Number.isFinite(x)) continue;
      if (bad++ < 3) this.sink.add('NON_FINITE', `${path}[${i}]`, `${path}[${i}] is ${x} (packed float64); only finite numbers are accepted`);
    }
    if (bad > 3) this.sink.add('NON_FINITE', path, `${path} has ${bad} non-finite values in total`);
  }

  private size(n: number, path: string, limitKey: string, unit: string): void {
    const limit = (this.sink.limits as unknown as Record<string, number | undefined>)[limitKey];
    if (limit === undefined) throw new Error(`${path}: schema names unknown limit '${limitKey}'`);
    if (n > limit) this.sink.add('TOO_LARGE', path, `${path} has ${n} ${unit}, over ${limitKey} ${limit}`);
  }
}
