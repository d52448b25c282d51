// The registry projection writer: the folds' agents into Redis (revision-guarded, idempotent
// writes, so a write may be repeated or reordered), coalesced over time rather than per batch.
// At 30,000 agents a batch holds thousands of distinct agents, so writing each changed agent
// every batch costs as much as the heartbeats themselves.
// - A partition is written at most every `registryLagMs` (seed 002: the registry may lag up to
//   1 s), and at once when the service is at the end of the log (the batch's last record is
//   younger than `caughtUpMs`: in a live mesh every partition gets heartbeats all the time).
// - A service catching up on a backlog B behind the live edge serves a registry at least B old
//   whatever it does, so it writes every B / 10 instead (registryInterval), up to one write per
//   checkpoint: the interval adds at most a tenth to the staleness the backlog causes, and a
//   30,000-agent mesh replayed at 16x real time is not written 30,000 agents a second (the
//   sorted-set updates alone cost Redis ~12 µs per agent, a core's worth at 100,000 heartbeats/s).
//   In between, the agents' summary entries alone are written every `registryLagMs`: the 5 s
//   summaries read them, and judge an agent silent for 30 s of event time offline, which a
//   backlog replayed at 16x would make every agent after 2 s of wall time.
// - The punctuation applies the same interval to partitions that get no batch, and writes every
//   pending change once the service has had no batch for `idleWriteMs` (the end of a backlog),
//   so the registry never waits for the next heartbeat.
// Writes are started, not awaited: Redis works while the next batch is decoded. Only a
// checkpoint waits for them (settle): it promises the registry holds at least its state.
import type { Logger } from 'pino';
import type { AgentState } from './agent-fold';
import type { ImpedanceMetrics } from './metrics';
import type { PartitionFold } from './partition-fold';
import type { RegistryStore } from './registry-store';
import type { StructuralEmitter } from '../runtime/structural';

/** A backlog's share of staleness the registry write interval may add while catching up. */
const CATCH_UP_WRITE_SHARE = 0.1;

/**
 * Time between registry writes of a partition whose last record is `behindMs` old: `lagMs` near
 * the live edge, a tenth of the backlog further behind, never longer than the checkpoint
 * interval (a checkpoint writes the registry anyway).
 */
export function registryInterval(behindMs: number, lagMs: number, checkpointMs: number): number {
  return Math.min(Math.max(lagMs, behindMs * CATCH_UP_WRITE_SHARE), Math.max(lagMs, checkpointMs));
}

/** Where the writer is with one partition. */
export interface RegistryCursor {
  /** Kafka timestamp (ms) of the partition's latest record: how far behind the live edge it is. */
  lastRecordMs: number;
  lastWrite: number;
  /** When the summary entries alone were last written (or with a full write). */
  lastSummaryWrite: number;
  /** When the partition's last batch was flushed. */
  lastFlush: number;
  /** Writes under way (never rejects). */
  inflight: Promise<void>;
  /** Writes started and not yet settled. */
  writing: number;
  /** Agents a failed write left. */
  readonly unwritten: Set<string>;
  /** Redis lost the partition: every agent is written again. */
  rebuild: boolean;
  /** The fold's watermark (µs) when the last write that succeeded started: Redis's summary entries are at least that far. */
  entriesThroughUs: number;
}

/** What the writer needs of an owned partition. */
export interface Projected {
  readonly partition: number;
  readonly fold: PartitionFold;
  readonly registry: RegistryCursor;
}

export interface RegistryWriterOptions {
  readonly store: RegistryStore;
  readonly metrics: ImpedanceMetrics;
  readonly log: Logger;
  readonly registryLagMs: number;
  readonly checkpointMs: number;
  readonly caughtUpMs: number;
  readonly idleWriteMs: number;
  /** When the service started: it is not quiet before it had the chance of a batch. */
  readonly startMs: number;
  /** Reports a registry write that took longer than SLOW_REDIS_WRITE_MS (runtime/structural.ts). */
  readonly structural?: StructuralEmitter;
}

/** A write of one chunk (up to 2000 agents, one Lua call) slower than this is a structural event: Redis runs scripts alone, so others waited as long. */
export const SLOW_REDIS_WRITE_MS = 500;

export interface RegistryWriter {
  cursor(nowMs: number): RegistryCursor;
  /** After a partition's batch: a full write, the summary entries alone, or nothing yet. */
  batchFlushed(x: Projected, nowMs: number, checkpointDue: boolean): void;
  /** The end of a flush (every partition of the batch): the service is not quiet. */
  flushEnded(nowMs: number): void;
  /** Waits for the partition's writes; then the registry holds its fold (or this throws). */
  settle(x: Projected): Promise<void>;
  /** A partition just restored: what its tail replay changed, or all of it when Redis lost it. */
  restored(x: Projected): Promise<void>;
  /**
   * Writes the pending changes of partitions not `busy` (in a batch, or its transaction): all of
   * them once the service is quiet, else those that got no batch for a whole write interval (a
   * partition that gets batches is written by batchFlushed, at the latest with its checkpoint:
   * writing it here too would write each agent twice). A quiet service also retries what a
   * failed write left (Redis was down), one write at a time.
   */
  writeIdle<X extends Projected>(owned: Iterable<X>, nowMs: number, busy: (x: X) => boolean): void;
  /** Starts writing the summary entries of every owned partition's unwritten agents (before a summary). */
  writeSummaryEntries(owned: Iterable<Projected>): void;
  /** Agents whose latest state is not known to be in Redis yet. */
  backlog(owned: Iterable<Projected>): number;
  drain(owned: Iterable<Projected>): Promise<void>;
}

export function createRegistryWriter(o: RegistryWriterOptions): RegistryWriter {
  const { store, metrics, log, registryLagMs, checkpointMs, caughtUpMs, idleWriteMs } = o;
  let lastBatchAt = o.startMs;

  /**
   * Writes agents (chunks in one MULTI, with the fold's position: registry-store.ts); says
   * whether the partition's registry was built before. `rebuilt`: all the fold's agents, the
   * partition is built from here. The agents are read (encoded) before this returns: the fold
   * may reuse their states once their batch commits (PartitionFold's spares).
   */
  async function write(p: number, agents: readonly AgentState[], fold: PartitionFold, rebuilt = false): Promise<boolean> {
    // The fold's position now, and its accuracy there: the agents are its current states (they are encoded before this awaits).
    const at = { ...fold.position, accuracy: fold.accuracyCells() };
    const send = () => store.writeAgents(p, agents, at, rebuilt);
    const sent = o.structural ? o.structural.timed('redis_write_ms', SLOW_REDIS_WRITE_MS, send, `registry write of ${agents.length} agents (partition ${p})`) : send();
    metrics.registryWrites.inc({ kind: 'full' }, agents.length);
    return (await sent).built;
  }

  /**
   * Starts writing the agents changed since the last write (and those a failed write left),
   * without waiting. The writes of a partition go out in order on the one connection. A failure
   * puts the agents back in `unwritten`; checkpoints wait in settle().
   */
  function startWrite({ partition: p, fold, registry: c }: Projected): void {
    const set = new Set(c.unwritten);
    for (const a of fold.dirtyAgentsForRegistry()) set.add(a.agentId);
    fold.registryWritten();
    c.unwritten.clear();
    const wm = fold.watermarkUs;
    if (set.size === 0) { reached(c, wm, Promise.resolve()); return; }
    const ids = [...set].sort();
    const agents = ids.map((id) => fold.agents.get(id)).filter((a): a is AgentState => a !== undefined);
    c.writing++;
    const done = write(p, agents, fold).then(
      (built) => { if (!built) c.rebuild = true; },
      (err: unknown) => {
        for (const id of ids) c.unwritten.add(id);
        log.debug({ partition: p, agents: ids.length, err: (err as Error).message }, 'registry write failed; kept for the next one');
      },
    ).finally(() => { c.writing--; });
    c.inflight = Promise.all([c.inflight, done]).then(() => undefined);
    reached(c, wm, succeeded(done, ids, c));
  }

  /** The write's outcome: resolves when its agents were written (none put back in `unwritten`). */
  function succeeded(done: Promise<void>, ids: readonly string[], c: RegistryCursor): Promise<void> {
    return done.then(() => { if (ids.some((id) => c.unwritten.has(id))) throw new Error('write failed'); });
  }

  /** Once the writes under way and `ok` succeed, Redis holds the partition's entries as of `wm`. */
  function reached(c: RegistryCursor, wm: number, ok: Promise<void>): void {
    // In the inflight chain, so whoever waits for the writes (drain) sees it.
    c.inflight = Promise.all([c.inflight, ok.then(() => true, () => false)]).then(([, good]) => {
      if (good && wm > c.entriesThroughUs) c.entriesThroughUs = wm;
    });
  }

  /**
   * Starts writing the summary entries of the agents the next full write will write (they stay
   * owed to it). A failure only costs freshness: the full write carries the same entries.
   */
  function startSummaryWrite({ partition: p, fold, registry: c }: Projected): void {
    const agents = fold.dirtyAgentsForRegistry();
    for (const id of c.unwritten) { const a = fold.agents.get(id); if (a) agents.push(a); }
    const wm = fold.watermarkUs;
    if (agents.length === 0) { reached(c, wm, Promise.resolve()); return; }
    metrics.registryWrites.inc({ kind: 'summary' }, agents.length);
    // Encoded now, as write() does, with the fold's position and accuracy now.
    const sent = store.writeSummaries(agents, p, { ...fold.position, accuracy: fold.accuracyCells() }).then(() => undefined);
    const done = sent.catch((err: unknown) => { log.debug({ partition: p, agents: agents.length, err: (err as Error).message }, 'summary entries write failed; the full write carries them'); });
    c.inflight = Promise.all([c.inflight, done]).then(() => undefined);
    reached(c, wm, sent);
  }

  return {
    cursor: (nowMs) => ({
      lastRecordMs: 0, lastWrite: nowMs, lastSummaryWrite: nowMs, lastFlush: nowMs,
      inflight: Promise.resolve(), writing: 0, unwritten: new Set(), rebuild: false, entriesThroughUs: -Infinity,
    }),

    batchFlushed(x, t, checkpointDue) {
      const c = x.registry;
      c.lastFlush = t;
      const behindMs = t - c.lastRecordMs;
      if (behindMs < caughtUpMs || checkpointDue || t - c.lastWrite >= registryInterval(behindMs, registryLagMs, checkpointMs)) {
        startWrite(x);
        c.lastWrite = t;
        c.lastSummaryWrite = t;
      } else if (t - c.lastSummaryWrite >= registryLagMs) {
        startSummaryWrite(x);
        c.lastSummaryWrite = t;
      }
    },

    flushEnded(t) { lastBatchAt = t; },

    async settle({ partition: p, fold, registry: c }) {
      await c.inflight;
      if (c.unwritten.size > 0) {
        const agents = [...c.unwritten].sort().map((id) => fold.agents.get(id)).filter((a): a is AgentState => a !== undefined);
        if (!(await write(p, agents, fold))) c.rebuild = true;
        c.unwritten.clear();
      }
      if (c.rebuild) {
        const all = [...fold.agents.values()];
        await write(p, all, fold, true);
        await store.markBuilt(p);
        c.rebuild = false;
        log.info({ partition: p, agents: all.length }, 'registry rebuilt from the fold');
      }
    },

    async restored({ partition: p, fold, registry: c }) {
      try {
        const rebuild = !(await store.isBuilt(p));
        if (rebuild) fold.touchAll();
        const agents = fold.dirtyAgentsForRegistry();
        if (agents.length > 0) await write(p, agents, fold, rebuild);
        fold.registryWritten();
        c.entriesThroughUs = fold.watermarkUs;
        if (rebuild) {
          await store.markBuilt(p);
          log.info({ partition: p, agents: agents.length }, 'registry rebuilt from the changelog');
        }
      } catch (err) {
        // Redis down: the first registry write of the partition finds the marker missing and rebuilds.
        log.warn({ partition: p, err: (err as Error).message }, 'registry rebuild deferred');
      }
    },

    writeIdle(owned, t, busy) {
      const quiet = t - lastBatchAt >= idleWriteMs;
      for (const x of owned) {
        const c = x.registry;
        if (c.writing > 0 || busy(x)) continue;
        if (x.fold.dirtyCount === 0 && !(quiet && c.unwritten.size > 0)) continue;
        const interval = registryInterval(t - c.lastRecordMs, registryLagMs, checkpointMs);
        if (!quiet && (t - c.lastWrite < interval || t - c.lastFlush < interval)) continue;
        startWrite(x);
        c.lastWrite = t;
      }
    },

    writeSummaryEntries(owned) {
      for (const x of owned) startSummaryWrite(x);
    },

    backlog(owned) {
      let n = 0;
      for (const x of owned) n += x.fold.dirtyCount + x.registry.unwritten.size;
      return n;
    },

    drain: async (owned) => { await Promise.all([...owned].map((x) => x.registry.inflight)); },
  };
}
