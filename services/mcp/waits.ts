// Bounded waits on the gateway's hub: a session's convergence (with its residual history), the
// verifications and consensus that follow a verification request, the answer to an estimate
// request. Each resolves at its condition, at its deadline, or when the caller aborts; none
// outlives its timeout, and none makes up an answer that did not arrive.
import type { EntryEstimated } from '../../schemas/generated/events';
import type { Hub } from '../gateway/hub';
import type { StreamItem } from '../gateway/stream-item';

export interface ResidualPoint { readonly iteration: number; readonly residual_norm: number; readonly converged: boolean }

export interface ConvergenceWait {
  readonly state: string;
  readonly converged: boolean;
  readonly timed_out: boolean;
  readonly reason: string | null;
  readonly iteration: number | null;
  readonly residual: number | null;
  readonly history: ResidualPoint[];
  readonly waited_ms: number;
}

type Fields = Record<string, unknown>;
const fieldsOf = (item: StreamItem): Fields => JSON.parse(item.json) as Fields;

/** Calls `check` after the kept items and after each new one, until it returns a value, `ms` pass or `signal` aborts (undefined then). */
function waitOn<T>(hub: Hub, sessionId: string, fromMs: number, ms: number, signal: AbortSignal | undefined, onItem: (item: StreamItem) => void, check: () => T | undefined): Promise<T | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let unsubscribe: (() => void) | undefined;
    const finish = (v: T | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      unsubscribe?.();
      resolve(v);
    };
    const abort = () => finish(undefined);
    const timer = setTimeout(() => finish(check()), ms);
    signal?.addEventListener('abort', abort, { once: true });
    // The kept items are replayed inside subscribe(): decide after it returns.
    let replaying = true;
    unsubscribe = hub.subscribe(sessionId, {
      push: (item) => {
        if (done) return;
        onItem(item);
        if (!replaying) { const v = check(); if (v !== undefined) finish(v); }
      },
    }, { fromMs });
    replaying = false;
    if (done) { unsubscribe(); return; }
    if (signal?.aborted) { finish(undefined); return; }
    const v = check();
    if (v !== undefined) finish(v);
  });
}

/**
 * Until the projection says the session converged on every cost update sent (and has folded the
 * ones in `costs`, which this process sent), or it was rejected or closed.
 */
export async function waitConverged(hub: Hub, sessionId: string, costs: ReadonlyArray<{ partition: number; offset: number }>, ms: number, historyLimit: number, signal?: AbortSignal): Promise<ConvergenceWait> {
  const t0 = Date.now();
  const history: ResidualPoint[] = [];
  const onItem = (item: StreamItem) => {
    if (item.type !== 'IterationCompleted' && item.type !== 'ConvergenceReached') return;
    const f = fieldsOf(item);
    history.push({ iteration: Number(f.iteration), residual_norm: Number(f.residual_norm), converged: item.type === 'ConvergenceReached' });
    if (history.length > historyLimit) history.shift();
  };
  const result = (timedOut: boolean): ConvergenceWait => {
    const s = hub.summary(sessionId);
    return {
      state: s?.state ?? 'unknown', converged: s?.state === 'converged', timed_out: timedOut, reason: s?.reason ?? null,
      iteration: s?.iteration ?? null, residual: s?.residual ?? null, history: [...history], waited_ms: Date.now() - t0,
    };
  };
  const settled = () => {
    if (!costs.every((c) => hub.hasFolded('solver.costs', c.partition, c.offset))) return undefined;
    const state = hub.summary(sessionId)?.state;
    return state === 'converged' || state === 'rejected' || state === 'closed' ? result(false) : undefined;
  };
  // A cost update is folded from solver.costs, which streams nothing: settled() is polled too.
  return (await waitOnWithPoll(hub, sessionId, ms, signal, onItem, settled)) ?? result(true);
}

/** waitOn, also re-checking every 250 ms (conditions that change on records that stream nothing). */
async function waitOnWithPoll<T>(hub: Hub, sessionId: string, ms: number, signal: AbortSignal | undefined, onItem: (item: StreamItem) => void, check: () => T | undefined): Promise<T | undefined> {
  const poll = new AbortController();
  const both = signal ? AbortSignal.any([signal, poll.signal]) : poll.signal;
  let found: T | undefined;
  const timer = setInterval(() => { found = check(); if (found !== undefined) poll.abort(); }, 250);
  try {
    const v = await waitOn(hub, sessionId, 0, ms, both, onItem, check);
    return v ?? found;
  } finally {
    clearInterval(timer);
  }
}

export interface VerificationSeen {
  readonly verifier_id: string;
  readonly iteration: number;
  readonly verified: boolean;
  readonly max_error: number;
  readonly drift_detected: boolean;
}

export interface ConsensusSeen {
  readonly reached: boolean;
  readonly iteration: number;
  readonly outcome: string | null;
  readonly participants: number;
  readonly threshold: number;
}

/**
 * The first consensus recorded on the session's stream from `fromMs` on (until it, `ms`, or abort),
 * with the verifications of the iteration it judged, kept ones included: a round's checks can land
 * just before the request that asked for its verdict. Without a consensus, the verifications
 * recorded from `fromMs` on.
 */
export async function waitVerdict(hub: Hub, sessionId: string, fromMs: number, ms: number, signal?: AbortSignal): Promise<{ verifications: VerificationSeen[]; consensus: ConsensusSeen | null }> {
  const seen: Array<{ atMs: number; v: VerificationSeen }> = [];
  let consensus: ConsensusSeen | null = null;
  const onItem = (item: StreamItem) => {
    if (item.type === 'VerificationCompleted') {
      const f = fieldsOf(item);
      seen.push({ atMs: item.timestampMs, v: { verifier_id: String(f.verifier_id), iteration: Number(f.iteration), verified: f.verified === true, max_error: Number(f.max_error), drift_detected: f.drift_detected === true } });
    } else if ((item.type === 'ConsensusReached' || item.type === 'ConsensusNotReached') && consensus === null && item.timestampMs >= fromMs) {
      const f = fieldsOf(item);
      consensus = { reached: item.type === 'ConsensusReached', iteration: Number(f.iteration), outcome: typeof f.outcome === 'string' ? f.outcome : null, participants: Number(f.participants), threshold: Number(f.threshold) };
    }
  };
  await waitOn(hub, sessionId, 0, ms, signal, onItem, () => (consensus !== null ? true : undefined));
  const judged = consensus as ConsensusSeen | null;
  const verifications = judged === null
    ? seen.filter((s) => s.atMs >= fromMs).map((s) => s.v)
    : seen.filter((s) => s.v.iteration === judged.iteration).map((s) => s.v);
  return { verifications, consensus: judged };
}

/** The EntryEstimated that answers request `eventId` (caused by it, or by the solver's sequenced copy of it). */
export function waitEstimate(hub: Hub, causes: readonly string[], ms: number, signal?: AbortSignal): Promise<EntryEstimated | undefined> {
  return new Promise((resolve) => {
    const finish = (v: EntryEstimated | undefined) => { clearTimeout(timer); stop(); signal?.removeEventListener('abort', abort); resolve(v); };
    const abort = () => finish(undefined);
    const stop = hub.watch((r) => {
      if (r.topic === 'solver.iterations' && r.event?.type === 'EntryEstimated' && causes.includes(r.event.meta.causation_id ?? '')) finish(r.event);
    });
    const timer = setTimeout(() => finish(undefined), ms);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** Resolves true once the hub has folded the record at this position (a call's own write), false after `ms`. */
export function whenFolded(hub: Hub, topic: string, partition: number, offset: number, ms: number): Promise<boolean> {
  if (hub.hasFolded(topic, partition, offset)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (v: boolean) => { clearTimeout(timer); stop(); resolve(v); };
    const stop = hub.watch(() => { if (hub.hasFolded(topic, partition, offset)) finish(true); });
    const timer = setTimeout(() => finish(hub.hasFolded(topic, partition, offset)), ms);
  });
}
