// Rebuilds one partition's VerifierCore from the log: every committed input of the group, folded
// as the processor folded it, its outputs (committed already) dropped. The checks do not depend
// on how the topics interleave (core.ts), so merging them by timestamp rebuilds the same state.
import type { EventCodec } from '../runtime/codec';
import { committedOffsets, readLog } from '../runtime/kafka/log-reader';
import { isOneOf, type EventValidator } from '../runtime/processor';
import { mergeByTime } from '../solver/restore';
import type { VerifierCore } from './core';
import { INPUTS, VERIFIER_INPUT_TYPES } from './processor';

const isVerifierInput = isOneOf(VERIFIER_INPUT_TYPES);

export interface VerifierRestoreOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly validate?: EventValidator;
}

export async function restoreVerifier(o: VerifierRestoreOptions, core: VerifierCore): Promise<VerifierCore> {
  const p = core.partition;
  const committed = await committedOffsets(o.brokers, o.groupId, INPUTS.map((t) => ({ topic: o.topicPrefix + t, partition: p })));
  const lists = await Promise.all(INPUTS.map(async (t) => {
    const to = committed.get(`${o.topicPrefix + t}/${p}`) ?? -1;
    return to <= 0 ? [] : readLog(o.brokers, o.codec, [{ topic: o.topicPrefix + t, partition: p, from: 0, to }]);
  }));
  for (const r of mergeByTime(lists)) {
    const e = r.event;
    if (!isVerifierInput(e) || (o.validate && o.validate(e, r.timestampMs).length > 0)) continue;
    core.fold(e, { topic: r.topic.slice(o.topicPrefix.length), offset: r.offset });
  }
  return core;
}
