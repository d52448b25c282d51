// The exactly-once floor of bench-solver-service's latency: the same runtime as the solver
// (runner, node-rdkafka engine, the solver's consumer tuning and batch size: one Kafka
// transaction per batch of what has arrived) with a processor that only relays each record.
// Started as its own process like the service; what the solver adds on top of this is solving.
// Each output is its input with meta.sequence set to the input's offset, under the input's key (so
// on the same partition, as an IterationCompleted lands on its session's): the bench reads which
// input it covers from it.
import { EVENT_TYPES } from '../../schemas/generated/events';
import type { Processor } from '../../services/runtime/processor';
import { runUntilSignal, type ServiceDefinition } from '../../services/runtime/service';
import { SOLVER_KNOBS, solverRunnerTuning } from '../../services/solver/config';

/** Logical output topic of the relay (the bench creates it under its prefix). */
export const RELAYED = 'bench.relayed';

export function relayService(input: string): ServiceDefinition<typeof SOLVER_KNOBS> {
  return {
    name: 'relay',
    knobs: SOLVER_KNOBS,
    runnerTuning: solverRunnerTuning,
    processor: (): Processor => ({
      name: 'relay',
      inputs: [input],
      accepts: EVENT_TYPES,
      handle: (event, ctx) => [{ topic: RELAYED, key: ctx.key ?? '', event: { ...event, meta: { ...event.meta, sequence: Number(ctx.offset) } } }],
    }),
  };
}

if (require.main === module) {
  const input = process.argv[2];
  if (!input) {
    process.stderr.write('usage: relay.ts <logical input topic>\n');
    process.exit(2);
  }
  void runUntilSignal(relayService(input));
}
