import type { Command } from 'commander';
import * as acls from './acls';
import * as config from './config';
import * as conflicts from './conflicts';
import * as estimate from './estimate';
import * as mcp from './mcp';
import * as mesh from './mesh';
import * as produce from './produce';
import * as replay from './replay';
import * as run from './run';
import * as simulate from './simulate';
import * as solve from './solve';
import * as schemas from './schemas';
import * as session from './session';
import * as sessions from './sessions';
import * as tail from './tail';
import * as topics from './topics';

// One line per command module; each exports `register(program)`.
const modules: Array<{ register(program: Command): void }> = [run, config, topics, acls, schemas, tail, mesh, conflicts, mcp, simulate, solve, replay, session, sessions, produce, estimate];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
