// The key book of a verifying service, read from mesh.agent-keys: from the beginning at start
// (the compacted topic holds every agent's latest key set), then polled. A key id the book does
// not know makes it read the topic to its end first when the message was logged after the book's
// last read began: a key registered just before an agent's first message is then found, and a
// flood of made-up key ids costs at most one read per batch of fresh records.
import type { AgentKey } from '../../schemas/generated/events';
import { topicSpec } from '../../topics/catalog';
import type { EventCodec } from '../runtime/codec';
import { readLog } from '../runtime/kafka/log-reader';
import type { Logger } from '../runtime/logger';
import { foldKeyEvent, isKeyEvent, type KeyBook } from './keys';

export const KEYS_TOPIC = 'mesh.agent-keys';

export interface KeySourceOptions {
  readonly brokers: readonly string[];
  readonly codec: EventCodec;
  readonly topicPrefix: string;
  readonly logger: Logger;
  /** How often the topic is read for new keys (rotations, revocations), ms; 0: only on demand. */
  readonly pollMs?: number;
  readonly now?: () => number;
}

export interface KeyBookReader {
  book(): KeyBook;
  /**
   * For a message logged at `loggedAtMs` naming a key the book lacks: a read of the topic to its
   * end when the last one began before then (await it, then look again); undefined when the book
   * is as fresh as that already.
   */
  refreshFor(loggedAtMs: number): Promise<void> | undefined;
}

export class KeySource implements KeyBookReader {
  private readonly keys = new Map<string, readonly AgentKey[]>();
  private readonly next: number[];
  private readonly topic: string;
  private lastReadStartedAt = -Infinity;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: KeySourceOptions) {
    this.topic = o.topicPrefix + KEYS_TOPIC;
    this.next = new Array<number>(topicSpec(KEYS_TOPIC).partitions).fill(0);
    this.now = o.now ?? Date.now;
  }

  book(): KeyBook { return this.keys; }

  async start(): Promise<void> {
    await this.read();
    this.o.logger.info({ agents: this.keys.size }, 'key book read');
    const every = this.o.pollMs ?? 2000;
    if (every > 0) (this.timer = setInterval(() => { this.read().catch((err: unknown) => this.o.logger.warn({ err }, 'key book poll failed')); }, every)).unref();
  }

  stop(): void { clearInterval(this.timer); }

  refreshFor(loggedAtMs: number): Promise<void> | undefined {
    return this.lastReadStartedAt > loggedAtMs ? undefined : this.read();
  }

  /** One read at a time; a caller during one waits for the next, which starts after it. */
  private read(): Promise<void> {
    const run = async () => {
      const startedAt = this.now();
      const ranges = this.next.map((from, partition) => ({ topic: this.topic, partition, from }));
      await readLog(this.o.brokers, this.o.codec, ranges, {
        onRecord: (r) => {
          this.next[r.partition] = r.offset + 1;
          if (isKeyEvent(r.event)) foldKeyEvent(this.keys, r.event);
        },
      });
      this.lastReadStartedAt = startedAt;
    };
    const p = (this.reading ?? Promise.resolve()).then(run, run).finally(() => { if (this.reading === p) this.reading = undefined; });
    this.reading = p;
    return p;
  }
}
