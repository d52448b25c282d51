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
}

/** Batches to consume again (rewind each partition to its earliest first offset), and why. */
export interface Rewind<B> {
  readonly batches: readonly B[];
  readonly error: unknown;
}

export class CommitPipeline<B, O> {
  /** The batch whose transaction is under way; its result is an error or undefined, never a rejection. */
  private inflight: { readonly batches: readonly B[]; readonly result: Promise<unknown> } | undefined;

  constructor(private readonly ports: PipelinePorts<B, O>, private readonly overlap: boolean) {}

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
      if (early) return { batches: [...early.batches, ...batches], error: early.error };
      if (batches.length > 0) outputs = await this.ports.process(batches);
    } catch (err) {
      const prev = await this.settle();
      return { batches: prev ? [...prev.batches, ...batches] : batches, error: err };
    }
    const prev = await this.settle();
    if (prev) {
      if (outputs !== undefined) this.ports.aborted(batches, prev.error);
      return { batches: [...prev.batches, ...batches], error: prev.error };
    }
    if (outputs === undefined) return undefined;
    let committed: Promise<void>;
    try {
      ({ committed } = await this.ports.commit(batches, outputs));
    } catch (err) {
      return { batches, error: err ?? new Error('transaction failed') };
    }
    const result = committed.then(() => undefined, (err: unknown) => err ?? new Error('transaction failed'));
    if (this.overlap) {
      this.inflight = { batches, result };
      return undefined;
    }
    const error = await result;
    return error === undefined ? undefined : { batches, error };
  }
}
