import type { ServiceDefinition } from '../runtime/service';
import { conflictProcessor } from './conflict-processor';

// The coordinator's conflict stage (seed 002 §5.1). Quorum, breakers and modes join it later.
export const coordinatorService: ServiceDefinition = {
  name: 'coordinator',
  processor: () => conflictProcessor(),
  // A batch is what has arrived: node-rdkafka's consume(n) otherwise keeps waiting for more
  // while reports trickle in, and holds the decisions (and a restarted coordinator's first ones).
  consumerTuning: { returnAvailable: true },
};
