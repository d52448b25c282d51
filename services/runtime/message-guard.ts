// Signed inputs (seed 002 §9.1 "recipient verifies before processing", §9.2 abuse): a processor
// wrapped so that every heartbeat, ack or vote on the topics it verifies is checked before the
// processor sees it. A forged, unsigned (signing required), replayed or throttled message is never
// handed on: it is dead-lettered with the reason, and a HASH_MISMATCH ConflictReported naming the
// claimed sender (with the evidence) goes out in the same transaction. The last sequence per
// sender and the rate windows are per input partition, in its order, taken back when a batch
// aborts. On assignment the last sequences are read back from the partition's log (what this
// processor accepted below its committed offset: runtime/last-seen-restore.ts), so a replay of a
// message sent before a restart or a rebalance is still refused; the rate windows start empty.
import type avro from 'avsc';
import type { EventType } from '../../schemas/generated/events';
import { stepAbuse, RATE_WINDOW_US, type SenderRate } from '../identity/abuse';
import { canonicalBody, canonicalOfFramed, senderOf, type SignedEvent } from '../identity/canonical';
import { verifyBytes } from '../identity/ed25519';
import { KeySource, type KeyBookReader } from '../identity/key-source';
import { refusalReport, throttleWitness, timingWitness, type Refused } from '../identity/reports';
import { judge, type LastSeen, type Verdict } from '../identity/verdict';
import type { EventCodec } from './codec';
import type { RuntimeConfig } from './config';
import { RecordRefused, type ErrorCode } from './errors';
import type { Logger } from './logger';
import type { Emit, Processor, RecordContext } from './processor';
import { readLastSeen, type LastSeenRestoreFn } from './last-seen-restore';

export interface GuardOptions {
  /** null: signatures are not checked (MESH_SIGNING=off); abuse detection still runs. */
  readonly keys: KeyBookReader | null;
  /** Logical input topic -> the signed event type verified there; other records pass untouched. */
  readonly verify: Readonly<Record<string, SignedEvent['type']>>;
  readonly typeOf: (type: SignedEvent['type']) => avro.Type;
  readonly producer: string;
  /** Own-key forgeries are also copied here, keyed by the sender (mesh.agent-acks: its fold quarantines it). */
  readonly ownKeyCopies?: string;
  /** Heartbeat rate limiting and timing witnesses (identity/abuse.ts). */
  readonly abuse?: boolean;
  /** Reads back the last sequences of assigned partitions; without it they start empty. */
  readonly restoreLastSeen?: LastSeenRestoreFn;
}

export const CONFLICTS = 'mesh.conflicts';
export const WITNESSES = 'mesh.witnesses';

type Undo = () => void;

export function guarded<T extends EventType>(p: Processor<T>, o: GuardOptions): Processor<T> {
  const seqs = new Map<string, Map<string, LastSeen>>();
  const rates = new Map<string, Map<string, SenderRate>>();
  const undo = new Map<string, Undo[]>();
  const partOf = (topic: string, partition: number) => `${topic}/${partition}`;
  const mapIn = <V>(m: Map<string, Map<string, V>>, part: string) => { let x = m.get(part); if (!x) m.set(part, x = new Map()); return x; };

  function put<V>(m: Map<string, Map<string, V>>, part: string, sender: string, v: V): void {
    const xs = mapIn(m, part);
    const had = xs.has(sender);
    const prev = xs.get(sender);
    let u = undo.get(part);
    if (!u) undo.set(part, u = []);
    u.push(() => { if (had) xs.set(sender, prev!); else xs.delete(sender); });
    xs.set(sender, v);
  }

  function canonical(e: SignedEvent, ctx: RecordContext): Buffer {
    const raw = ctx.value;
    return (raw && e.signature ? canonicalOfFramed(raw, e.signature) : undefined) ?? canonicalBody(o.typeOf(e.type), e);
  }

  function check(e: SignedEvent, ctx: RecordContext, part: string): Verdict | Promise<Verdict> {
    const keys = o.keys;
    if (!keys) return { ok: true, seq: null };
    const sender = senderOf(e);
    const claim = { sender, atUs: e.meta.occurred_at, seq: e.sender_seq, signature: e.signature };
    const sigValid = (pub: Uint8Array) => verifyBytes(pub, canonical(e, ctx), e.signature!.sig);
    const run = () => judge(claim, keys.book(), seqs.get(part)?.get(sender), true, sigValid);
    const v = run();
    if (v.ok || v.reason !== 'UNKNOWN_KEY') return v;
    const fresh = keys.refreshFor(ctx.timestampMs);
    return fresh ? fresh.then(run) : v;
  }

  function refuse(e: SignedEvent, ctx: RecordContext, r: Refused, extra: readonly Emit[] = []): never {
    const report = refusalReport(e, r, { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset }, o.producer);
    const emits: Emit[] = [{ topic: CONFLICTS, key: report.conflict_id, event: report }];
    if (r.ownKey && o.ownKeyCopies) emits.push({ topic: o.ownKeyCopies, key: report.agent_id, event: report });
    throw new RecordRefused(r.reason as ErrorCode, r.detail, [...emits, ...extra]);
  }

  function accepted(e: SignedEvent, ctx: RecordContext, part: string, v: Verdict) {
    if (!v.ok) return refuse(e, ctx, v);
    const sender = senderOf(e);
    if (v.seq !== null) {
      const last = seqs.get(part)?.get(sender);
      put(seqs, part, sender, { seq: v.seq, atUs: Math.max(last?.atUs ?? -Infinity, e.meta.occurred_at) });
    }
    const extra: Emit[] = [];
    if (o.abuse && e.type === 'HeartbeatReceived') {
      const step = stepAbuse(rates.get(part)?.get(sender), e.meta.occurred_at, e.received_at);
      put(rates, part, sender, step.state);
      if (step.timing) extra.push({ topic: WITNESSES, key: sender, event: timingWitness(e, step.timing) });
      if (step.rate.kind === 'throttle') {
        const { limit, baseline, first } = step.rate;
        const witness: Emit[] = first ? [{ topic: WITNESSES, key: sender, event: throttleWitness(e, limit, baseline, RATE_WINDOW_US) }] : [];
        throw new RecordRefused('THROTTLED', `${sender} sent more than ${limit} heartbeats in its ${RATE_WINDOW_US / 1e6} s window (10x its baseline ${baseline.toFixed(3)}/s)`, [...witness, ...extra]);
      }
    }
    const out = p.handle(e as Parameters<Processor<T>['handle']>[0], ctx);
    if (extra.length === 0) return out;
    return out instanceof Promise ? out.then((xs) => [...xs, ...extra]) : [...out, ...extra];
  }

  return {
    ...p,
    handle(event, ctx) {
      const type = o.verify[ctx.topic];
      if (type === undefined || event.type !== type) return p.handle(event, ctx);
      const e = event as unknown as SignedEvent;
      const part = partOf(ctx.topic, ctx.partition);
      const v = check(e, ctx, part);
      return v instanceof Promise ? v.then((x) => accepted(e, ctx, part, x)) : accepted(e, ctx, part, v);
    },
    async onAbort() {
      for (const us of undo.values()) for (let i = us.length - 1; i >= 0; i--) us[i]!();
      undo.clear();
      await p.onAbort?.();
    },
    onCommitted(batch) {
      undo.delete(partOf(batch.topic, batch.partition));
      p.onCommitted?.(batch);
    },
    async onAssigned(list) {
      const parts = list.flatMap((x) => (o.verify[x.topic] !== undefined ? [{ ...x, type: o.verify[x.topic]! }] : []));
      if (o.keys && o.restoreLastSeen && parts.length > 0) {
        for (const [k, book] of await o.restoreLastSeen(parts)) { seqs.set(k, book); undo.delete(k); }
      }
      await p.onAssigned?.(list);
    },
    async onRevoked(list) {
      for (const x of list) { const k = partOf(x.topic, x.partition); seqs.delete(k); rates.delete(k); undo.delete(k); }
      await p.onRevoked?.(list);
    },
  };
}

export interface ServiceGuardOptions {
  readonly config: Pick<RuntimeConfig, 'meshSigning' | 'keysPollMs' | 'kafkaBrokers' | 'topicPrefix'>;
  readonly codec: EventCodec;
  readonly logger: Logger;
  readonly verify: GuardOptions['verify'];
  readonly producer: string;
  readonly ownKeyCopies?: string;
  readonly abuse?: boolean;
  /** The processor's consumer group: its committed offsets bound what is read back on assignment. */
  readonly groupId?: string;
}

/** A service's processor behind the guard, with its key book read first (MESH_SIGNING=required). */
export async function withMessageGuard<T extends EventType>(p: Processor<T>, o: ServiceGuardOptions): Promise<Processor<T>> {
  const keys = o.config.meshSigning === 'required'
    ? new KeySource({ brokers: o.config.kafkaBrokers, codec: o.codec, topicPrefix: o.config.topicPrefix, logger: o.logger.child({ component: 'keys' }), pollMs: o.config.keysPollMs })
    : null;
  await keys?.start();
  const g = guarded(p, {
    keys, verify: o.verify, typeOf: (type) => o.codec.eventSchema(type).type, producer: o.producer,
    ...(o.ownKeyCopies ? { ownKeyCopies: o.ownKeyCopies } : {}), ...(o.abuse ? { abuse: true } : {}),
    ...(o.groupId ? { restoreLastSeen: readLastSeen({ brokers: o.config.kafkaBrokers, codec: o.codec, topicPrefix: o.config.topicPrefix, groupId: o.groupId }, p.name) } : {}),
  });
  return { ...g, async close() { keys?.stop(); await p.close?.(); } };
}

/** The processor's outputs with `sign` applied (a verifier group signs its votes as they leave). */
export function signedOutputs<T extends EventType>(p: Processor<T>, sign: (e: Emit['event']) => Emit['event']): Processor<T> {
  const all = (xs: readonly Emit[]): Emit[] => xs.map((x) => ({ ...x, event: sign(x.event) }));
  const flush = p.flush;
  return {
    ...p,
    handle(event, ctx) {
      const out = p.handle(event, ctx);
      return out instanceof Promise ? out.then(all) : all(out);
    },
    ...(flush ? { flush: async () => all(await flush.call(p)) } : {}),
  };
}
