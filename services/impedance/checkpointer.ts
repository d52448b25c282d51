// The changelog checkpointer: the folds' state on the compacted mesh.impedance, and what a new
// owner of a partition reads back.
// - A checkpoint every `checkpointMs` (at the end of the log too: each agent heartbeats every
//   5 s, so a 10 s checkpoint carries one entry for two heartbeats) is one ImpedanceUpdated per
//   agent changed since the last one, in the batch's transaction, all naming how far each input
//   was folded: `applied_through` (the partition's last heartbeat offset) and
//   `acks_applied_through` (its last mesh.agent-acks offset). The rdkafka engine commits every
//   batch of a consume in one transaction (a partition's heartbeats, then its agent-acks): the
//   checkpoint is done only at that commit, so a later batch of the same transaction writes the
//   entries that changed since, not the same ones again.
// - A new owner restores the latest entries and folds each input again after its checkpoint
//   offset (tailAfter) up to where the group committed, without emitting anything: the previous
//   owner committed those outputs already. It does so at assignment when it can read the
//   group's offsets, else before the partition's first record. The fold does not depend on how
//   the two inputs interleave, so the tails are replayed one after the other.
import type { Logger } from 'pino';
import type { AckReceived, ConflictReported, HeartbeatReceived, ImpedanceUpdated, MeshHealRequested } from '../../schemas/generated/events';
import type { TopicName } from '../../topics/catalog';
import type { Emit } from '../runtime/processor';
import { fromImpedanceUpdated, toImpedanceUpdated } from './agent-fold';
import { PartitionFold } from './partition-fold';

const CHANGELOG: TopicName = 'mesh.impedance';

export type RestoreFn = (partitions: readonly number[]) => Promise<Map<number, Map<string, ImpedanceUpdated>>>;
/** Heartbeats of a mesh.heartbeats partition at offsets [from, to), valid ones only, in order. */
export type ReadTailFn = (partition: number, from: bigint, to: bigint) => Promise<HeartbeatReceived[]>;
/** Acks of a mesh.agent-acks partition at offsets [from, to), valid ones only, with their offsets. */
export type ReadAckTailFn = (partition: number, from: bigint, to: bigint) => Promise<Array<{ readonly ack: AckReceived | MeshHealRequested | ConflictReported; readonly offset: number }>>;
/** The group's committed offsets of an input's partitions. */
export type CommittedFn = (partitions: readonly number[]) => Promise<Map<number, bigint>>;

/** The inputs folded into a partition, by the checkpoint field that says how far. */
export type Input = 'heartbeats' | 'acks';
const THROUGH = { heartbeats: 'applied_through', acks: 'acks_applied_through' } as const satisfies Record<Input, keyof ImpedanceUpdated>;

/**
 * Where the replay of `input` starts: after the highest offset the entries say it was folded
 * through, from the start with no entries at all (a crash before the first checkpoint), nowhere
 * for entries written before that input was checkpointed (a producer that wrote every agent
 * every batch, or before acks were folded per agent).
 */
export function tailAfter(entries: readonly ImpedanceUpdated[], input: Input): bigint | undefined {
  if (entries.length === 0) return 0n;
  const field = THROUGH[input];
  let through: number | undefined;
  for (const e of entries) {
    const t = e[field];
    if (t != null && (through === undefined || t > through)) through = t;
  }
  return through === undefined ? undefined : BigInt(through) + 1n;
}

/** Where the checkpointer is with one partition. */
export interface ChangelogCursor {
  /** The partition's last heartbeat folded: the next checkpoint's applied_through. */
  heartbeatsThrough: number;
  lastCheckpoint: number;
  /** The uncommitted batch carries a checkpoint. */
  checkpointing: boolean;
  /**
   * The event id of each entry the uncommitted transaction carries, by agent: a transaction may
   * carry several batches of the partition (its heartbeats, then its agent-acks), and a later one
   * writes only the entries that differ.
   */
  readonly written: Map<string, string>;
  /** From assignment until replayed: the first offset of each input the checkpoint does not cover. */
  readonly tails: Record<Input, bigint | undefined>;
}

/** What the checkpointer needs of an owned partition. */
export interface Checkpointed {
  readonly partition: number;
  readonly fold: PartitionFold;
  readonly changelog: ChangelogCursor;
}

/** An input a new owner folds again: its records in [from, to) read and folded, and the group's offsets. */
export interface TailSource {
  fold(fold: PartitionFold, partition: number, from: bigint, to: bigint): Promise<number>;
  readonly committed?: CommittedFn | undefined;
}

export function heartbeatTail(read: ReadTailFn, committed?: CommittedFn): TailSource {
  return {
    committed,
    async fold(fold, p, from, to) {
      const beats = await read(p, from, to);
      for (const hb of beats) fold.apply(hb);
      return beats.length;
    },
  };
}

export function ackTail(read: ReadAckTailFn, committed?: CommittedFn): TailSource {
  return {
    committed,
    async fold(fold, p, from, to) {
      const acks = await read(p, from, to);
      for (const a of acks) {
        if (a.ack.type === 'AckReceived') fold.applyAck(a.ack, a.offset);
        else if (a.ack.type === 'ConflictReported') fold.applyOffence(a.ack, a.offset);
        else fold.applyHeal(a.ack, a.offset);
      }
      return acks.length;
    },
  };
}

export interface CheckpointerOptions {
  readonly restore: RestoreFn;
  /** An input without a source is not replayed (its tail is dropped). */
  readonly tails: Partial<Record<Input, TailSource>>;
  /** Time between checkpoints (0: every batch). It bounds the records a new owner replays. */
  readonly checkpointMs: number;
  readonly log: Logger;
  /** The restored folds' budget of agents with held acks (PartitionFold's default without it). */
  readonly maxPendingAckAgents?: number | undefined;
}

export interface Checkpointer {
  /** A partition's cursor with nothing to replay (a record before its assignment). */
  cursor(nowMs: number): ChangelogCursor;
  /** The partitions' folds from their latest changelog entries; keeps trying while the changelog cannot be read. */
  restore(partitions: readonly number[], nowMs: number): Promise<Array<{ readonly fold: PartitionFold; readonly changelog: ChangelogCursor }>>;
  /** At assignment: the tails up to the group's committed offsets, so an idle partition is complete too. */
  replayCommitted(x: Checkpointed): Promise<void>;
  /** Before the first record of `input` at `offset`: its tail up to there. */
  replayBefore(x: Checkpointed, input: Input, offset: bigint): Promise<void>;
  /** Whether the partition's batch ending now carries a checkpoint. */
  due(x: Checkpointed, nowMs: number): boolean;
  /** The checkpoint entries of the partition's batch. */
  checkpoint(x: Checkpointed): Emit[];
  committed(x: Checkpointed, nowMs: number): void;
  aborted(x: Checkpointed): void;
}

export function createCheckpointer(o: CheckpointerOptions): Checkpointer {
  const { log, checkpointMs } = o;

  async function replay(x: Checkpointed, input: Input, upTo: bigint): Promise<void> {
    const from = x.changelog.tails[input];
    const source = o.tails[input];
    if (from !== undefined && source && upTo > from) {
      const n = await source.fold(x.fold, x.partition, from, upTo);
      if (input === 'heartbeats') x.fold.heartbeatsFolded(Number(upTo) - 1);
      x.fold.commit();
      if (input === 'heartbeats') x.changelog.heartbeatsThrough = Number(upTo) - 1;
      log.info({ partition: x.partition, input, from: String(from), to: String(upTo), records: n }, 'replayed the records after the checkpoint');
    }
    x.changelog.tails[input] = undefined;
  }

  return {
    cursor: (nowMs) => ({ heartbeatsThrough: -1, lastCheckpoint: nowMs, checkpointing: false, written: new Map(), tails: { heartbeats: undefined, acks: undefined } }),

    async restore(partitions, nowMs) {
      const restored = await restoreWithRetry(o.restore, partitions, log);
      return partitions.map((p) => {
        const entries = [...(restored.get(p)?.values() ?? [])];
        const tails = { heartbeats: tailAfter(entries, 'heartbeats'), acks: tailAfter(entries, 'acks') };
        const fold = new PartitionFold(o.maxPendingAckAgents);
        const heartbeatsThrough = tails.heartbeats === undefined ? -1 : Number(tails.heartbeats) - 1;
        fold.restore(entries.map(fromImpedanceUpdated), tails.acks === undefined ? -1 : Number(tails.acks) - 1, heartbeatsThrough);
        return { fold, changelog: { heartbeatsThrough, lastCheckpoint: nowMs, checkpointing: false, written: new Map(), tails } };
      });
    },

    async replayCommitted(x) {
      try {
        for (const input of ['heartbeats', 'acks'] as const) {
          const from = x.changelog.tails[input];
          const committed = o.tails[input]?.committed;
          if (from === undefined || !committed) continue;
          const to = (await committed([x.partition])).get(x.partition) ?? -1n;
          if (to <= from) continue;
          await replay(x, input, to);
          x.changelog.tails[input] = to; // a zombie's last commit may still land: the first record covers it
        }
      } catch (err) {
        log.warn({ partition: x.partition, err: (err as Error).message }, 'tail replay deferred to the first record');
      }
    },

    replayBefore: (x, input, offset) => replay(x, input, offset),

    due: (x, t) => t - x.changelog.lastCheckpoint >= checkpointMs,

    checkpoint({ fold, changelog: c }) {
      if (fold.changelogDirtyCount === 0) return [];
      c.checkpointing = true;
      const through = c.heartbeatsThrough;
      const acksThrough = fold.acksAppliedThrough();
      const out: Emit[] = [];
      for (const a of fold.changelogAgents()) {
        const event = toImpedanceUpdated(a, through, acksThrough);
        if (c.written.get(a.agentId) === event.meta.event_id) continue;
        c.written.set(a.agentId, event.meta.event_id);
        out.push({ topic: CHANGELOG, key: a.agentId, event });
      }
      return out;
    },

    committed({ fold, changelog: c }, t) {
      if (!c.checkpointing) return;
      fold.checkpointed();
      c.checkpointing = false;
      c.written.clear();
      c.lastCheckpoint = t;
    },

    aborted(x) { x.changelog.checkpointing = false; x.changelog.written.clear(); },
  };
}

async function restoreWithRetry(restore: RestoreFn, parts: readonly number[], log: Logger): Promise<Map<number, Map<string, ImpedanceUpdated>>> {
  // Serving without the restored state would fold heartbeats into empty agents: keep trying.
  for (let attempt = 1; ; attempt++) {
    try {
      return await restore(parts);
    } catch (err) {
      log.warn({ attempt, err: (err as Error).message }, 'changelog restore failed; retrying');
      await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** attempt)));
    }
  }
}
