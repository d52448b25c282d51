// The bench's HTTP side of the gateway, on node:http (no fetch machinery between the clock and the
// socket): SSE streams read frame by frame with each frame's arrival time, single cost updates
// on a keep-alive connection pool, an NDJSON cost body streamed in, and a session opened through
// POST /solve-stream.
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Csr } from '../../wasm';

export interface SseEvent {
  /** performance.now() when the chunk holding the frame arrived. */
  readonly at: number;
  readonly type: string;
  readonly data: string;
}

export interface SseStream {
  /** Frames received so far (events, not pings). */
  readonly frames: number;
  close(): void;
}

export interface Ack {
  /** performance.now() when the request was started. */
  readonly at: number;
  /** ms from the request's start to its response. */
  readonly ackMs: number;
  readonly partition: number;
  readonly offset: number;
}

export interface IngestResult {
  readonly ms: number;
  readonly acks: number;
  readonly errors: readonly string[];
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/** The offset of solver.costs an IterationCompleted/ConvergenceReached frame reflects, -1 when none. */
export function costsThrough(data: string): number {
  const m = /"applied_through":(\[[^\]]*\])/.exec(data);
  if (!m) return -1;
  const positions = JSON.parse(m[1]!) as Array<{ topic: string; offset: number }>;
  return positions.find((p) => p.topic === 'solver.costs')?.offset ?? -1;
}

export class GatewayClient {
  /** Single requests share a few kept-alive connections, as a client library would. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly auth: string;

  constructor(private readonly base: URL, token: string) {
    this.auth = `Bearer ${token}`;
  }

  private url(path: string): URL { return new URL(path, this.base); }

  /** Opens a session through POST /solve-stream and reads its NDJSON stream to ConvergenceReached. */
  async solve(a: Csr, b: Float64Array): Promise<string> {
    const body = JSON.stringify({
      matrix: { rows: a.n, cols: a.n, nnz: a.values.length, format: 'csr', data: { values: [...a.values], col_indices: [...a.colIdx], row_pointers: [...a.rowPtr] } },
      vector: [...b], method: 'cg', options: { tolerance: 1e-8 },
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(this.url('/api/v1/solve-stream'), { method: 'POST', agent: false, headers: { authorization: this.auth, 'content-type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end(body);
    });
    const text = await readBody(res);
    if (res.statusCode !== 200) throw new Error(`POST /api/v1/solve-stream: HTTP ${res.statusCode} ${text.slice(0, 500)}`);
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; session_id?: string });
    if (!lines.some((l) => l.type === 'ConvergenceReached')) throw new Error(`POST /api/v1/solve-stream ended without ConvergenceReached: ${text.slice(-500)}`);
    return lines[0]!.session_id!;
  }

  /** GET /sessions/:id/events as SSE; resolves once the response headers arrived. */
  stream(sessionId: string, onEvent: (e: SseEvent) => void): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      const req = request(this.url(`/api/v1/sessions/${sessionId}/events`), { agent: false, headers: { authorization: this.auth, accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          void readBody(res).then((t) => reject(new Error(`GET /api/v1/sessions/${sessionId}/events: HTTP ${res.statusCode} ${t.slice(0, 300)}`)));
          return;
        }
        let frames = 0;
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buf += chunk;
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let type = 'message';
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) { frames++; onEvent({ at, type, data }); }
          }
        });
        res.on('error', () => undefined);
        resolve({ get frames() { return frames; }, close: () => req.destroy() });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** One cost update (a b delta, its own group) as a JSON body; its log position from the ack. */
  async postCost(sessionId: string, index: number, value: number): Promise<Ack> {
    const body = JSON.stringify({ session_id: sessionId, delta_costs: { indices: [index], values: [value] }, source_node: 'bench' });
    const at = performance.now();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(this.url('/api/v1/swarm/costs'), { method: 'POST', agent: this.agent, headers: { authorization: this.auth, 'content-type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end(body);
    });
    const text = await readBody(res);
    const ackMs = performance.now() - at;
    if (res.statusCode !== 200) throw new Error(`POST /api/v1/swarm/costs: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
    const ack = (JSON.parse(text) as { acks: Array<{ partition: number; offset: number }> }).acks[0]!;
    return { at, ackMs, partition: ack.partition, offset: ack.offset };
  }

  /**
   * One NDJSON body of cost updates, written as fast as the socket takes it; ms from the first
   * byte sent to the last ack line received.
   */
  ingest(chunks: readonly Buffer[]): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(this.url('/api/v1/swarm/costs'), { method: 'POST', agent: false, headers: { authorization: this.auth, 'content-type': 'application/x-ndjson' } }, (res) => {
        let acks = 0;
        const errors: string[] = [];
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          const cut = buf.lastIndexOf('\n');
          if (cut < 0) return;
          for (const line of buf.slice(0, cut).split('\n')) {
            if (line.includes('"offset"')) acks++;
            else if (line.trim() !== '') errors.push(line);
          }
          buf = buf.slice(cut + 1);
        });
        res.on('end', () => resolve({ ms: performance.now() - t0, acks, errors: res.statusCode === 200 ? errors : [`HTTP ${res.statusCode}`, ...errors] }));
        res.on('error', reject);
      });
      req.on('error', reject);
      let k = 0;
      const write = () => {
        while (k < chunks.length) if (!req.write(chunks[k++]!)) { req.once('drain', write); return; }
        req.end();
      };
      write();
    });
  }

  async metrics(): Promise<string> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(this.url('/metrics'), { agent: this.agent }, resolve);
      req.on('error', reject);
      req.end();
    });
    return readBody(res);
  }

  close(): void {
    this.agent.destroy();
  }
}
