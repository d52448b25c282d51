// Every runnable service by name, for `solvermesh run <service>`.
import { coordinatorService } from './coordinator';
import { gatewayService } from './gateway';
import { impedanceService } from './impedance';
import { solverService } from './solver';
import type { ServiceDefinition, StandaloneService } from './runtime/service';

export const SERVICES: Readonly<Record<string, ServiceDefinition | StandaloneService>> = {
  coordinator: coordinatorService,
  gateway: gatewayService,
  impedance: impedanceService,
  solver: solverService,
};
