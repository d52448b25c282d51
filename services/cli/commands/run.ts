import type { Command } from 'commander';
import { SERVICES, STANDALONE } from '../../registry';
import { runUntilSignal } from '../../runtime/service';

export function register(program: Command): void {
  const names = [...Object.keys(SERVICES), ...Object.keys(STANDALONE)].sort();
  program
    .command('run')
    .description(`run a service until SIGTERM (services: ${names.join(', ')}); configured by the environment`)
    .argument('<service>', 'service name')
    .option('--group <g>', 'verifier: the verifier group to run (sets VERIFIER_GROUP)')
    .action(async (name: string, opts: { group?: string }) => {
      if (opts.group !== undefined) process.env.VERIFIER_GROUP = opts.group;
      if (Object.hasOwn(STANDALONE, name)) return STANDALONE[name]!.run();
      const def = SERVICES[name];
      if (!def) throw new Error(`unknown service ${JSON.stringify(name)}; known: ${names.join(', ')}`);
      await runUntilSignal(def);
    });
}
