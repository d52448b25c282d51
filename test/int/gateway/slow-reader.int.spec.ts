// Two readers of one session: one reads, one does not. The one that does not read fills its
// socket and then its stream's queue past GATEWAY_STREAM_BUFFER_BYTES; the other must get every
// event all the same. The session's iterations are written to the log by the spec (real-sized
// IterationCompleted, 8 changes each), as many as it takes to fill the kernel's socket buffers
// (a few MB on loopback) and the queue after them.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { IterationCompleted } from '../../../schemas/generated/events';
import type { RunningGateway } from '../../../services/gateway';
import { openSession } from '../../../services/solver/events';
import { poisson2d } from '../../../wasm/src/problems';
import { TestKafka } from '../../support/kafka';
import { bearer, startTestGateway, StreamReader, TOKENS } from './support';

const BATCH = 1000;
const MAX_BATCHES = 80;
const BUFFER_BYTES = 64 * 1024;

/** A raw HTTP/1.1 client that reads the response head and then stops reading until resumed. */
class StalledReader {
  private raw = Buffer.alloc(0);
  private headEnd = -1;
  private wake: (() => void) | undefined;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.raw = Buffer.concat([this.raw, d]);
      if (this.headEnd < 0) {
        this.headEnd = this.raw.indexOf('\r\n\r\n');
        // Stop reading as soon as the head is in: from here on nothing is taken off the socket.
        if (this.headEnd >= 0) socket.pause();
      }
      this.wake?.();
    });
    socket.on('close', () => this.wake?.());
  }

  static open(port: number, path: string, token: string): Promise<StalledReader> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\naccept: application/x-ndjson\r\n\r\n`);
        resolve(new StalledReader(socket));
      });
      socket.once('error', reject);
    });
  }

  get status(): number { return Number(/^HTTP\/1\.1 (\d+)/.exec(this.raw.toString('latin1'))?.[1] ?? 0); }

  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`slow reader: ${what} not met within ${timeoutMs} ms`);
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, 200); });
    }
  }

  /** The NDJSON lines of the chunked body received so far. */
  lines(): string[] {
    const out: string[] = [];
    let pos = this.headEnd + 4;
    for (;;) {
      const eol = this.raw.indexOf('\r\n', pos);
      if (eol < 0) break;
      const size = parseInt(this.raw.toString('latin1', pos, eol), 16);
      if (!(size > 0) || eol + 2 + size > this.raw.length) break;
      out.push(...this.raw.toString('utf8', eol + 2, eol + 2 + size).split('\n').filter((l) => l !== ''));
      pos = eol + 2 + size + 2;
    }
    return out;
  }
}

const iterationOf = (line: string | undefined): number => {
  const e = line === undefined ? undefined : JSON.parse(line) as { type: string; iteration?: number };
  return e?.type === 'IterationCompleted' ? e.iteration! : 0;
};

/** The iteration numbers of a stream's lines, in the order they came. */
const iterations = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as { type: string; iteration?: number }).filter((e) => e.type === 'IterationCompleted').map((e) => e.iteration!);

describe('gateway: a slow reader does not delay a fast one', function () {
  this.timeout(300_000);
  let k: TestKafka;
  let gw: RunningGateway;
  let base: string;
  const sessionId = '5e5510a0-0000-4000-8000-00000000051a';
  const a = poisson2d(8);

  before(async () => {
    k = await TestKafka.create('gateway-slow');
    // The slow stream is never closed here (GATEWAY_SLOW_CLIENT_MS): the spec looks at it while it lags.
    gw = await startTestGateway(k.prefix, { GATEWAY_STREAM_BUFFER_BYTES: String(BUFFER_BYTES), GATEWAY_SLOW_CLIENT_MS: '600000', GATEWAY_HISTORY_EVENTS: '500000', GATEWAY_PING_MS: '600000' });
    base = `http://127.0.0.1:${gw.port}`;
  });
  after(async () => {
    await gw?.stop(0);
    await k?.close();
  });

  const lagging = async () => {
    const m = /solvermesh_gateway_streams_lagging\{[^}]*kind="ndjson"[^}]*\} (\d+)/.exec(await (await fetch(`${base}/metrics`)).text());
    return Number(m?.[1] ?? 0);
  };

  it('given a reader that stopped reading, when its stream passes the byte limit, then the other reader still gets every event as it is written, and the slow one gets all of them once it reads again', async () => {
    const [opened, ...chunks] = openSession(sessionId, a, Array.from({ length: a.n }, () => 1), { occurredAt: Date.now() * 1000 });
    assert.equal(opened?.type, 'SessionOpened');
    opened.owner = 'alice';
    await k.sendEvents('solver.sessions', [opened, ...chunks].map((event) => ({ key: sessionId, event })));
    for (const deadline = Date.now() + 30_000; (await fetch(`${base}/api/v1/status/${sessionId}`, { headers: bearer('alice') })).status !== 200;) {
      assert.ok(Date.now() < deadline, 'the gateway never saw the session');
      await new Promise((r) => setTimeout(r, 100));
    }
    const path = `/api/v1/sessions/${sessionId}/events?follow=true`;
    const slow = await StalledReader.open(gw.port, path, TOKENS.alice);
    await slow.waitFor(() => slow.status !== 0, 10_000, 'response head');
    assert.equal(slow.status, 200);
    const fastRes = await fetch(`${base}${path}`, { headers: { ...bearer('alice'), accept: 'application/x-ndjson' } });
    assert.equal(fastRes.status, 200);
    const fast = new StreamReader(fastRes);

    let written = 0;
    const writeBatch = async () => {
      const at = Date.now() * 1000;
      const events = Array.from({ length: BATCH }, (_, i): IterationCompleted => {
        const it = written + i + 1;
        return {
          type: 'IterationCompleted',
          meta: { event_id: `${sessionId}-it-${it}`, correlation_id: sessionId, causation_id: null, occurred_at: at, producer: 'solver', sequence: it },
          session_id: sessionId, applied_through: [], iteration: it, iterations_in_batch: 1, n: a.n, method: 'CG',
          residual_norm: 1 / it, convergence_rate: 0.9,
          x_change_indices: Array.from({ length: 8 }, (_, j) => (it + j * 7) % a.n), x_change_values: Array.from({ length: 8 }, (_, j) => Math.sin(it + j)),
          iteration_time_ms: 0.5, flops: null,
          verified: null, verification_score: null, swarm_consensus: null, swarm_participants: null, verified_iteration: null, verification_interval: null,
        };
      });
      await k.sendEvents('solver.iterations', events.map((event) => ({ key: sessionId, event })));
      written += BATCH;
      // The fast reader gets the whole batch before the next one is written.
      await fast.readUntil((items) => iterationOf(items.at(-1)) >= written, 60_000);
    };

    // Given: batches until the stream that is not read holds more than its limit.
    let batches = 0;
    while ((await lagging()) === 0) {
      assert.ok(batches++ < MAX_BATCHES, `the stalled stream never passed ${BUFFER_BYTES} bytes after ${written} events`);
      await writeBatch();
    }
    const before = slow.lines().length;

    // When: more events while it lags. Then: the fast reader has each batch, the slow one still lags.
    for (let i = 0; i < 3; i++) {
      await writeBatch();
      assert.equal(await lagging(), 1, 'only the stalled stream lags');
    }
    assert.deepEqual(iterations(fast.items), Array.from({ length: written }, (_, i) => i + 1), 'the fast reader has every iteration once, in order');
    assert.ok(before < written / 2, `the stalled reader took ${before} lines off the socket of ${written}`);

    // And when the slow reader reads again, it gets every event, in order, and stops lagging.
    slow.socket.resume();
    await slow.waitFor(() => iterationOf(slow.lines().at(-1)) >= written, 120_000, `iteration ${written}`);
    assert.deepEqual(iterations(slow.lines()), Array.from({ length: written }, (_, i) => i + 1));
    assert.equal(await lagging(), 0);
    slow.socket.destroy();
    await fast.cancel();
  });
});
