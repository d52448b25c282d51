// The freeze state of each owned mesh.coordination partition (freeze.ts): folded from the copies
// in that partition's log, rebuilt from it at assignment and after an aborted batch (the batch's
// records come again).
import { evolveFreeze, THAWED, type FreezeEvent, type FreezeState } from './freeze';

/** The partition's freeze copies from its start up to the group's committed offset, folded. */
export type RestoreFreezeFn = (partition: number) => Promise<FreezeState>;

export class FreezeGate {
  private readonly states = new Map<number, FreezeState>();
  private readonly stale = new Set<number>();

  constructor(private readonly restoreFn?: RestoreFreezeFn) {}

  private ready(p: number): boolean {
    return this.states.has(p) && !this.stale.has(p);
  }

  private async restore(p: number): Promise<FreezeState> {
    const s = this.restoreFn ? await this.restoreFn(p) : THAWED;
    this.states.set(p, s);
    this.stale.delete(p);
    return s;
  }

  /** The state a request at the partition's current position meets. */
  state(p: number): FreezeState | Promise<FreezeState> {
    return this.ready(p) ? this.states.get(p)! : this.restore(p);
  }

  fold(p: number, e: FreezeEvent): void | Promise<void> {
    if (this.ready(p)) { this.states.set(p, evolveFreeze(this.states.get(p)!, e)); return; }
    return this.restore(p).then((s) => { this.states.set(p, evolveFreeze(s, e)); });
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
