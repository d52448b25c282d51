// Every committed version of the catalog since the compatibility baseline: what a registry
// would hold had each commit been deployed. `schemas check --git` holds the working tree to it,
// so CI rejects a change that breaks readers of data written by any earlier version.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEventSchemas, SCHEMA_DIR, type AvroSchema } from '../../../schemas/catalog';

const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The commit from which schema compatibility is promised (schemas/compat-baseline). */
export function baselineCommit(): string {
  return readFileSync(join(SCHEMA_DIR, 'compat-baseline'), 'utf8').trim();
}

/** event name -> schemas at each commit (oldest first) that touched schemas/ since the baseline. */
export function schemaHistory(baseline = baselineCommit()): Map<string, Array<{ commit: string; schema: AvroSchema }>> {
  const root = git(['rev-parse', '--show-toplevel'], SCHEMA_DIR).trim();
  try {
    git(['cat-file', '-e', `${baseline}^{commit}`], root);
  } catch {
    throw new Error(`compatibility baseline ${baseline} is not in this clone's history (shallow clone? fetch with --unshallow), or schemas/compat-baseline is wrong`);
  }
  const commits = [baseline, ...git(['rev-list', '--reverse', `${baseline}..HEAD`, '--', 'schemas/'], root).split('\n').filter(Boolean)];
  const out = new Map<string, Array<{ commit: string; schema: AvroSchema }>>();
  for (const commit of commits) {
    const dir = mkdtempSync(join(tmpdir(), 'solvermesh-schemas-'));
    try {
      execFileSync('bash', ['-c', `git archive ${commit} schemas | tar -x -C "${dir}"`], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      for (const [name, s] of loadEventSchemas(join(dir, 'schemas'))) {
        const list = out.get(name) ?? [];
        list.push({ commit: commit.slice(0, 10), schema: s.schema });
        out.set(name, list);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}
