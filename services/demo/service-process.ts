// A service of the demo as its own process, the way an operator runs it (`solvermesh run <name>`).
// The child is killed when the demo process exits on any path, so a failed demo never leaves a
// member behind in the service's consumer group (it would hold partitions until its session
// times out and stall the next run's assignment).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../schemas/project-root';

export interface ServiceProcess {
  readonly proc: ChildProcess;
  /** stderr so far (the service's structured log). */
  log(): string;
  /** SIGTERM (drain and commit), then the exit code. */
  stop(): Promise<number | null>;
}

export function startService(name: string, env: NodeJS.ProcessEnv = {}): ServiceProcess {
  const proc = spawn(join(projectRoot(), 'bin', 'solvermesh'), ['run', name], {
    env: { ...process.env, HTTP_PORT: '0', ...env }, stdio: ['ignore', 'inherit', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const orphanGuard = () => { if (proc.exitCode === null) proc.kill('SIGTERM'); };
  process.on('exit', orphanGuard);
  return {
    proc,
    log: () => log,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      process.off('exit', orphanGuard);
      return code;
    },
  };
}
