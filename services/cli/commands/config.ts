// `solvermesh config [--service <name>]`: every knob the process would run with, its value and
// whether the environment set it; exit 1 with the one aggregated error when any value is bad.
import type { Command } from 'commander';
import { KNOB_SETS, SERVICES, STANDALONE } from '../../registry';
import { formatKnobRows, knobMarkdown, knobRows, type KnobSet } from '../../runtime/knob-table';
import { configInvalid } from '../../runtime/knobs';

export function register(program: Command): void {
  program
    .command('config')
    .description('print every configuration variable with its value and source (default or env); exit 1 naming every bad one')
    .option('--service <name>', `only the runtime's and this service's (${[...Object.keys(SERVICES), ...Object.keys(STANDALONE)].join(', ')})`)
    .option('--json', 'one JSON object per variable')
    .option('--markdown', 'the README\'s tables, from the declarations (values from the environment are not shown)')
    .action((o: { service?: string; json?: boolean; markdown?: boolean }) => {
      const sets = chosenSets(o.service);
      if (o.markdown) {
        for (const set of sets) process.stdout.write(`<!-- knobs:${set.name} -->\n${knobMarkdown(set.knobs)}\n<!-- /knobs -->\n\n`);
        return;
      }
      const { rows, problems } = knobRows(sets);
      process.stdout.write(o.json ? rows.map((r) => `${JSON.stringify(r)}\n`).join('') : formatKnobRows(rows));
      if (problems.length > 0) throw configInvalid(problems);
    });
}

function chosenSets(service: string | undefined): KnobSet[] {
  if (service === undefined) return [...KNOB_SETS];
  if (!Object.hasOwn(SERVICES, service) && !Object.hasOwn(STANDALONE, service)) throw new Error(`--service ${JSON.stringify(service)}: known services are ${[...Object.keys(SERVICES), ...Object.keys(STANDALONE)].join(', ')}`);
  return KNOB_SETS.filter((s) => s.name === 'runtime' || s.name === service);
}
