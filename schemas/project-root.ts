// The checkout's root, where data files live (schemas/**/*.avsc, wasm/build/solver.wasm),
// whether the calling module runs from its TypeScript source or compiled under dist/: the
// nearest folder above with a package.json (dist/ has none).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

export function projectRoot(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (cached = dir);
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}: solvermesh runs from its checkout or an installed copy of it`);
  }
}
