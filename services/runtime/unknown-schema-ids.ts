// What the codec does with a schema id the registry does not know. Two hostile cases pull in
// opposite directions:
//  - a registry that lags (a replica catching up, a schema registered a moment after the record
//    was produced) answers 404 for an id that appears later: dead-lettering then would lose valid
//    input to the registry's state, so a 404 is retried for a grace period first;
//  - a producer that writes made-up ids by the hundred thousand: asking the registry about each
//    one is a request storm, remembering each one is unbounded memory, and a grace period per id
//    would stall the partition for ever.
// So: answers are remembered in a bounded table for a while; once one id has outlived its grace
// the registry is known to be current, and for a cooldown further unknown ids get one lookup and
// no grace; lookups that find nothing spend a budget (by default 1,000 at once and 50 a second,
// each two registry requests: a registry's load, not a storm). Once it is spent, a new
// id is still asked if the registry lists it under one of the record's topic's subjects (every
// writer registers its schema under its topic's subject before producing), as listed after the
// record was produced: an older listing is renewed, at most once per `listRefreshMs` per topic,
// and a record produced since the last one waits for the next (a retriable failure). Other ids
// go to the dead-letter topic unasked, saying so. A service that started on a backlog of made-up
// ids used to refuse the real ids behind them unasked: valid records lost. A record dated in the
// future counts as produced now, so it waits one interval at most. Pure: the clock is passed in.
import { poison, transient, type SolvermeshError } from './errors';

export interface UnknownIdPolicy {
  /** How long a 404 is retried before the record is dead-lettered. */
  readonly graceMs: number;
  /** After a grace ran out, how long new unknown ids go without one. */
  readonly cooldownMs: number;
  /** How long a dead-lettered id is answered from memory before the registry is asked again. */
  readonly rememberMs: number;
  /** Ids remembered at most (oldest forgotten first). */
  readonly capacity: number;
  /** Lookups that may find nothing at once, and per second after that. */
  readonly missBurst: number;
  readonly missesPerSecond: number;
  /** How often at most a topic's subjects are listed, with the budget spent (a record produced since waits that long at most). */
  readonly listRefreshMs: number;
}

/** beforeLookup's answer when the topic's subjects should be listed (then onListed) before judging the id. */
export const LIST_SUBJECTS = 'list-subjects';

export const DEFAULT_UNKNOWN_ID_POLICY: UnknownIdPolicy = {
  graceMs: 10_000, cooldownMs: 60_000, rememberMs: 60_000, capacity: 10_000, missBurst: 1_000, missesPerSecond: 50, listRefreshMs: 1_000,
};

type Entry =
  | { readonly kind: 'waiting'; readonly since: number }
  | { readonly kind: 'unknown'; readonly until: number };

export class UnknownSchemaIds {
  private readonly entries = new Map<number, Entry>();
  private graceSpentAt = -Infinity;
  private tokens: number;
  private refilledAt: number;
  /** Ids the registry lists under the subjects of the topics asked about. */
  private readonly listed = new Set<number>();
  private readonly listedAt = new Map<string, number>();

  constructor(private readonly policy: UnknownIdPolicy = DEFAULT_UNKNOWN_ID_POLICY, now = 0) {
    this.tokens = policy.missBurst;
    this.refilledAt = now;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Before asking the registry about an id on `topic` (undefined: not known): the error to throw
   * instead, undefined to ask, or LIST_SUBJECTS: list the topic's subjects' ids (then onListed)
   * and ask again.
   */
  beforeLookup(id: number, now: number, topic?: string, producedAt?: number): SolvermeshError | undefined | typeof LIST_SUBJECTS {
    const e = this.entries.get(id);
    if (e?.kind === 'unknown') {
      if (now < e.until) return poison('UNKNOWN_SCHEMA_ID', `schema id ${id} is not in the registry (asked ${Math.round((now - e.until + this.policy.rememberMs) / 1000)} s ago)`);
      this.entries.delete(id);
    }
    if (e?.kind === 'waiting') return undefined;
    this.refill(now);
    if (this.tokens < 1 && !this.listed.has(id)) {
      const listedAt = topic === undefined ? undefined : this.listedAt.get(topic) ?? -Infinity;
      if (listedAt !== undefined && producedAt !== undefined && listedAt < Math.min(producedAt, now)) {
        if (now - listedAt >= this.policy.listRefreshMs) return LIST_SUBJECTS;
        return transient('UNKNOWN_SCHEMA_ID', `schema id ${id} was not listed under ${topic} before the record was produced; listing again within ${this.policy.listRefreshMs} ms`);
      }
      return poison('UNKNOWN_SCHEMA_ID', `schema id ${id} was not looked up: more than ${this.policy.missesPerSecond} unknown schema ids a second (a flood of made-up ids?), and the registry does not list it under ${topic === undefined ? 'the record\'s topic' : topic}`);
    }
    return undefined;
  }

  /** The registry answered 404: retry (transient) while the id's grace lasts, then dead-letter. */
  onNotFound(id: number, now: number, cause?: unknown): SolvermeshError {
    const e = this.entries.get(id);
    if (e?.kind !== 'waiting') this.tokens = Math.max(0, this.tokens - 1);
    const since = e?.kind === 'waiting' ? e.since : now;
    const graceOpen = now - this.graceSpentAt >= this.policy.cooldownMs;
    if (graceOpen && now - since < this.policy.graceMs) {
      if (!e) this.remember(id, { kind: 'waiting', since });
      return transient('UNKNOWN_SCHEMA_ID', `schema id ${id} is not in the registry yet; asking again for up to ${this.policy.graceMs} ms`, cause);
    }
    if (e?.kind === 'waiting') this.graceSpentAt = now;
    this.entries.delete(id);
    this.remember(id, { kind: 'unknown', until: now + this.policy.rememberMs });
    return poison('UNKNOWN_SCHEMA_ID', `schema id ${id} is not in the registry${e?.kind === 'waiting' ? ` after ${now - since} ms of asking` : ''}`, cause);
  }

  /** The ids the registry lists under `topic`'s subjects, now. */
  onListed(topic: string, ids: Iterable<number>, now: number): void {
    this.listedAt.set(topic, now);
    for (const id of ids) this.listed.add(id);
  }

  /** The registry knows the id now. */
  onFound(id: number): void {
    this.entries.delete(id);
  }

  private remember(id: number, entry: Entry): void {
    this.entries.set(id, entry);
    if (this.entries.size > this.policy.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.policy.missBurst, this.tokens + (elapsed * this.policy.missesPerSecond) / 1000);
    this.refilledAt = now;
  }
}
