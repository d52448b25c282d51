// The streams one instance holds (HTTP and WebSocket): the cap on how many, and on SIGTERM the
// drain: no new streams, the open ones may finish for up to GATEWAY_DRAIN_MS, then the rest are
// closed with the reason and where to resume.
import { GatewayError } from './errors';

export interface Closable {
  end(reason: string): void;
  readonly closed: boolean;
}

export class StreamRegistry {
  private readonly open = new Set<Closable>();
  draining = false;

  constructor(private readonly max: number) {}

  get size(): number { return this.open.size; }

  /** Throws 503 when draining or full; the caller removes the stream when it ends. */
  admit(): void {
    if (this.draining) throw new GatewayError('UNAVAILABLE', 'gateway shutting down: connect to another instance', { 'retry-after': '1' });
    if (this.open.size >= this.max) throw new GatewayError('UNAVAILABLE', `this gateway holds its maximum of ${this.max} streams (GATEWAY_MAX_STREAMS)`, { 'retry-after': '5' });
  }

  add(s: Closable): () => void {
    this.open.add(s);
    return () => { this.open.delete(s); };
  }

  async drain(ms: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + ms;
    while (this.open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of [...this.open]) s.end(`gateway shutting down after a ${ms} ms drain; reconnect with Last-Event-ID`);
    const hard = Date.now() + 2_000;
    while (this.open.size > 0 && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
  }
}
