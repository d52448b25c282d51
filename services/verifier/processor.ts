// The verifier service's processor: per input partition a VerifierCore, rebuilt on assignment
// from the committed inputs (restore.ts); its outputs commit with the offsets that caused them.
import type { DecodedEvent } from '../runtime/codec';
import type { Logger } from '../runtime/logger';
import type { Emit, Processor, RecordContext } from '../runtime/processor';
import type { SolutionPublished } from '../../schemas/generated/events';
import type { SolverEvent } from '../solver/domain';
import type { Emitted } from './check';
import type { VerifierCore } from './core';

export const INPUTS = ['solver.sessions', 'solver.costs', 'solver.solutions'] as const;
/** Every type on the inputs: the core tracks how far each partition was read, whatever the record. */
export const HANDLED: ReadonlySet<string> = new Set([
  'SessionOpened', 'MatrixChunkAppended', 'SessionClosed', 'CostUpdated', 'CorrectionRequested', 'VerificationRequested', 'IterationSliceGranted', 'SolutionPublished',
]);

export interface VerifierProcessorOptions {
  readonly name: string;
  readonly logger: Logger;
  /** A fresh core for a partition, with the committed inputs folded in. */
  readonly restore: (partition: number) => Promise<VerifierCore>;
}

export const toEmits = (out: readonly Emitted[]): Emit[] =>
  out.map((o) => ({ topic: o.topic, key: o.event.session_id, event: o.event as unknown as DecodedEvent }));

export function verifierProcessor(o: VerifierProcessorOptions): Processor {
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

  const handleWith = (core: VerifierCore, event: DecodedEvent, ctx: RecordContext): Emit[] =>
    toEmits(core.fold(event as unknown as SolverEvent | SolutionPublished, { topic: ctx.topic, offset: Number(ctx.offset) }));

  return {
    name: o.name,
    inputs: INPUTS,
    handles: (type) => HANDLED.has(type),
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
