// Wires the conflict decider to mesh.conflicts: reports in, quarantine/escalation out, keyed by
// conflict id so every fact about one conflict stays in order on one partition.
import type { ConflictReported } from '../../schemas/generated/events';
import type { DecodedEvent } from '../runtime/codec';
import type { Processor } from '../runtime/processor';
import { decideConflict } from './conflicts';

export const CONFLICTS_TOPIC = 'mesh.conflicts';

export function conflictProcessor(): Processor {
  return {
    name: 'coordinator.conflicts',
    inputs: [CONFLICTS_TOPIC],
    handles: (type) => type === 'ConflictReported',
    handle: (event: DecodedEvent) => {
      const report = event as unknown as ConflictReported;
      return decideConflict(report).map((e) => ({ topic: CONFLICTS_TOPIC, key: report.conflict_id, event: e as unknown as DecodedEvent }));
    },
  };
}
