import type { Command } from 'commander';
import { SERVICES } from '../../registry';
import { runUntilSignal } from '../../runtime/service';

export function register(program: Command): void {
  program
    .command('run')
    .description(`run a service until SIGTERM (services: ${Object.keys(SERVICES).join(', ')}); configured by the environment`)
    .argument('<service>', 'service name')
    .option('--group <g>', 'verifier: the verifier group to run (sets VERIFIER_GROUP)')
    .action(async (name: string, opts: { group?: string }) => {
      if (opts.group !== undefined) process.env.VERIFIER_GROUP = opts.group;
      const def = SERVICES[name];
      if (!def) throw new Error(`unknown service ${JSON.stringify(name)}; known: ${Object.keys(SERVICES).join(', ')}`);
      await runUntilSignal(def);
    });
}
