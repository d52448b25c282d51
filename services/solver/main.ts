// Entry point until `solver` is registered in services/registry.ts (`solvermesh run solver`).
import { runUntilSignal } from '../runtime/service';
import { solverService } from './index';

runUntilSignal(solverService).catch((err: unknown) => {
  process.stderr.write(`solver: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
