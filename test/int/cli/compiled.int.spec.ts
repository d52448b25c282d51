import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestKafka, waitFor } from '../../support/kafka';
import { runCli, spawnCli } from '../../support/process';

const PROBE = join(__dirname, '..', '..', 'support', 'loaded-modules.cjs');
const DIST = join(__dirname, '..', '..', '..', 'dist') + '/';

interface Loaded { main: string | null; modules: string[]; execArgv: string[]; node: string }

function probeEnv(): { env: NodeJS.ProcessEnv; read: () => Loaded } {
  const file = join(mkdtempSync(join(tmpdir(), 'solvermesh-loaded-')), 'modules.json');
  return {
    // Only the probe in NODE_OPTIONS: the test runner's own tsx hook must not leak into the child.
    env: { ...process.env, NODE_OPTIONS: `--require ${PROBE}`, LOADED_MODULES_FILE: file },
    read: () => JSON.parse(readFileSync(file, 'utf8')) as Loaded,
  };
}

function assertCompiledOnly(loaded: Loaded, mustInclude: string): void {
  assert.equal(loaded.main, `${DIST}services/cli/main.js`);
  const loaders = loaded.modules.filter((m) => /[\\/]node_modules[\\/](tsx|esbuild|ts-node|@swc)[\\/]/.test(m));
  assert.deepEqual(loaders, [], 'a TypeScript loader was loaded');
  const sources = loaded.modules.filter((m) => /\.[cm]?tsx?$/.test(m));
  assert.deepEqual(sources, [], 'TypeScript sources were loaded');
  assert.ok(loaded.modules.includes(`${DIST}${mustInclude}`), `${mustInclude} is not among the ${loaded.modules.length} loaded modules`);
  assert.match(loaded.node, /^v24\./, 'not the project\'s Node LTS line');
  assert.ok(loaded.execArgv.includes('--max-semi-space-size=64'), loaded.execArgv.join(' '));
}

describe('bin/solvermesh runs the compiled JavaScript of dist/ on Node 24, with no TypeScript loader', function () {
  this.timeout(90_000);

  it('given a built tree, when `solvermesh --help` runs, then it loaded dist/ modules only and no loader', async () => {
    const probe = probeEnv();
    const run = await runCli(['--help'], probe.env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Usage: solvermesh/);
    assertCompiledOnly(probe.read(), 'services/cli/commands/index.js');
  });

  it('given the broker, when `solvermesh run coordinator` starts its runner and is stopped with SIGTERM, then it ran dist/ modules only and on Node 24+', async () => {
    const k = await TestKafka.create('compiled');
    const probe = probeEnv();
    const child = spawnCli(['run', 'coordinator'], { ...probe.env, TOPIC_PREFIX: k.prefix, HTTP_PORT: '0', LOG_LEVEL: 'info' });
    try {
      await waitFor(() => child.output().includes('runner started'), 60_000, 'runner started');
    } finally {
      child.proc.kill('SIGTERM');
    }
    const { code } = await child.exited;
    assert.equal(code, 0, child.output());
    const loaded = probe.read();
    assertCompiledOnly(loaded, 'services/coordinator/index.js');
    assert.ok(loaded.modules.includes(`${DIST}services/runtime/runner.js`));
    await k.close();
  });
});
