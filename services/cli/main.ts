// solvermesh: one binary for every service and tool. Each command lives in its own module under
// commands/ and registers itself on the program.
import './node-version';
import '../runtime/quiet-warnings';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands';
import { CliExit } from './exit';

const program = new Command()
  .name('solvermesh')
  .description('Kafka event-sourced stream processor: streaming solver sessions and an agent mesh')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

// `solvermesh tail ... | head` closes our stdout early: that is the reader saying "enough".
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`solvermesh: ${message}\n`);
  process.exit(err instanceof CliExit ? err.code : 1);
});
