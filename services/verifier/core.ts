// The verifier's state of one input partition: its own copy of every session's A and b, folded
// by the solver's own intake (PartitionCore without its work), and the solutions waiting to be
// checked. A solution is checked against A and b as of the positions it names (applied_through):
// its cost groups are applied to the copy up to there, so the check does not depend on how the
// three input topics interleaved, and a replay or a restore checks exactly the same.
import { createHash } from 'node:crypto';
import type { SolutionPublished } from '../../schemas/generated/events';
import { unpackFloat64 } from '../../schemas/packed';
import { unreachable } from '../runtime/errors';
import type { KernelFactory } from '../../wasm';
import { InputRejected, PartitionCore, type SolverEvent } from '../solver/domain';
import type { SolverLimits } from '../solver/limits';
import { posKey, type Active } from '../solver/state';
import { applyGroup } from '../solver/work';
import { NEW_WATCH, judge, type Emitted, type Watch } from './check';
import type { VerifierSettings } from './config';
import { probeSeed, sampleRows } from './probes';

export const SEQUENCED_ON = 'solver.costs';
/** What the verifier folds: the solver's inputs (for its copy of A and b) and the solutions. */
export type VerifierInput = SolverEvent | SolutionPublished;

interface Pending {
  readonly iteration: number;
  readonly n: number;
  readonly chunks: SolutionPublished[];
  readonly count: number;
}

interface Solution {
  readonly first: SolutionPublished;
  readonly x: Float64Array;
  readonly hash: string;
}

interface Request { readonly probeCount: number; readonly probeSize: number; readonly seed: number }

export class VerifierCore {
  readonly replica: PartitionCore;
  /** Last offset handled per logical input topic of this partition. */
  readonly folded: Record<string, number> = {};
  private readonly watches = new Map<string, Watch>();
  private readonly assembling = new Map<string, Pending>();
  private readonly queue = new Map<string, Solution[]>();
  /** VerificationRequested sequenced on the cost partition, by their event id: a solution they caused uses their probes. */
  private readonly requests = new Map<string, Request>();

  constructor(
    readonly partition: number,
    limits: SolverLimits,
    kernel: KernelFactory,
    private readonly cfg: VerifierSettings,
    private readonly clock: () => number = () => 0,
  ) {
    this.replica = new PartitionCore(partition, limits, kernel);
  }

  /** Folds an input of this partition; returns what it lets the verifier emit. */
  fold(event: VerifierInput, ref: { topic: string; offset: number }): Emitted[] {
    this.folded[ref.topic] = Math.max(this.folded[ref.topic] ?? -1, ref.offset);
    switch (event.type) {
      case 'SolutionPublished':
        this.onChunk(event);
        return this.drain();
      case 'SessionOpened': case 'MatrixChunkAppended': case 'SessionClosed': case 'CostUpdated':
      case 'CorrectionRequested': case 'VerificationRequested': case 'EntryEstimateRequested': case 'ConsensusReached': case 'ConsensusNotReached':
      case 'IterationSliceGranted':
        return this.onSolverInput(event, ref);
      default:
        return unreachable(event);
    }
  }

  private onSolverInput(event: SolverEvent, ref: { topic: string; offset: number }): Emitted[] {
    try { this.replica.check(event, ref.topic); } catch (err) {
      // The solver dead-letters it; its copy must skip it the same way.
      if (err instanceof InputRejected) return this.drain();
      throw err;
    }
    if (event.type === 'VerificationRequested' && ref.topic === SEQUENCED_ON) {
      this.requests.set(event.meta.event_id, { probeCount: event.probe_count, probeSize: event.probe_size, seed: event.seed });
    }
    // Its outputs (sequenced copies, ticks, rejections) are the solver's to write.
    this.replica.fold(event, { topic: ref.topic, partition: this.partition, offset: ref.offset, eventId: event.meta.event_id, occurredAt: event.meta.occurred_at });
    return this.drain();
  }

  private onChunk(e: SolutionPublished): void {
    const key = e.session_id;
    let p = this.assembling.get(key);
    if (!p || p.iteration !== e.iteration || p.n !== e.n) p = { iteration: e.iteration, n: e.n, chunks: [], count: e.chunk_count };
    if (!p.chunks.some((c) => c.chunk_index === e.chunk_index)) p.chunks.push(e);
    this.assembling.set(key, p);
    if (p.chunks.length < p.count) return;
    this.assembling.delete(key);
    const chunks = [...p.chunks].sort((a, b) => a.chunk_index - b.chunk_index);
    const x = new Float64Array(p.n);
    const h = createHash('sha256');
    for (const c of chunks) { x.set(unpackFloat64(c.values), c.offset); h.update(c.values); }
    const q = this.queue.get(e.session_id) ?? [];
    q.push({ first: chunks[0]!, x, hash: h.digest('hex').slice(0, 32) });
    this.queue.set(e.session_id, q);
  }

  /** Checks every queued solution whose inputs have been folded, in each session's order. */
  private drain(): Emitted[] {
    const out: Emitted[] = [];
    for (const [id, q] of this.queue) {
      while (q.length > 0) {
        const s = this.replica.sessions.get(id);
        if (s && s.status !== 'active' && s.status !== 'assembling') { q.length = 0; break; } // closed or rejected: nothing to check against
        if (!s || s.status !== 'active' || !this.caughtUp(q[0]!.first)) break;
        out.push(...this.check(s, q.shift()!));
      }
      if (q.length === 0) this.queue.delete(id);
    }
    return out;
  }

  private caughtUp(sol: SolutionPublished): boolean {
    return (sol.applied_through ?? []).every((p) => p.partition !== this.partition || (this.folded[p.topic] ?? -1) >= p.offset);
  }

  private check(s: Active, sol: Solution): Emitted[] {
    const e = sol.first;
    const through = e.applied_through?.find((p) => p.topic === SEQUENCED_ON && p.partition === this.partition)?.offset;
    // The session's queued jobs up to the solution's position: its groups, applied to the copy.
    const jobs = s.intake.jobs;
    while (jobs.length > 0) {
      const j = jobs[0]!;
      const at = j.kind === 'group' ? j.group.last.offset : j.ref.offset;
      if (e.applied_through && (through === undefined || at > through)) break;
      jobs.shift();
      if (j.kind === 'group') {
        const bad = applyGroup(s, j.group, []);
        if (bad) {
          // The solver ended the session at this group (SessionClosed FAILED); its copy ends too,
          // so nothing is judged against a b that left the range of a double.
          this.replica.fail(s, { message: bad, causation: j.group.last.eventId, occurredAt: j.group.last.occurredAt }, []);
          return [];
        }
      } else s.applied[posKey(j.ref)] = j.ref.offset;
    }
    if (sol.x.length !== s.csr.n) return [];
    const t0 = this.clock();
    const req = this.requests.get(e.meta.causation_id ?? '');
    const count = req?.probeCount ?? this.cfg.probeCount, size = req?.probeSize ?? this.cfg.probeSize;
    const rows = sampleRows(s.csr.n, Math.min(s.csr.n, count * Math.min(size, s.csr.n)), probeSeed(s.id, e.iteration, this.cfg.group, req?.seed ?? null));
    s.kernel.setX(sol.x);
    const { residuals } = s.kernel.residualRows(rows);
    let bb = 0;
    for (let i = 0; i < s.b.length; i++) bb += s.b[i]! * s.b[i]!;
    const { watch, out } = judge(this.watches.get(s.id) ?? NEW_WATCH, {
      sessionId: s.id, iteration: e.iteration, n: s.csr.n, causationId: e.meta.event_id, occurredAt: e.meta.occurred_at, rows, residuals,
      bNorm: Math.sqrt(bb), tolerance: s.opened.options.tolerance, interval: s.opened.options.verification_interval, solutionHash: sol.hash,
      elapsedMs: Math.max(0, this.clock() - t0),
    }, this.cfg);
    this.watches.set(s.id, watch);
    return out;
  }

  free(): void {
    for (const s of this.replica.sessions.values()) if (s.status === 'active') s.kernel.free();
  }
}
