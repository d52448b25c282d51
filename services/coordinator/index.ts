// The coordinator (seed 002 §3.2, §5): conflict intake, dispatch at send time, gather and
// trinary quorum, cascades (§3.3) as chained coordinations, one processor per concern in one consumer group and one transaction per batch.
// The conflict lifecycle (conflict-lifecycle.ts) shares the tick writer for its deadlines.
import type { EventType } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import { createEngine } from '../runtime/engine';
import { combineProcessors } from '../runtime/combine';
import type { ServiceDefinition } from '../runtime/service';
import { withMessageGuard } from '../runtime/message-guard';
import { TickWriter } from '../runtime/tick-writer';
import { cascadeProcessor } from './cascade-processor';
import { conflictProcessor } from './conflict-processor';
import { COORDINATOR_KNOBS } from './config';
import { dispatchProcessor } from './dispatch-processor';
import { gatherProcessor } from './gather-processor';

const OUTPUTS: ReadonlyArray<readonly [TopicName, EventType]> = [
  ['mesh.dispatch', 'MessageDispatched'], ['mesh.schedules', 'DispatchDue'], ['mesh.schedules', 'CascadeStageTimedOut'], ['mesh.acks', 'DispatchCompleted'],
  ['mesh.acks', 'GatherWindowClosed'], ['mesh.acks', 'QuorumDecided'],
  ['mesh.coordination', 'CoordinationRequested'], ['mesh.cascades', 'CascadeStageDecided'], ['mesh.cascades', 'CascadeStageTimedOut'], ['mesh.cascades', 'CascadeCompleted'],
];

export const coordinatorService: ServiceDefinition<typeof COORDINATOR_KNOBS> = {
  name: 'coordinator',
  knobs: COORDINATOR_KNOBS,
  processor: async (config, logger, ctx) => {
    const ticks = new TickWriter({ producer: () => createEngine(config, logger).producer(), codec: ctx.codec, topicPrefix: config.topicPrefix, logger: logger.child({ component: 'ticks' }) });
    await ticks.connect();
    // Sends are due at their send time: the schema ids of what the coordinator writes are found
    // at start, not at the first send (a registry round trip each).
    await Promise.all(OUTPUTS.map(([topic, type]) => ctx.codec.schemaId(config.topicPrefix + topic, type)))
      .catch((err: unknown) => logger.warn({ err }, 'schema ids not found at start; the first sends look them up'));
    const log = { brokers: config.kafkaBrokers, codec: ctx.codec, topicPrefix: config.topicPrefix, groupId: ctx.groupId, validate: ctx.validate, ticks };
    const combined = combineProcessors('coordinator', [
      conflictProcessor(log),
      dispatchProcessor({ ...log, logger: logger.child({ component: 'dispatch' }), aheadMs: config.coordinatorDispatchAheadMs, perMessageUs: config.coordinatorDispatchUsPerMessage, maxSendsPerTick: config.coordinatorDispatchMaxSendsPerTick }),
      gatherProcessor({
        ...log, logger: logger.child({ component: 'gather' }), graceMs: config.coordinatorGatherGraceMs, retentionMs: config.coordinatorGatherRetentionMs,
        // An ack with the wrong payload_hash under its agent's verified signature counts against the agent (impedance's fold of mesh.agent-acks).
        signaturesVerified: config.meshSigning === 'required', ownKeyCopies: 'mesh.agent-acks',
      }),
      cascadeProcessor({ ...log, logger: logger.child({ component: 'cascades' }) }),
    ]);
    // Acks are signed by their agents: a forged or replayed one is neither gathered nor reported as the agent's conflict.
    const guardedCombined = await withMessageGuard(combined, { config, codec: ctx.codec, logger, producer: 'coordinator', groupId: ctx.groupId, verify: { 'mesh.acks': 'AckReceived' } });
    return { ...guardedCombined, async close() { await ticks.close(); await guardedCombined.close?.(); } };
  },
  // A batch is what has arrived: node-rdkafka's consume(n) otherwise keeps waiting for more
  // while records trickle in, and holds the decisions (and a restarted coordinator's first ones).
  consumerTuning: { returnAvailable: true },
};
