// The order of a transactional consume loop: each consumed batch is processed, then committed
// (outputs and offsets in one transaction). With `overlap`, the end of a batch's commit runs while
// the next batch is consumed and processed (the commit mostly waits on the broker), and that next
// batch's transaction begins only once it ended: one producer runs one transaction at a time. The
// part of the commit that needs the consumer (sending the offsets with the group's metadata) is
// done before the loop consumes again: node-rdkafka serialises it with a consume() under way,
// which waits up to the poll timeout for a record (paced relay p50 14 -> 25 ms).
//
// What did not commit is consumed again. A failed commit therefore takes back the batch processed
// behind it too (its state was built on the failed one): both are reported aborted and both are
// rewound. Engine-neutral and free of I/O, so the failure orders are specified in unit specs.
//
// With `carry`, a batch that produced nothing begins no transaction of its own: its offsets ride
// in the next transaction (or in one of their own once the loop idles or they waited maxAgeMs).
// A transaction costs a few ms whatever it holds and one producer runs one at a time, so each
// empty one held the next batch with outputs back behind it (the solver reads many records that
// produce nothing: updates of an open group, its own ticks). Nothing is lost: an uncommitted
// batch without outputs is consumed again, and refolded, by whoever owns its partition next.

export interface PipelinePorts<B, O> {
  /** Handles a batch; throws when handling failed (the caller took its state back already). */
  process(batches: readonly B[]): Promise<O>;
  /**
   * One transaction for the outputs and the batches' offsets. Resolves once the offsets are sent
   * (the consumer is free again) with `committed`, the commit's end; either rejects when the
   * transaction did not commit.
   */
  commit(batches: readonly B[], outputs: O): Promise<{ readonly committed: Promise<void> }>;
  /** Batches processed on state that will not commit (a failed commit before them). */
  aborted(batches: readonly B[], err: unknown): void;
  /** Called each time a commit behind the loop ended (either way): held-back hooks run here. */
  settled?(): void;
  /** True when a batch's outputs are nothing to produce (only consulted with `carry`). */
  empty?(outputs: O): boolean;
}

/** Batches without outputs wait for the next transaction, up to maxAgeMs (clock: `now`, ms). */
export interface CarryOptions {
  readonly maxAgeMs: number;
  readonly now: () => number;
}

/** Batches to consume again (rewind each partition to its earliest first offset), and why. */
export interface Rewind<B> {
  readonly batches: readonly B[];
  readonly error: unknown;
}

export class CommitPipeline<B, O> {
  /** The batch whose transaction is under way; its result is an error or undefined, never a rejection. */
  private inflight: { readonly batches: readonly B[]; readonly result: Promise<unknown> } | undefined;

  /** Processed batches without outputs whose offsets are not committed yet, oldest first. */
  private carried: B[] = [];
  private carriedSince = 0;
  /** The (empty) outputs of the carried batches: what their own transaction commits. */
  private carriedOutputs: O | undefined;

  constructor(private readonly ports: PipelinePorts<B, O>, private readonly overlap: boolean, private readonly carry?: CarryOptions) {}

  /** Batches processed but waiting for a transaction (carry). */
  get waiting(): readonly B[] {
    return this.carried;
  }

  /**
   * Forgets the carried batches without committing them: a rebalance moved their partitions
   * (records without outputs are consumed again from the committed offsets).
   */
  dropCarried(): void {
    this.carried = [];
    this.carriedOutputs = undefined;
  }

  private takeCarried(): B[] {
    const c = this.carried;
    this.dropCarried();
    return c;
  }

  /** True while a commit runs behind the loop. */
  get committing(): boolean {
    return this.inflight !== undefined;
  }

  /** Waits for the commit under way; what to rewind when it failed. */
  async settle(): Promise<Rewind<B> | undefined> {
    const prev = this.inflight;
    if (!prev) return undefined;
    const error = await prev.result;
    this.inflight = undefined;
    this.ports.settled?.();
    return error === undefined ? undefined : { batches: prev.batches, error };
  }

  /**
   * One consumed batch (empty: none arrived). `settleFirst`: let the commit under way end before
   * this batch is processed (a rebalance happened meanwhile and its hooks must run first).
   */
  async step(batches: readonly B[], settleFirst = false): Promise<Rewind<B> | undefined> {
    let outputs: O | undefined;
    try {
      const early = settleFirst ? await this.settle() : undefined;
      // Consumed but not processed: consume them again with the failed batch.
      if (early) {
        const waited = this.takeCarried();
        if (waited.length > 0) this.ports.aborted(waited, early.error);
        return { batches: [...early.batches, ...waited, ...batches], error: early.error };
      }
      if (batches.length > 0) outputs = await this.ports.process(batches);
    } catch (err) {
      const prev = await this.settle();
      return { batches: [...(prev?.batches ?? []), ...this.takeCarried(), ...batches], error: err };
    }
    // What this step commits: the batches that waited and this one, or nothing yet.
    let pending: readonly B[] = batches;
    if (this.carry && outputs !== undefined && this.ports.empty?.(outputs) === true) {
      if (this.carried.length === 0) this.carriedSince = this.carry.now();
      this.carried.push(...batches);
      this.carriedOutputs = outputs;
      // Not due yet: the next batch with outputs takes them along.
      if (this.carry.now() - this.carriedSince < this.carry.maxAgeMs) return undefined;
      pending = [];
    } else if (outputs === undefined && this.carried.length > 0) {
      // An idle poll: what waited goes now, in a transaction of its own.
      outputs = this.carriedOutputs;
    }
    const prev = await this.settle();
    if (prev) {
      // Processed on state that will not commit.
      const behind = outputs !== undefined ? [...this.takeCarried(), ...pending] : [];
      if (behind.length > 0) this.ports.aborted(behind, prev.error);
      return { batches: [...prev.batches, ...(outputs !== undefined ? behind : batches)], error: prev.error };
    }
    if (outputs === undefined) return undefined;
    const all = [...this.takeCarried(), ...pending];
    let committed: Promise<void>;
    try {
      ({ committed } = await this.ports.commit(all, outputs));
    } catch (err) {
      return { batches: all, error: err ?? new Error('transaction failed') };
    }
    const result = committed.then(() => undefined, (err: unknown) => err ?? new Error('transaction failed'));
    if (this.overlap) {
      this.inflight = { batches: all, result };
      return undefined;
    }
    const error = await result;
    return error === undefined ? undefined : { batches: all, error };
  }
}
