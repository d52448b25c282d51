// make bench's last step: bench/REPORT.md and bench/plots/*.svg from what the benches wrote into
// bench/out/<name>/ (figures.json, written by every bench through figures.ts; status.json from
// run-all.sh; note.md, how a run differed from the default, e.g. reduced sizes). A bench without
// output is listed as not run; each section gets its plots: the bench's own where report.ts has
// one, else its figures over their baselines. Plots are drawn by matplotlib (plot.py) when the
// machine has it, and the report says so when it has not.
//   tsx bench/report/generate.ts [--out bench/out] [--report bench/REPORT.md]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import type { BenchFigures } from './figures';
import {
  heartbeatsPlot, latencyPlot, ratiosPlot, renderReport, solverFigures, spmvPlot, timeToTolerancePlot, WARM_SECTION,
  type BenchInput, type BenchStatus, type Machine, type Plot, type SolverRow,
} from './report';

const ROOT = join(__dirname, '..', '..');
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const OUT = args.get('out') ?? join(ROOT, 'bench', 'out');
const REPORT = args.get('report') ?? join(ROOT, 'bench', 'REPORT.md');
const PLOTS = join(REPORT, '..', 'plots');
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

/** The benches of `make bench`, in its order (bench/out/<name>, make target). */
export const BENCHES: ReadonlyArray<readonly [string, string]> = [
  ['solver', 'make bench-solver'], ['solver-service', 'make bench-solver-service'], ['impedance', 'make bench-impedance'], ['codec', 'make bench-codec'],
  ['verifier', 'make bench-verifier'], ['gateway', 'make bench-gateway'], ['coordination', 'make bench-coordination'], ['recovery', 'make bench-recovery'],
];

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function benchInput(name: string, target: string): BenchInput & { rows?: SolverRow[] } {
  const dir = join(OUT, name);
  const status = readJson<BenchStatus>(join(dir, 'status.json'));
  let figures = readJson<BenchFigures>(join(dir, 'figures.json'));
  const note = readText(join(dir, 'note.md'));
  // bench-solver's rows ride in its figures (series.rows); results.json alone is an older run's.
  const rows = name === 'solver' ? ((figures?.series?.rows as SolverRow[] | undefined) ?? readJson<SolverRow[]>(join(dir, 'results.json'))) : undefined;
  if (rows && !figures) {
    figures = {
      bench: name, startedAt: '', finishedAt: '', load: { before: status?.loadBefore ?? [], after: status?.loadAfter ?? [] }, runs: Number(/(\d+) runs/.exec(readText(join(dir, 'report.txt')))?.[1] ?? 3),
      node: process.version, figures: solverFigures(rows),
    };
  }
  return { name, target, ...(status ? { status } : {}), ...(figures ? { figures } : {}), ...(rows ? { rows } : {}), ...(note.trim() ? { note } : {}) };
}

/** Each bench's plots: its own kind where one exists, else (or beside it) its figures over their baselines. */
export function plotsOf(benches: ReadonlyArray<BenchInput & { rows?: SolverRow[] }>): Plot[] {
  const figuresOf = (name: string) => benches.find((b) => b.name === name)?.figures;
  const rows = benches.find((b) => b.name === 'solver')?.rows ?? [];
  const own: Record<string, () => Array<Plot | undefined>> = {
    solver: () => [timeToTolerancePlot(rows), spmvPlot(rows), ratiosPlot(figuresOf('solver'), (x) => x.section === WARM_SECTION, 'solver-warm-resolve.svg', 'Warm re-solve after a 0.1% update of b, over the cold solve of the same runs (target <= 0.35)', 0.35)],
    'solver-service': () => [latencyPlot(figuresOf('solver-service'))],
    impedance: () => [heartbeatsPlot(figuresOf('impedance'))],
  };
  return benches.flatMap((b) => (own[b.name]?.() ?? [ratiosPlot(b.figures)])).filter((p): p is Plot => p !== undefined);
}

function readText(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

function kafkaVersion(): string {
  const libs = join(ROOT, '.infra', 'kafka', 'libs');
  const jar = existsSync(libs) ? readdirSync(libs).find((f) => /^kafka_[\d.]+-[\d.]+\.jar$/.test(f)) : undefined;
  return jar ? (/-([\d.]+)\.jar$/.exec(jar)?.[1] ?? jar) : 'unknown (no .infra/kafka/libs)';
}

function machine(): Machine {
  const release = readText('/etc/os-release');
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length, memoryGiB: os.totalmem() / 2 ** 30, loadAverage: os.loadavg(),
    node: process.version, kafka: kafkaVersion(), os: `${/PRETTY_NAME="([^"]+)"/.exec(release)?.[1] ?? os.type()} (${os.release()})`,
  };
}

/** Draws the plots with plot.py; undefined when drawn, else why not. */
function draw(plots: readonly Plot[]): string | undefined {
  if (plots.length === 0) return 'no bench wrote what the plots show';
  mkdirSync(PLOTS, { recursive: true });
  // A plot of an earlier report whose bench has none this time would sit there unreferenced.
  const keep = new Set(plots.map((p) => p.file));
  for (const f of readdirSync(PLOTS)) if (f.endsWith('.svg') && !keep.has(f)) rmSync(join(PLOTS, f));
  const r = spawnSync(PYTHON, [join(__dirname, 'plot.py'), PLOTS], { input: JSON.stringify(plots), encoding: 'utf8' });
  if (r.error) return `plots not drawn: ${PYTHON} did not run (${r.error.message})`;
  if (r.status !== 0) return `plots not drawn: plot.py failed (${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0]}); make bench installs python3-matplotlib`;
  return undefined;
}

function main(): void {
  const known = new Set(BENCHES.map(([n]) => n));
  // Benches other issues added write bench/out/<name>/figures.json too: listed after the known ones.
  const extra = existsSync(OUT) ? readdirSync(OUT).filter((d) => !known.has(d) && existsSync(join(OUT, d, 'figures.json'))).sort() : [];
  const benches = [...BENCHES, ...extra.map((d) => [d, `make bench-${d}`] as const)].map(([n, t]) => benchInput(n, t));
  const plots = plotsOf(benches);
  const plotNote = draw(plots);
  const notes = readText(join(OUT, 'notes.md'));
  const md = renderReport({ generatedAt: new Date().toISOString(), machine: machine(), benches, plots: plotNote && plots.length > 0 ? [] : plots, ...(plotNote ? { plotNote } : {}), ...(notes ? { notes } : {}) });
  writeFileSync(REPORT, md);
  process.stdout.write(`${REPORT}: ${benches.filter((b) => b.figures).length} of ${benches.length} benches, ${plotNote ?? `${plots.length} plots in ${PLOTS}`}\n`);
}

if (require.main === module) main();
