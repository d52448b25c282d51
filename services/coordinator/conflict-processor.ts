// Wires the conflict decider to mesh.conflicts: reports in, quarantine/escalation out, keyed by
// conflict id so every fact about one conflict stays in order on one partition.
import type { Processor } from '../runtime/processor';
import { decideConflict } from './conflicts';

export const CONFLICTS_TOPIC = 'mesh.conflicts';

export function conflictProcessor(): Processor<'ConflictReported'> {
  return {
    name: 'coordinator.conflicts',
    inputs: [CONFLICTS_TOPIC],
    accepts: ['ConflictReported'],
    handle(report) {
      return decideConflict(report).map((e) => ({ topic: CONFLICTS_TOPIC, key: report.conflict_id, event: e }));
    },
  };
}
