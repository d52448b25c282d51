// Configuration knobs as data, read by one function (platformatic/kafka's "options as data plus
// one reader"). A declaration names its environment variable, kind, default, bounds and meaning;
// `readKnobs` turns a set of them into a typed, frozen object, and reports every bad variable of
// the set in one error, so a misconfigured deploy fails in one round trip.
import { SolvermeshError } from './errors';

interface KnobBase {
  /** The environment variable. */
  readonly env: string;
  readonly doc: string;
}

export interface IntKnob extends KnobBase {
  readonly kind: 'int';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface NumberKnob extends KnobBase {
  readonly kind: 'number';
  readonly default: number;
  readonly min?: number;
  /** Exclusive lower bound ("a positive number": above 0). */
  readonly above?: number;
  readonly max?: number;
}

export interface StringKnob extends KnobBase {
  readonly kind: 'string';
  /** A function gives a value per process (a random instance id); `defaultDoc` says what it is. */
  readonly default: string | (() => string);
  readonly defaultDoc?: string;
  /** A password or token: listings show `***` for a value set. */
  readonly secret?: boolean;
}

export interface EnumKnob extends KnobBase {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default: string;
}

export interface UrlKnob extends KnobBase {
  readonly kind: 'url';
  readonly default: string;
  readonly protocols: readonly string[];
}

/** Comma-separated, each item matching `item.pattern` (e.g. host:port). */
export interface ListKnob extends KnobBase {
  readonly kind: 'list';
  readonly default: readonly string[];
  readonly item: { readonly pattern: RegExp; readonly name: string };
}

export type Knob = IntKnob | NumberKnob | StringKnob | EnumKnob | UrlKnob | ListKnob;

/** Property name in the read object -> declaration. */
export type KnobDecls = Readonly<Record<string, Knob>>;

export type KnobValue<K extends Knob> =
  K extends EnumKnob ? K['values'][number]
    : K extends ListKnob ? string[]
      : K extends IntKnob | NumberKnob ? number
        : string;

/** Frozen one level deep: a list is a fresh array per read (client libraries take string[]). */
export type KnobValues<D extends KnobDecls> = { readonly [P in keyof D]: KnobValue<D[P]> };

export type KnobSource = 'default' | 'env';

export interface KnobProblem {
  readonly env: string;
  readonly value: string;
  /** What the variable accepts. */
  readonly allowed: string;
  /** A value to set instead. */
  readonly example: string;
}

export interface KnobReading<D extends KnobDecls> {
  readonly values: KnobValues<D>;
  readonly sources: { readonly [P in keyof D]: KnobSource };
  readonly problems: readonly KnobProblem[];
}

/**
 * Reads `decls` from `env` (the process's environment unless given): the typed, frozen values, or
 * one CONFIG_INVALID naming every bad variable. The only place that reads the environment.
 */
export function readKnobs<const D extends KnobDecls>(decls: D, env: NodeJS.ProcessEnv = process.env): KnobValues<D> {
  const reading = inspectKnobs(decls, env);
  if (reading.problems.length > 0) throw configInvalid(reading.problems);
  return reading.values;
}

/** What `readKnobs` reads, where each value came from, and what is wrong; never throws on bad values. */
export function inspectKnobs<const D extends KnobDecls>(decls: D, env: NodeJS.ProcessEnv = process.env): KnobReading<D> {
  const values: Record<string, unknown> = {};
  const sources: Record<string, KnobSource> = {};
  const problems: KnobProblem[] = [];
  const seen = new Set<string>();
  for (const [key, knob] of Object.entries(decls)) {
    if (seen.has(knob.env)) throw new Error(`knob ${knob.env} is declared twice`);
    seen.add(knob.env);
    const raw = env[knob.env]?.trim() ?? '';
    const parsed = raw === '' ? undefined : parseKnob(knob, raw);
    if (parsed === undefined || !parsed.ok) {
      if (parsed) problems.push({ env: knob.env, value: raw, allowed: allowedText(knob), example: exampleOf(knob) });
      values[key] = defaultOf(knob);
      sources[key] = 'default';
    } else {
      values[key] = parsed.value;
      sources[key] = 'env';
    }
  }
  // The records are built from `decls` key by key with each knob's own kind: their types are
  // KnobValues<D> by construction, which TypeScript cannot follow through Object.entries.
  return { values: Object.freeze(values) as KnobValues<D>, sources: Object.freeze(sources) as KnobReading<D>['sources'], problems };
}

export function configInvalid(problems: readonly KnobProblem[]): SolvermeshError {
  const lines = problems.map((p) => `${p.env}=${JSON.stringify(p.value)}: ${p.allowed}; e.g. ${p.env}=${p.example}`);
  return new SolvermeshError('CONFIG_INVALID', `invalid configuration (${problems.length} bad variable${problems.length === 1 ? '' : 's'}):\n  - ${lines.join('\n  - ')}`);
}

/** Two sets read as one (a service's knobs beside the runtime's); a property or variable declared in both is a bug. */
export function combineKnobs<const A extends KnobDecls, const B extends KnobDecls>(a: A, b: B): A & B {
  for (const key of Object.keys(b)) if (Object.hasOwn(a, key)) throw new Error(`knob property ${key} is declared twice`);
  return { ...a, ...b };
}

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false };
const ok = (value: unknown): Parsed => ({ ok: true, value });
const BAD: Parsed = { ok: false };

function parseKnob(knob: Knob, raw: string): Parsed {
  switch (knob.kind) {
    case 'int': {
      const n = Number(raw);
      return Number.isInteger(n) && n >= knob.min && n <= knob.max ? ok(n) : BAD;
    }
    case 'number': {
      const n = Number(raw);
      const inRange = (knob.min === undefined || n >= knob.min) && (knob.above === undefined || n > knob.above) && (knob.max === undefined || n <= knob.max);
      return Number.isFinite(n) && inRange ? ok(n) : BAD;
    }
    case 'string':
      return ok(raw);
    case 'enum':
      return knob.values.includes(raw) ? ok(raw) : BAD;
    case 'url': {
      let protocol: string;
      try { protocol = new URL(raw).protocol; } catch { return BAD; }
      return knob.protocols.includes(protocol) ? ok(raw.replace(/\/+$/, '')) : BAD;
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      return items.length > 0 && items.every((s) => knob.item.pattern.test(s)) ? ok(items) : BAD;
    }
    default:
      return assertNever(knob);
  }
}

function defaultOf(knob: Knob): unknown {
  if (knob.kind === 'list') return [...knob.default];
  return knob.kind === 'string' && typeof knob.default === 'function' ? knob.default() : knob.default;
}

/** The default as documentation shows it. */
export function defaultText(knob: Knob): string {
  if (knob.kind === 'string' && typeof knob.default === 'function') return knob.defaultDoc ?? '(computed)';
  if (knob.kind === 'list') return knob.default.join(',');
  return String(knob.default);
}

export function allowedText(knob: Knob): string {
  switch (knob.kind) {
    case 'int': return `an integer in [${knob.min}, ${knob.max}]`;
    case 'number': {
      const bounds = [
        knob.min !== undefined ? `>= ${knob.min}` : '',
        knob.above !== undefined ? `> ${knob.above}` : '',
        knob.max !== undefined ? `<= ${knob.max}` : '',
      ].filter(Boolean);
      return bounds.length > 0 ? `a number ${bounds.join(' and ')}` : 'a finite number';
    }
    case 'string': return 'any text';
    case 'enum': return `one of ${knob.values.join(', ')}`;
    case 'url': return `a URL with ${knob.protocols.join(' or ')}`;
    case 'list': return `comma-separated ${knob.item.name}, at least one`;
    default: return assertNever(knob);
  }
}

function exampleOf(knob: Knob): string {
  const text = defaultText(knob);
  return text === '' ? 'x' : text;
}

function assertNever(x: never): never {
  throw new Error(`unknown knob kind ${JSON.stringify(x)}`);
}
