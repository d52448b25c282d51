import type { Command } from 'commander';
import { SERVICES } from '../../registry';
import { runUntilSignal } from '../../runtime/service';

export function register(program: Command): void {
  program
    .command('run')
    .description(`run a service until SIGTERM (services: ${Object.keys(SERVICES).join(', ')}); configured by the environment`)
    .argument('<service>', 'service name')
    .action(async (name: string) => {
      const def = SERVICES[name];
      if (!def) throw new Error(`unknown service ${JSON.stringify(name)}; known: ${Object.keys(SERVICES).join(', ')}`);
      if ('run' in def) await def.run();
      else await runUntilSignal(def);
    });
}
