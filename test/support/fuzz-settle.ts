// When a fuzz run's flood has settled (issue 15, `make soak`): every service's group has consumed
// everything the flood caused on its inputs, not only the fuzzed records. The services write onto
// each other's inputs after the flood (a refused record's report on mesh.conflicts, copies,
// sequenced ticks), so a group past its last fuzzed record may still have the flood's work ahead
// of it: a restarted coordinator that had committed its whole flood before the kill had every
// report the others wrote after it still unread, and a run read then was short of their
// quarantines and escalations.
//
// In rounds: the ends of every topic are taken; the records up to them read (event id and
// causation id); every group waited for until it has committed past the last of them on each
// partition it consumes. The records the flood caused are those whose causation chain reaches a
// fuzzed record (as fuzz-outputs.ts roots them). Settled when their number has not grown for
// `quietMs` over rounds that each found every group caught up. What the clock causes (ticks,
// deadlines, summaries) does not hold it back: it is not the flood's, and the services write it
// as long as they run.
import type { EventCodec } from '../../services/runtime/codec';
import { partitionEnds, readLog } from '../../services/runtime/kafka/log-reader';
import { allTopicSpecs } from '../../topics/catalog';
import type { TestKafka } from './kafka';

export interface SettleOptions {
  readonly k: TestKafka;
  /** Decodes without waiting on made-up schema ids (an undecodable record causes nothing). */
  readonly codec: EventCodec;
  /** The topics (unprefixed) each service's group consumes. */
  readonly consumes: Readonly<Record<string, readonly string[]>>;
  /** A service's committed offsets by `topic/partition` (prefixed), -1 where none. */
  readonly committed: (service: string) => Promise<ReadonlyMap<string, number>>;
  /** Event ids of the fuzzed records. */
  readonly roots: ReadonlySet<string>;
  /** Where the fuzzed records are (`topic/partition/offset`, prefixed): not counted as caused. */
  readonly fuzzed: ReadonlySet<string>;
  readonly quietMs?: number;
  readonly timeoutMs?: number;
}

export interface Settled {
  /** Records the flood caused. */
  readonly caused: number;
  readonly rounds: number;
  /** Date.now() when every group had consumed the last of them. */
  readonly doneAt: number;
  /** Date.now() when that was known (after `quietMs` without another). */
  readonly settledAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The causation graph of the records read so far, and how many of them the flood caused. */
class Causes {
  private readonly reached: Set<string>;
  private readonly waiting = new Map<string, string[]>();
  private readonly records = new Map<string, number>();
  count = 0;
  constructor(roots: ReadonlySet<string>) { this.reached = new Set(roots); }

  add(eventId: string, causation: string | null): void {
    this.records.set(eventId, (this.records.get(eventId) ?? 0) + 1);
    if (this.reached.has(eventId)) { this.count++; return; }
    if (causation === null) return;
    if (this.reached.has(causation)) this.reach(eventId);
    else this.waiting.set(causation, [...(this.waiting.get(causation) ?? []), eventId]);
  }

  private reach(first: string): void {
    for (const todo = [first]; todo.length > 0;) {
      const id = todo.pop()!;
      if (this.reached.has(id)) continue;
      this.reached.add(id);
      this.count += this.records.get(id) ?? 0;
      todo.push(...(this.waiting.get(id) ?? []));
      this.waiting.delete(id);
    }
  }
}

/** Offsets (exclusive ends) read to, and the last record seen, per `topic/partition`. */
interface Read { readonly to: Map<string, number>; readonly last: Map<string, number> }

async function readRound(o: SettleOptions, tps: ReadonlyArray<{ topic: string; partition: number }>, read: Read, causes: Causes): Promise<void> {
  const ends = await partitionEnds(o.k.brokers, tps);
  const ranges = tps.map((t) => ({ ...t, from: read.to.get(`${t.topic}/${t.partition}`) ?? 0, to: ends.get(`${t.topic}/${t.partition}`)! })).filter((r) => r.to > r.from);
  const records = ranges.length === 0 ? [] : await readLog(o.k.brokers, o.codec, ranges, { decode: false });
  for (const r of records) {
    const id = `${r.topic}/${r.partition}`;
    read.last.set(id, Math.max(read.last.get(id) ?? -1, r.offset));
    if (o.fuzzed.has(`${id}/${r.offset}`)) continue;
    const event = r.value ? await o.codec.decode(r.value).then((d) => d.event, () => undefined) : undefined;
    if (event) causes.add(event.meta.event_id, event.meta.causation_id ?? null);
  }
  for (const r of ranges) read.to.set(`${r.topic}/${r.partition}`, r.to);
}

/** The partitions where a service's group has not committed past the last record read, as `topic/partition at committed of last+1`. */
async function behind(o: SettleOptions, read: Read): Promise<string[]> {
  const out: string[] = [];
  for (const [service, topics] of Object.entries(o.consumes)) {
    const got = await o.committed(service);
    for (const t of topics) {
      const prefixed = o.k.topic(t);
      for (const [id, last] of read.last) {
        if (!id.startsWith(`${prefixed}/`)) continue;
        if ((got.get(id) ?? -1) <= last) out.push(`${service} on ${t}${id.slice(prefixed.length)} at ${got.get(id) ?? -1} of ${last + 1}`);
      }
    }
  }
  return out;
}

export async function settle(o: SettleOptions): Promise<Settled> {
  const quietMs = o.quietMs ?? 3000;
  const deadline = Date.now() + (o.timeoutMs ?? 180_000);
  const tps = allTopicSpecs(o.k.prefix).filter((s) => !s.name.endsWith('.dlq'))
    .flatMap((s) => Array.from({ length: s.partitions }, (_, partition) => ({ topic: s.name, partition })));
  const read: Read = { to: new Map(), last: new Map() };
  const causes = new Causes(o.roots);
  let rounds = 0;
  let counted = -1;
  let doneAt = 0;
  for (;;) {
    await readRound(o, tps, read, causes);
    rounds++;
    for (let late = await behind(o, read); late.length > 0; late = await behind(o, read)) {
      if (Date.now() > deadline) throw new Error(`the flood's effects did not settle: ${late.slice(0, 12).join(', ')}${late.length > 12 ? ` and ${late.length - 12} more` : ''}`);
      await sleep(100);
    }
    const now = Date.now();
    if (causes.count !== counted) { counted = causes.count; doneAt = now; }
    else if (now - doneAt >= quietMs) return { caused: counted, rounds, doneAt, settledAt: now };
    if (now > deadline) throw new Error(`the flood's effects did not settle: ${counted} records caused by it, still growing after ${rounds} rounds`);
    await sleep(Math.min(500, quietMs / 4));
  }
}
