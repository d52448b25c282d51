// Several processors as one, for a service whose concerns each have their own processor (the
// coordinator: conflict intake, dispatch, gather). Records go to the processor that reads their
// topic and accepts their type; partition hooks go to the processors of the partitions' topics;
// every batch still commits in one transaction, whichever processor handled it.
import type { EventType } from '../../schemas/generated/events';
import type { Emit, Processor } from './processor';

export function combineProcessors(name: string, parts: readonly Processor[]): Processor {
  const byTopic = new Map<string, Processor[]>();
  for (const p of parts) for (const t of p.inputs) byTopic.set(t, [...(byTopic.get(t) ?? []), p]);
  const of = (topic: string) => byTopic.get(topic) ?? [];
  const forTopics = async (list: ReadonlyArray<{ topic: string; partition: number }>, hook: 'onAssigned' | 'onRevoked') => {
    for (const p of parts) {
      const mine = list.filter((x) => p.inputs.includes(x.topic));
      if (mine.length > 0) await p[hook]?.(mine);
    }
  };
  const flushes = parts.filter((p) => p.flush);
  return {
    name,
    inputs: [...byTopic.keys()],
    accepts: [...new Set(parts.flatMap((p) => p.accepts))] as EventType[],
    handle(event, ctx) {
      const targets = of(ctx.topic).filter((p) => p.accepts.includes(event.type));
      if (targets.length === 0) return [];
      if (targets.length === 1) return targets[0]!.handle(event, ctx);
      return Promise.all(targets.map((p) => p.handle(event, ctx))).then((outs) => outs.flat());
    },
    ...(flushes.length > 0 ? { async flush() { const out: Emit[] = []; for (const p of flushes) out.push(...await p.flush!()); return out; } } : {}),
    async onAbort() { for (const p of parts) await p.onAbort?.(); },
    onCommitted(batch) { for (const p of of(batch.topic)) p.onCommitted?.(batch); },
    onAssigned: (list) => forTopics(list, 'onAssigned'),
    onRevoked: (list) => forTopics(list, 'onRevoked'),
    async close() { for (const p of parts) await p.close?.(); },
  };
}
