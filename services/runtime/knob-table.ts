// Knobs shown to people: the values a process would run with and where each came from
// (`solvermesh config`), and the README's tables, both derived from the declarations.
import { allowedText, defaultText, inspectKnobs, type Knob, type KnobDecls, type KnobProblem, type KnobSource } from './knobs';

export interface KnobSet {
  /** `runtime`, or the service or program whose knobs these are. */
  readonly name: string;
  readonly knobs: KnobDecls;
}

export interface KnobRow {
  readonly set: string;
  readonly env: string;
  readonly value: string;
  /** `invalid`: the value set is refused (and named in the error). */
  readonly source: KnobSource | 'invalid';
}

/** Every knob of `sets` as `env` sets it; the problems are those `readKnobs` would throw. */
export function knobRows(sets: readonly KnobSet[], env?: NodeJS.ProcessEnv): { rows: KnobRow[]; problems: KnobProblem[] } {
  const rows: KnobRow[] = [];
  const problems: KnobProblem[] = [];
  for (const set of sets) {
    const reading = inspectKnobs(set.knobs, env);
    problems.push(...reading.problems);
    for (const [key, knob] of Object.entries(set.knobs)) {
      const bad = reading.problems.find((p) => p.env === knob.env);
      if (bad) { rows.push({ set: set.name, env: knob.env, value: bad.value, source: 'invalid' }); continue; }
      const source = reading.sources[key]!;
      // A computed default (the random instance id) differs per process: this one's is no answer.
      const value = source === 'default' && knob.kind === 'string' && typeof knob.default === 'function'
        ? defaultText(knob) : shown(knob, reading.values[key]);
      rows.push({ set: set.name, env: knob.env, value, source });
    }
  }
  return { rows, problems };
}

/** Aligned text, one knob per line, grouped by set. */
export function formatKnobRows(rows: readonly KnobRow[]): string {
  const envWidth = Math.max(...rows.map((r) => r.env.length));
  const valueWidth = Math.max(...rows.map((r) => r.value.length || 2));
  const lines: string[] = [];
  let set = '';
  for (const r of rows) {
    if (r.set !== set) lines.push(`${set === '' ? '' : '\n'}${(set = r.set)}:`);
    lines.push(`  ${r.env.padEnd(envWidth)}  ${(r.value || "''").padEnd(valueWidth)}  ${r.source}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README's table of a set. */
export function knobMarkdown(decls: KnobDecls): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = Object.values(decls).map((k) => {
    const def = defaultText(k);
    const shownDefault = def === '' ? '(empty)' : def.startsWith('(') ? def : `\`${def}\``;
    return `| \`${k.env}\` | ${shownDefault} | ${cell(allowedText(k))} | ${cell(k.doc)} |`;
  });
  return ['| variable | default | allowed | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function shown(knob: Knob, value: unknown): string {
  if (knob.kind === 'string' && knob.secret && value !== '') return '***';
  if (knob.kind === 'list' && Array.isArray(value)) return value.join(',');
  if (knob.kind === 'url' && typeof value === 'string') return withoutPassword(value);
  return String(value);
}

/** redis://user:secret@host -> redis://user:***@host: the listing may end up in a ticket. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return url;
  }
}
