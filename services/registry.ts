// Every runnable service by name, for `solvermesh run <service>`, and every set of knobs, for
// `solvermesh config` and the README's tables.
import { consensusService } from './consensus';
import { coordinatorService } from './coordinator';
import { DEMO_KNOBS } from './demo/config';
import { GATEWAY_KNOBS } from './gateway/config';
import { gatewayService } from './gateway';
import { guardianService } from './guardian';
import { impedanceService } from './impedance';
import { MCP_KNOBS } from './mcp/config';
import { RUNTIME_KNOBS } from './runtime/config';
import type { KnobSet } from './runtime/knob-table';
import type { ServiceDefinition, StandaloneService } from './runtime/service';
import { solverService } from './solver';
import { verifierService } from './verifier';

export const SERVICES: Readonly<Record<string, ServiceDefinition>> = {
  consensus: consensusService,
  coordinator: coordinatorService,
  guardian: guardianService,
  impedance: impedanceService,
  solver: solverService,
  verifier: verifierService,
};

/** Services that are not consume-transform-produce processors: they wire and run themselves. */
export const STANDALONE: Readonly<Record<string, StandaloneService>> = {
  gateway: gatewayService,
};

export const KNOB_SETS: readonly KnobSet[] = [
  { name: 'runtime', knobs: RUNTIME_KNOBS },
  ...Object.values(SERVICES).flatMap((s) => (s.knobs ? [{ name: s.name, knobs: s.knobs }] : [])),
  { name: 'gateway', knobs: GATEWAY_KNOBS },
  { name: 'mcp', knobs: MCP_KNOBS },
  { name: 'demo', knobs: DEMO_KNOBS },
];
