// The consensus service's knobs: how many verifier groups vote, and how long a round waits.
import type { KnobDecls } from '../runtime/knobs';
import { VERIFIER_KNOBS } from '../verifier/config';

export const CONSENSUS_KNOBS = {
  verifierGroups: VERIFIER_KNOBS.verifierGroups,
  consensusWindowMs: { env: 'CONSENSUS_WINDOW_MS', kind: 'int', default: 5000, min: 1, max: 3_600_000, doc: 'How long after a round\'s first vote this service writes its deadline record onto the votes\' partition; a round without quorum closes where the first deadline lands (`ConsensusNotReached`).' },
} as const satisfies KnobDecls;
