// A service of the demo as its own process, the way an operator runs it (`solvermesh run <name>`).
// The child is killed when the demo process exits on any path, so a failed demo never leaves a
// member behind in the service's consumer group (it would hold partitions until its session
// times out and stall the next run's assignment).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../schemas/project-root';
import { readEnvFile } from '../runtime/credentials';
import { readKnobs } from '../runtime/knobs';
import { DEMO_KNOBS } from './config';

export interface ServiceProcess {
  readonly proc: ChildProcess;
  /** stderr so far (the service's structured log). */
  log(): string;
  /** The first match of `re` in the log; rejects when the service exits first or after `timeoutMs`. */
  waitForLog(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM (drain and commit), then the exit code. */
  stop(): Promise<number | null>;
}

export function startService(name: string, env: NodeJS.ProcessEnv = {}): ServiceProcess {
  // On the secured stack each service is itself, not the operator the demo runs as.
  const { demoIdentities } = readKnobs(DEMO_KNOBS);
  const identity = demoIdentities === '' ? {} : readEnvFile(join(demoIdentities, `${name}.env`));
  const proc = spawn(join(projectRoot(), 'bin', 'solvermesh'), ['run', name], {
    env: { ...process.env, HTTP_PORT: '0', ...identity, ...env }, stdio: ['ignore', 'inherit', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const orphanGuard = () => { if (proc.exitCode === null) proc.kill('SIGTERM'); };
  process.on('exit', orphanGuard);
  const waitForLog = (re: RegExp, timeoutMs: number) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const m = re.exec(log);
      if (m) done(() => resolve(m));
    };
    const gone = (code: number | null) => done(() => reject(new Error(`${name} exited with ${code} before its log said ${re}\n${log.slice(-3000)}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`${name}: its log did not say ${re} within ${timeoutMs} ms\n${log.slice(-3000)}`))), timeoutMs);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      proc.stderr!.off('data', check);
      proc.off('exit', gone);
      settle();
    };
    proc.stderr!.on('data', check);
    proc.on('exit', gone);
    check();
    if (proc.exitCode !== null || proc.signalCode !== null) gone(proc.exitCode);
  });
  return {
    proc,
    log: () => log,
    waitForLog,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      process.off('exit', orphanGuard);
      return code;
    },
  };
}
