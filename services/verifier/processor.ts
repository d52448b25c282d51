// The verifier service's processor: per input partition a VerifierCore, rebuilt on assignment
// from the committed inputs (restore.ts); its outputs commit with the offsets that caused them.
import type { Logger } from '../runtime/logger';
import type { Emit, Processor, RecordContext } from '../runtime/processor';
import { SOLVER_INPUT_TYPES } from '../solver/processor';
import type { Emitted } from './check';
import type { VerifierCore, VerifierInput } from './core';

export const INPUTS = ['solver.sessions', 'solver.costs', 'solver.solutions'] as const;
/** Every type on the inputs: the core tracks how far each partition was read, whatever the record. */
export const VERIFIER_INPUT_TYPES = [...SOLVER_INPUT_TYPES, 'SolutionPublished'] as const satisfies ReadonlyArray<VerifierInput['type']>;

export interface VerifierProcessorOptions {
  readonly name: string;
  readonly logger: Logger;
  /** A fresh core for a partition, with the committed inputs folded in. */
  readonly restore: (partition: number) => Promise<VerifierCore>;
}

export const toEmits = (out: readonly Emitted[]): Emit[] =>
  out.map((o) => ({ topic: o.topic, key: o.event.session_id, event: o.event }));

export function verifierProcessor(o: VerifierProcessorOptions): Processor<VerifierInput['type']> {
  const held = new Map<number, VerifierCore>();
  const stale = new Set<number>();
  const log = o.logger.child({ component: 'verifier' });

  async function coreFor(partition: number): Promise<VerifierCore> {
    const h = held.get(partition);
    if (h && !stale.has(partition)) return h;
    h?.free();
    const t0 = Date.now();
    const core = await o.restore(partition);
    held.set(partition, core);
    stale.delete(partition);
    log.info({ partition, sessions: core.replica.sessions.size, folded: core.folded, ms: Date.now() - t0 }, 'partition restored');
    return core;
  }

  const handleWith = (core: VerifierCore, event: VerifierInput, ctx: RecordContext): Emit[] =>
    toEmits(core.fold(event, { topic: ctx.topic, offset: Number(ctx.offset) }));

  return {
    name: o.name,
    inputs: INPUTS,
    accepts: VERIFIER_INPUT_TYPES,
    handle(event, ctx) {
      const h = held.get(ctx.partition);
      if (h && !stale.has(ctx.partition)) return handleWith(h, event, ctx);
      return coreFor(ctx.partition).then((core) => handleWith(core, event, ctx));
    },
    onAbort() {
      // State folded from a batch that did not commit: rebuilt from the log before the next record.
      for (const p of held.keys()) stale.add(p);
    },
    async onAssigned(list) {
      for (const p of new Set(list.map((x) => x.partition))) if (!held.has(p) || stale.has(p)) await coreFor(p);
    },
    onRevoked(list) {
      for (const p of new Set(list.map((x) => x.partition))) { held.get(p)?.free(); held.delete(p); stale.delete(p); }
    },
    async close() {
      for (const c of held.values()) c.free();
      held.clear();
    },
  };
}
