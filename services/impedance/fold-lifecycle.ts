// The owned partitions' folds through a batch's life: handled (folded, taken back if the batch
// fails), flushed (its transaction under way: kept until it commits or aborts), committed (final).
// One Kafka transaction may carry several partitions' batches (node-rdkafka), so an abort takes
// back every partition handled or flushed since the last commit.
import type { ChangelogCursor } from './checkpointer';
import type { PartitionFold } from './partition-fold';
import type { RegistryCursor } from './registry-writer';

/** One owned heartbeat partition (and its co-partitioned mesh.agent-acks partition). */
export interface OwnedPartition {
  readonly partition: number;
  readonly fold: PartitionFold;
  readonly registry: RegistryCursor;
  readonly changelog: ChangelogCursor;
}

export class FoldLifecycle {
  private readonly owned = new Map<number, OwnedPartition>();
  /** Partitions handled since the last flush. */
  private readonly batch = new Set<number>();
  /** Partitions flushed whose transaction is not known to have committed yet. */
  private readonly flushed = new Set<number>();

  /** `create` makes a partition a record arrives for before its assignment. */
  constructor(private readonly create: (partition: number) => OwnedPartition) {}

  has(p: number): boolean { return this.owned.has(p); }
  lookup(p: number): OwnedPartition | undefined { return this.owned.get(p); }
  all(): IterableIterator<OwnedPartition> { return this.owned.values(); }
  adopt(x: OwnedPartition): void { this.owned.set(x.partition, x); }

  /** The partition a record of the batch is folded into. */
  get(p: number): OwnedPartition {
    let x = this.owned.get(p);
    if (!x) { x = this.create(p); this.owned.set(p, x); }
    return x;
  }

  /** A record of the partition was folded in the batch under way. */
  handled(p: number): void { this.batch.add(p); }

  /** The partitions of the batch under way, in order. */
  inBatch(): number[] { return [...this.batch].sort((a, b) => a - b); }

  /** In the batch under way or in a transaction not committed yet. */
  busy(p: number): boolean { return this.batch.has(p) || this.flushed.has(p); }

  /** The batch was flushed: its partitions wait for their transaction. */
  batchFlushed(): void {
    for (const p of this.batch) this.flushed.add(p);
    this.batch.clear();
  }

  /** The partition's transaction committed: its fold is final. */
  committed(p: number): OwnedPartition | undefined {
    this.flushed.delete(p);
    const x = this.owned.get(p);
    x?.fold.commit();
    return x;
  }

  /** The batch or a transaction did not commit: the partitions it held, their folds taken back. */
  aborted(): OwnedPartition[] {
    const out: OwnedPartition[] = [];
    for (const p of new Set([...this.batch, ...this.flushed])) {
      const x = this.owned.get(p);
      if (!x) continue;
      x.fold.rollback();
      out.push(x);
    }
    this.batch.clear();
    this.flushed.clear();
    return out;
  }

  revoked(p: number): void {
    this.owned.delete(p);
    this.batch.delete(p);
    this.flushed.delete(p);
  }
}
