// The solver service: event-sourced solve sessions (seed 000 §2-§3, §7.4). Configured by the
// environment: the runtime's variables and SOLVER_* (config.ts), read and validated at start.
import type { RuntimeConfig } from '../runtime/config';
import type { ServiceDefinition } from '../runtime/service';
import { wasmKernel } from '../../wasm';
import { SOLVER_KNOBS, solverRunnerTuning, solverTuning } from './config';
import { solverProcessor } from './processor';
import { restorePartition } from './restore';
import { serviceStructuralEmitter } from '../runtime/structural';
import { createEngine } from '../runtime/engine';
import { TickWriter } from '../runtime/tick-writer';

export const solverGroupId = (config: RuntimeConfig) => `${config.topicPrefix}solvermesh.solver`;

export const solverService: ServiceDefinition<typeof SOLVER_KNOBS> = {
  name: 'solver',
  knobs: SOLVER_KNOBS,
  runnerTuning: solverRunnerTuning,
  processor: (config, logger, ctx) => {
    const tuning = solverTuning(config);
    const { codec, validate } = ctx;
    const kernel = wasmKernel();
    // Lingering would hold every deferred group that long.
    const ticks = new TickWriter({ producer: () => createEngine(config, logger).producer({ lingerMs: 0 }), codec, topicPrefix: config.topicPrefix, logger });
    ticks.connect().catch((err: unknown) => logger.warn({ err }, 'tick producer not connected yet: ticks are tried again'));
    return solverProcessor({
      ticks: { write: (t) => ticks.writeNow(t.event.meta.event_id, t), close: () => ticks.close() },
      logger, registry: ctx.registry, structural: serviceStructuralEmitter(config, logger, codec, 'solver'), sliceWork: tuning.sliceWork, slowSliceMs: tuning.slowSliceMs, snapshotEvery: tuning.snapshotEvery, snapshotMicros: tuning.snapshotMicros,
      restore: (partition) => restorePartition({ brokers: config.kafkaBrokers, codec, topicPrefix: config.topicPrefix, groupId: solverGroupId(config), limits: tuning.limits, kernel, validate, clock: { now: () => performance.now() }, logger }, partition),
    });
  },
};
