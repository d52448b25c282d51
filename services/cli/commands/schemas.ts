import type { Command } from 'commander';
import { loadEventSchemas } from '../../../schemas/catalog';
import { COMPATIBILITY_LEVEL as LEVEL } from '../../runtime/codec';
import { loadConfig } from '../../runtime/config';
import { registryAdmin } from '../../runtime/registry-admin';
import { checkAgainstHistory, checkAgainstRegistry } from '../schemas/check';
import { schemaHistory } from '../schemas/history';
import { catalogSubjects } from '../schemas/subjects';

const out = (line: string) => process.stdout.write(`${line}\n`);

export function register(program: Command): void {
  const schemas = program.command('schemas').description('the Avro event catalog (schemas/) and the schema registry');

  schemas
    .command('register')
    .description(`register every catalog subject (<topic>-<record>) and set its compatibility to ${LEVEL}`)
    .action(async () => {
      const config = loadConfig();
      const admin = registryAdmin(config.schemaRegistryUrl);
      const subjects = catalogSubjects(config.topicPrefix);
      for (const s of subjects) {
        const id = await admin.register(s.subject, s.event.schema);
        await admin.setCompatibility(s.subject, LEVEL);
        out(`${s.subject.padEnd(64)} id=${id}`);
      }
      out(`registered ${subjects.length} subjects (${LEVEL})`);
    });

  schemas
    .command('check')
    .description(`fail on a schema change that is not ${LEVEL} compatible: against every version in the registry, or (--git) every committed version since schemas/compat-baseline`)
    .option('--git', 'check against the git history instead of the registry (what CI runs)')
    .action(async (opts: { git?: boolean }) => {
      const config = loadConfig();
      const problems = opts.git
        ? checkAgainstHistory(loadEventSchemas(), schemaHistory())
        : await checkAgainstRegistry(registryAdmin(config.schemaRegistryUrl), catalogSubjects(config.topicPrefix));
      for (const p of problems) out(`INCOMPATIBLE ${p}`);
      if (problems.length > 0) throw new Error(`${problems.length} incompatible schema change(s); add fields with defaults instead of removing or retyping them`);
      out(`schemas compatible (${LEVEL}, ${opts.git ? 'git history' : 'registry'})`);
    });

  schemas
    .command('list')
    .description('print every catalog subject')
    .action(() => {
      for (const s of catalogSubjects(loadConfig().topicPrefix)) out(s.subject);
    });
}
