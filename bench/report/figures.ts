// What every bench writes for `make bench`'s report: bench/out/<name>/figures.json, its medians
// beside the baseline each was measured against in the same run, plus series for the plots.
// The report generator (generate.ts) computes the ratios itself from the two values.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';

export interface Figure {
  /** The bench's part, e.g. "b. latency, each update its own group". */
  readonly section: string;
  readonly name: string;
  /** Median of the runs; null when it could not be measured. */
  readonly value: number | null;
  readonly unit: string;
  /** Lower (times) or higher (rates) is better. */
  readonly better: 'lower' | 'higher';
  readonly runs?: readonly number[];
  /** The baseline measured in the same run; no baseline: the figure stands alone (a count, a target). */
  readonly baseline?: { readonly name: string; readonly value: number | null };
  readonly target?: string;
  readonly met?: boolean;
}

export interface BenchFigures {
  readonly bench: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly load: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly runs: number;
  readonly node: string;
  /** How to run it again: the bench's knobs from the environment, then the entry script and its arguments. */
  readonly command?: string;
  readonly figures: readonly Figure[];
  /** Bench-specific data for the report's plots (latency quantiles, per-engine rates). */
  readonly series?: Record<string, unknown>;
}

export const OUT_DIR = join(__dirname, '..', 'out');
const ROOT = join(__dirname, '..', '..');

/** The bench knobs (BENCH_*, SOAK_*, SOLVER_BENCH_*) set in env: a reduced run is visible in its command. */
export function commandLine(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string {
  const knobs = Object.keys(env).filter((k) => /^(BENCH_|SOAK_|SOLVER_BENCH_)/.test(k)).sort().map((k) => `${k}=${env[k]}`);
  const script = argv[1] ? relative(ROOT, argv[1]) : '?';
  return [...knobs, 'npx tsx', script, ...argv.slice(2)].join(' ');
}

/** Starts the clock and load reading of a bench; `done` writes bench/out/<bench>/figures.json. */
export function benchRecord(bench: string, runs: number) {
  const startedAt = new Date().toISOString();
  const before = loadavg();
  const command = commandLine();
  return {
    done(figures: readonly Figure[], series?: Record<string, unknown>, dir = OUT_DIR): string {
      const out: BenchFigures = {
        bench, startedAt, finishedAt: new Date().toISOString(), load: { before, after: loadavg() }, runs, node: process.version, command, figures, ...(series ? { series } : {}),
      };
      mkdirSync(join(dir, bench), { recursive: true });
      const file = join(dir, bench, 'figures.json');
      writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
      return file;
    },
  };
}
