// One client's stream of a session (NDJSON or SSE over an HTTP response). Writes wait for
// `drain`; what queues while the client does not read is bounded, and a client that stays too
// slow is closed with the reason as the last line. Idle streams get a keep-alive ping, every
// stream ends after a maximum duration, and the gateway can end them all on shutdown.
import type { ServerResponse } from 'node:http';
import { encodeCursor, isAfter, type Cursor } from './cursor';
import type { Subscriber } from './hub';
import { ndjsonLine, sseFrame, type StreamItem } from './stream-item';

export type StreamMode = 'ndjson' | 'sse';

export interface StreamLimits {
  readonly bufferBytes: number;
  readonly pingMs: number;
  readonly maxMs: number;
}

export interface StreamHooks {
  /** Whether the stream ends after this item (convergence, rejection, close). */
  readonly endsAfter?: (item: StreamItem) => boolean;
  readonly onEnd?: (reason: string) => void;
}

export const CONTENT_TYPES: Record<StreamMode, string> = { ndjson: 'application/x-ndjson', sse: 'text/event-stream' };

export class EventStream implements Subscriber {
  private readonly cursor: Cursor;
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  private waiting = false;
  private ended = false;
  private lastWrite = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Bytes handed to the socket, for the benchmarks' memory per stream. */
  written = 0;

  constructor(private readonly res: ServerResponse, private readonly mode: StreamMode, start: Cursor, private readonly limits: StreamLimits, private readonly hooks: StreamHooks = {}) {
    this.cursor = new Map(start);
    const ping = setInterval(() => { if (Date.now() - this.lastWrite >= limits.pingMs) this.ping(); }, Math.max(50, Math.min(limits.pingMs, 5_000)));
    const max = setTimeout(() => this.end(`maximum stream duration ${limits.maxMs} ms reached; resume with Last-Event-ID`), limits.maxMs);
    ping.unref(); max.unref();
    this.timers.push(ping, max);
    res.on('close', () => this.finish('client closed'));
  }

  get closed(): boolean { return this.ended; }
  get position(): string { return encodeCursor(this.cursor); }

  /** A line of its own (the accepted session, a control message), outside the event sequence. */
  control(type: string, body: Record<string, unknown>): void {
    const json = JSON.stringify({ type, ...body });
    this.enqueue(this.mode === 'sse' ? `event: ${type}\ndata: ${json}\n\n` : `${json}\n`);
  }

  push(item: StreamItem): void {
    if (this.ended || !isAfter(this.cursor, item.tp, item.offset)) return;
    this.cursor.set(item.tp, item.offset);
    const id = encodeCursor(this.cursor);
    this.enqueue(this.mode === 'sse' ? sseFrame(id, item.type, item.json) : ndjsonLine(id, item.json));
    if (this.hooks.endsAfter?.(item)) this.end(`${item.type}`);
  }

  private ping(): void {
    this.enqueue(this.mode === 'sse' ? `: ping ${new Date().toISOString()}\n\n` : `${JSON.stringify({ type: 'ping', at: new Date().toISOString() })}\n`);
  }

  private enqueue(chunk: string): void {
    if (this.ended) return;
    if (this.queuedBytes + this.res.writableLength + chunk.length > this.limits.bufferBytes) {
      this.closeSlow();
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    this.pump();
  }

  private pump(): void {
    while (!this.waiting && this.queue.length > 0 && !this.res.destroyed) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.written += chunk.length;
      this.lastWrite = Date.now();
      if (!this.res.write(chunk)) {
        this.waiting = true;
        this.res.once('drain', () => { this.waiting = false; this.pump(); });
      }
    }
  }

  private closeSlow(): void {
    const reason = `client too slow: more than ${this.limits.bufferBytes} bytes waiting; reconnect with Last-Event-ID ${this.position}`;
    // The reason goes last, whatever is queued: the client learns why and where to resume.
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.finish(reason);
    this.res.end(this.closing(reason));
    // A client that does not read will not read the reason either: do not hold its socket.
    setTimeout(() => this.res.destroy(), 1_000).unref();
  }

  private closing(reason: string): string {
    const json = JSON.stringify({ type: 'stream_closed', reason, last_event_id: this.position });
    return this.mode === 'sse' ? `event: stream_closed\ndata: ${json}\n\n` : `${json}\n`;
  }

  /** Ends the stream after what is queued, the reason as its last line. */
  end(reason: string): void {
    if (this.ended) return;
    this.enqueue(this.closing(reason));
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
    for (const t of this.timers) clearTimeout(t);
    this.hooks.onEnd?.(reason);
  }
}
