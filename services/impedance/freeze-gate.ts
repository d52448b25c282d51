// The state each owned mesh.coordination partition's log sequences (freezes, thaws, approvals:
// coordination-gate.ts): folded from the records in that partition's order, rebuilt from it at
// assignment and after an aborted batch (the batch's records come again).
import { evolveFreeze, THAWED, type FreezeEvent, type FreezeState } from './freeze';

/** The partition's state from its start up to the group's committed offset, folded. */
export type RestoreGateFn<S> = (partition: number) => Promise<S>;
export type RestoreFreezeFn = RestoreGateFn<FreezeState>;

export class SequencedGate<S, E> {
  private readonly states = new Map<number, S>();
  private readonly stale = new Set<number>();

  constructor(private readonly initial: S, private readonly evolve: (s: S, e: E) => S, private readonly restoreFn?: RestoreGateFn<S>) {}

  private ready(p: number): boolean {
    return this.states.has(p) && !this.stale.has(p);
  }

  private async restore(p: number): Promise<S> {
    const s = this.restoreFn ? await this.restoreFn(p) : this.initial;
    this.states.set(p, s);
    this.stale.delete(p);
    return s;
  }

  /** The state a request at the partition's current position meets. */
  state(p: number): S | Promise<S> {
    return this.ready(p) ? this.states.get(p)! : this.restore(p);
  }

  fold(p: number, e: E): void | Promise<void> {
    if (this.ready(p)) { this.states.set(p, this.evolve(this.states.get(p)!, e)); return; }
    return this.restore(p).then((s) => { this.states.set(p, this.evolve(s, e)); });
  }

  async assigned(partitions: readonly number[]): Promise<void> {
    for (const p of partitions) if (!this.ready(p)) await this.restore(p);
  }

  revoked(partitions: readonly number[]): void {
    for (const p of partitions) { this.states.delete(p); this.stale.delete(p); }
  }

  aborted(): void {
    for (const p of this.states.keys()) this.stale.add(p);
  }
}

/** The freeze alone (freeze.ts). */
export class FreezeGate extends SequencedGate<FreezeState, FreezeEvent> {
  constructor(restoreFn?: RestoreFreezeFn) { super(THAWED, evolveFreeze, restoreFn); }
}
