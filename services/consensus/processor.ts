// The consensus service's processor. Votes and deadline records arrive on one partition per
// session; the round decides at whichever comes first in that partition. The deadline is written
// by a timer here (the wall clock only chooses when to write it; its place in the log decides),
// and every instance that sees a round open may write one: the first one counts.
import type { VoteDeadlinePassed } from '../../schemas/generated/events';
import type { EventCodec } from '../runtime/codec';
import type { LogRestoreDeps } from '../runtime/partition-states';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import type { Producer } from '../runtime/kafka/types';
import type { Logger } from '../runtime/logger';
import { isOneOf, type Emit, type EventValidator, type Processor } from '../runtime/processor';
import { derivedEventId } from '../runtime/ids';
import { ConsensusCore, PRODUCER, roundKey, type ConsensusInput } from './core';

const VOTES = 'solver.verifications';
export const CONSENSUS_INPUT_TYPES = ['VerifierVoteCast', 'VoteDeadlinePassed'] as const satisfies ReadonlyArray<ConsensusInput['type']>;
const isConsensusInput = isOneOf(CONSENSUS_INPUT_TYPES);

export interface ConsensusProcessorOptions extends LogRestoreDeps {
  readonly logger: Logger;
  readonly groups: number;
  readonly windowMs: number;
  readonly producer: () => Promise<Producer>;
}

export function consensusProcessor(o: ConsensusProcessorOptions): Processor<ConsensusInput['type']> {
  const held = new Map<number, ConsensusCore>();
  const stale = new Set<number>();
  const timers = new Map<string, NodeJS.Timeout>();
  const log = o.logger.child({ component: 'consensus' });
  let producer: Promise<Producer> | undefined;
  let seq = 0;

  function armDeadline(sessionId: string, iteration: number): void {
    const key = roundKey(sessionId, iteration);
    if (timers.has(key)) return;
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      const ev: VoteDeadlinePassed = {
        type: 'VoteDeadlinePassed',
        meta: { event_id: derivedEventId(key, `deadline:${process.pid}:${Date.now()}:${seq++}`), correlation_id: sessionId, causation_id: null, occurred_at: Date.now() * 1000, producer: PRODUCER, sequence: iteration },
        session_id: sessionId, iteration, window_ms: o.windowMs,
      };
      const topic = o.topicPrefix + VOTES;
      (producer ??= o.producer())
        .then(async (p) => p.send([{ topic, key: sessionId, value: await o.codec.encode(topic, ev) }]))
        .catch((err: unknown) => log.error({ err, sessionId, iteration }, 'deadline record not written'));
    }, o.windowMs));
  }

  async function restore(partition: number): Promise<ConsensusCore> {
    const core = new ConsensusCore(partition, o.groups);
    const topic = o.topicPrefix + VOTES;
    const to = (await committedOffsets(o.brokers, o.groupId, [{ topic, partition }])).get(`${topic}/${partition}`) ?? -1;
    if (to > 0) {
      for (const r of await readLog(o.brokers, o.codec, [{ topic, partition, from: 0, to }])) {
        if (isConsensusInput(r.event) && !(o.validate && o.validate(r.event, r.timestampMs).length > 0)) core.fold(r.event);
      }
    }
    for (const r of core.open()) armDeadline(r.sessionId, r.iteration);
    held.set(partition, core);
    stale.delete(partition);
    return core;
  }

  const coreFor = (p: number) => (held.has(p) && !stale.has(p) ? Promise.resolve(held.get(p)!) : restore(p));

  function handleWith(core: ConsensusCore, e: ConsensusInput): Emit[] {
    const { out, opened } = core.fold(e);
    if (opened) armDeadline(e.session_id, e.iteration);
    return out.map((x) => ({ topic: VOTES, key: x.session_id, event: x }));
  }

  return {
    name: 'consensus',
    inputs: [VOTES],
    accepts: CONSENSUS_INPUT_TYPES,
    handle(event, ctx) {
      const h = held.get(ctx.partition);
      if (h && !stale.has(ctx.partition)) return handleWith(h, event);
      return coreFor(ctx.partition).then((core) => handleWith(core, event));
    },
    onAbort() { for (const p of held.keys()) stale.add(p); },
    async onAssigned(list) { for (const p of new Set(list.map((x) => x.partition))) await coreFor(p); },
    onRevoked(list) { for (const p of new Set(list.map((x) => x.partition))) { held.delete(p); stale.delete(p); } },
    async close() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      if (producer) await (await producer).close();
    },
  };
}

