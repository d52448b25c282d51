// The guardian's processor. Its inputs come from topics keyed and partitioned every which way
// (agents, scopes), but its breakers are one fold over the whole mesh: so records from the source
// topics are copied onto the one partition of mesh.guardian in the transaction that consumes
// them (intake), and the fold reads only mesh.guardian, where its ticks land too. Replaying
// mesh.guardian therefore decides the same. On assignment the fold is rebuilt from
// mesh.guardian up to the group's committed offset, its outputs (committed already) dropped.
import type { EventCodec } from '../runtime/codec';
import type { LogRestoreDeps } from '../runtime/partition-states';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import type { Producer } from '../runtime/kafka/types';
import type { Logger } from '../runtime/logger';
import { isOneOf, type Emit, type EventValidator, type Processor } from '../runtime/processor';
import { GUARDIAN_INPUT_TYPES, GuardianCore, type GuardianInput } from './core';
import { PRODUCER, toEmits } from './outputs';
import type { GuardianPolicy } from './policy';
import { SEQUENCE_KEY, SEQUENCED, tickWriter } from './ticks';

/** Where the guardian's inputs are produced; its own outputs on them are not inputs. */
export const SOURCES = ['mesh.impedance', 'mesh.summaries', 'mesh.witnesses'] as const;
export const isGuardianInput = isOneOf(GUARDIAN_INPUT_TYPES);

export interface GuardianProcessorOptions extends LogRestoreDeps {
  readonly logger: Logger;
  readonly policy: GuardianPolicy;
  readonly tickMs: number;
  readonly producer: () => Promise<Producer>;
}

/** Folds the sequenced log's records up to `to` (exclusive) into a new core. */
export async function foldSequenced(o: Pick<GuardianProcessorOptions, 'brokers' | 'codec' | 'topicPrefix' | 'policy' | 'validate'>, to: number | undefined, each?: (e: GuardianInput, core: GuardianCore) => void): Promise<GuardianCore> {
  const core = new GuardianCore(o.policy);
  if (to !== undefined && to <= 0) return core;
  await readLog(o.brokers, o.codec, [{ topic: o.topicPrefix + SEQUENCED, partition: 0, from: 0, ...(to === undefined ? {} : { to }) }], {
    onRecord: (r) => {
      // What the runner refused (and dead-lettered) was never folded: a record that fails
      // validation, its event-time bound included when `validate` has it.
      if (!isGuardianInput(r.event) || (o.validate && o.validate(r.event, r.timestampMs).length > 0)) return;
      if (each) each(r.event, core); else core.fold(r.event);
    },
  });
  return core;
}

export function guardianProcessor(o: GuardianProcessorOptions): Processor<GuardianInput['type']> {
  const log = o.logger.child({ component: 'guardian' });
  const ticks = tickWriter(o.codec, o.topicPrefix, o.producer);
  let core: GuardianCore | undefined;
  let stale = true;
  let owned = false;

  async function restore(): Promise<GuardianCore> {
    const topic = o.topicPrefix + SEQUENCED;
    const to = (await committedOffsets(o.brokers, o.groupId, [{ topic, partition: 0 }])).get(`${topic}/0`) ?? -1;
    core = await foldSequenced(o, to);
    stale = false;
    log.info({ through: to, clock: core.clock }, 'guardian fold restored');
    return core;
  }

  const fold = (c: GuardianCore, e: GuardianInput): Emit[] => toEmits(e.meta.event_id, c.fold(e));

  return {
    name: 'guardian',
    inputs: [...SOURCES, SEQUENCED],
    accepts: GUARDIAN_INPUT_TYPES,
    handle(event, ctx) {
      if (ctx.topic !== SEQUENCED) {
        // A tick or a breaker change of the guardian's own is not an observation of the mesh.
        if (event.type === 'GuardianClockTicked' || event.meta.producer === PRODUCER) return [];
        return [{ topic: SEQUENCED, key: SEQUENCE_KEY, event }];
      }
      if (core && !stale) return fold(core, event);
      return restore().then((c) => fold(c, event));
    },
    onAbort() { stale = true; },
    async onAssigned(list) {
      if (!list.some((p) => p.topic === SEQUENCED)) return;
      owned = true;
      await restore();
    },
    onRevoked(list) {
      if (!list.some((p) => p.topic === SEQUENCED)) return;
      owned = false;
      core = undefined;
      stale = true;
    },
    punctuation: o.tickMs > 0 ? {
      everyMs: o.tickMs,
      async punctuate(nowMs) {
        const due = owned && core && !stale ? core.nextDueAt() : null;
        if (due === null || nowMs * 1000 < due) return;
        await ticks.write(nowMs * 1000).catch((err: unknown) => log.error({ err }, 'tick record not written'));
      },
    } : undefined,
    async close() { await ticks.close(); },
  };
}
