// Every runnable service by name, for `solvermesh run <service>`, and every set of knobs, for
// `solvermesh config` and the README's tables.
import { consensusService } from './consensus';
import { coordinatorService } from './coordinator';
import { DEMO_KNOBS } from './demo/config';
import { impedanceService } from './impedance';
import { RUNTIME_KNOBS } from './runtime/config';
import type { KnobSet } from './runtime/knob-table';
import type { ServiceDefinition } from './runtime/service';
import { solverService } from './solver';
import { verifierService } from './verifier';

export const SERVICES: Readonly<Record<string, ServiceDefinition>> = {
  consensus: consensusService,
  coordinator: coordinatorService,
  impedance: impedanceService,
  solver: solverService,
  verifier: verifierService,
};

export const KNOB_SETS: readonly KnobSet[] = [
  { name: 'runtime', knobs: RUNTIME_KNOBS },
  ...Object.values(SERVICES).flatMap((s) => (s.knobs ? [{ name: s.name, knobs: s.knobs }] : [])),
  { name: 'demo', knobs: DEMO_KNOBS },
];
