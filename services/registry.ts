// Every runnable service by name, for `solvermesh run <service>`.
import { coordinatorService } from './coordinator';
import { impedanceService } from './impedance';
import { solverService } from './solver';
import type { ServiceDefinition } from './runtime/service';

export const SERVICES: Readonly<Record<string, ServiceDefinition>> = {
  coordinator: coordinatorService,
  impedance: impedanceService,
  solver: solverService,
};
