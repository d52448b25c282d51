// One client's stream of a session (NDJSON or SSE over an HTTP response). Writes wait for
// `drain`; events wait as references to the hub's shared items, not as copies; a client that
// stays over the byte limit is closed with the reason and its resume id as the last line. Idle streams get a keep-alive ping, every
// stream ends after a maximum duration, and the gateway can end them all on shutdown.
import type { ServerResponse } from 'node:http';
import { encodeCursor, isAfter, type Cursor } from './cursor';
import type { Subscriber } from './hub';
import { ndjsonLine, sseFrame, type StreamItem } from './stream-item';

export type StreamMode = 'ndjson' | 'sse';

export interface StreamLimits {
  /** Bytes of events queued for the client beyond what the socket took. */
  readonly bufferBytes: number;
  /** How long a stream may stay over bufferBytes before it is closed as too slow. */
  readonly slowMs: number;
  readonly pingMs: number;
  readonly maxMs: number;
}

export interface StreamHooks {
  /** Whether the stream ends after this item (convergence, rejection, close). */
  readonly endsAfter?: (item: StreamItem) => boolean;
  readonly onEnd?: (reason: string) => void;
  /** The stream went over its byte limit (true) or back under it, or ended while over it (false). */
  readonly onLagging?: (lagging: boolean) => void;
}

export const CONTENT_TYPES: Record<StreamMode, string> = { ndjson: 'application/x-ndjson', sse: 'text/event-stream' };

interface Queued {
  /** A stream item (shared with the hub's history and every other stream) under this stream's id. */
  readonly item?: StreamItem;
  readonly id?: string;
  /** Or a line of the stream's own. */
  readonly text?: string;
  readonly size: number;
}

export class EventStream implements Subscriber {
  private readonly cursor: Cursor;
  /** Items wait here as references, turned into text only when the socket takes them. */
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private waiting = false;
  private ended = false;
  private lastWrite = Date.now();
  private slowSince: number | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Bytes handed to the socket. */
  written = 0;

  constructor(private readonly res: ServerResponse, private readonly mode: StreamMode, start: Cursor, private readonly limits: StreamLimits, private readonly hooks: StreamHooks = {}) {
    this.cursor = new Map(start);
    const every = Math.max(20, Math.min(limits.pingMs, limits.slowMs, 5_000));
    const tick = setInterval(() => {
      if (Date.now() - this.lastWrite >= limits.pingMs) this.ping();
      if (this.slowSince !== undefined && Date.now() - this.slowSince >= limits.slowMs) this.closeSlow();
    }, every);
    const max = setTimeout(() => this.end(`maximum stream duration ${limits.maxMs} ms reached; resume with Last-Event-ID`), limits.maxMs);
    tick.unref(); max.unref();
    this.timers.push(tick, max);
    res.on('close', () => this.finish('client closed'));
  }

  get closed(): boolean { return this.ended; }
  get position(): string { return encodeCursor(this.cursor); }

  /** A line of its own (the accepted session, a control message), outside the event sequence. */
  control(type: string, body: Record<string, unknown>): void {
    const { text, json } = this.frame(type, body);
    this.enqueue({ text, size: json.length });
  }

  /** A line of the stream's own: an SSE event of its type, or an NDJSON object. */
  private frame(type: string, body: Record<string, unknown>): { text: string; json: string } {
    const json = JSON.stringify({ type, ...body });
    return { json, text: this.mode === 'sse' ? `event: ${type}\ndata: ${json}\n\n` : `${json}\n` };
  }

  push(item: StreamItem): void {
    if (this.ended || !isAfter(this.cursor, item.tp, item.offset)) return;
    this.cursor.set(item.tp, item.offset);
    this.enqueue({ item, id: encodeCursor(this.cursor), size: item.json.length });
    if (this.hooks.endsAfter?.(item)) this.end(`${item.type}`);
  }

  private ping(): void {
    const text = this.mode === 'sse' ? `: ping ${new Date().toISOString()}\n\n` : `${JSON.stringify({ type: 'ping', at: new Date().toISOString() })}\n`;
    this.enqueue({ text, size: text.length });
  }

  private enqueue(q: Queued): void {
    if (this.ended) return;
    this.queue.push(q);
    this.queuedBytes += q.size;
    this.pump();
  }

  private pump(): void {
    while (!this.waiting && this.queue.length > 0 && !this.res.destroyed) {
      const q = this.queue.shift()!;
      this.queuedBytes -= q.size;
      const text = q.text ?? (this.mode === 'sse' ? sseFrame(q.id!, q.item!.type, q.item!.json) : ndjsonLine(q.id!, q.item!.json));
      this.written += text.length;
      this.lastWrite = Date.now();
      if (q.id) this.lastWrittenId = q.id;
      if (!this.res.write(text)) {
        this.waiting = true;
        this.res.once('drain', () => { this.waiting = false; this.pump(); });
      }
    }
    // Over the limit is allowed for a moment (a replay of the history to a fast reader); a
    // client that stays over it for limits.slowMs is closed.
    this.lagging(this.queuedBytes > this.limits.bufferBytes);
  }

  private lagging(over: boolean): void {
    if (over === (this.slowSince !== undefined)) return;
    this.slowSince = over ? Date.now() : undefined;
    this.hooks.onLagging?.(over);
  }

  private closeSlow(): void {
    if (this.ended) return;
    const reason = `client too slow: more than ${this.limits.bufferBytes} bytes waiting for over ${this.limits.slowMs} ms; reconnect with Last-Event-ID ${this.delivered}`;
    // The reason goes last, whatever is queued: the client learns why and where to resume.
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.finish(reason);
    this.res.end(this.closing(reason, this.delivered));
    // A client that does not read will not read the reason either: do not hold its socket.
    setTimeout(() => this.res.destroy(), 1_000).unref();
  }

  /** The id of the last event handed to the socket (what the client can have). */
  private get delivered(): string {
    return this.lastWrittenId ?? '0';
  }

  private lastWrittenId: string | undefined;

  private closing(reason: string, lastId: string): string {
    return this.frame('stream_closed', { reason, last_event_id: lastId }).text;
  }

  /** Ends the stream after what is queued, the reason as its last line. */
  end(reason: string): void {
    if (this.ended) return;
    this.enqueue({ text: this.closing(reason, this.position), size: 0 });
    this.finish(reason);
    const close = () => this.res.end();
    if (this.waiting || this.queue.length > 0) {
      const check = () => { if (this.queue.length === 0 && !this.waiting) close(); else this.res.once('drain', check); };
      this.res.once('drain', check);
    } else close();
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.lagging(false);
    for (const t of this.timers) clearTimeout(t);
    this.hooks.onEnd?.(reason);
  }
}
