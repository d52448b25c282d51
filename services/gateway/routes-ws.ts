// WebSocket /ws/solver (seed 000 §9.5): subscribe to sessions and push cost updates over one
// socket. Server messages are the stream's JSON events (with their ids) and acks; a client whose
// unsent bytes (bufferedAmount) pass the stream limit is closed as too slow, with the reason.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { requireScope } from './auth';
import { errorResponses, principalOf, type GatewayDeps } from './app';
import { encodeCursor, isAfter, parseCursor, type Cursor } from './cursor';
import { GatewayError, toHttpError } from './errors';
import type { Subscriber } from './hub';
import { closeReason } from './metrics';
import { costBodyCheck, costEvent } from './routes-swarm';
import { visibleOpening } from './routes-sessions';
import { ndjsonLine } from './stream-item';

/** Close code for "too slow" and "shutting down" (4000-4999: application codes). */
const WS_TOO_SLOW = 4008;
const WS_GOING_AWAY = 1001;

export function registerWebSocket(app: FastifyInstance, deps: GatewayDeps): void {
  app.get('/ws/solver', {
    websocket: true,
    config: { scope: 'read' },
    schema: { summary: 'WebSocket: {"type":"subscribe","session_id","after"?}, {"type":"unsubscribe","session_id"}, {"type":"cost_update",...} (scope costs)', response: { ...errorResponses } },
    preValidation: async () => { deps.streams.admit(); },
  }, (socket: WebSocket, req) => {
    const p = principalOf(req);
    const checkCost = costBodyCheck(req);
    const limit = deps.config.knobs.gatewayStreamBufferBytes;
    const subs = new Map<string, () => void>();
    let closed = false;
    // Over the limit for a moment is a replay; over it for GATEWAY_SLOW_CLIENT_MS is a slow client.
    let slowSince: number | undefined;
    const slowMs = deps.config.knobs.gatewaySlowClientMs;
    const lagging = (over: boolean) => {
      if (over === (slowSince !== undefined)) return;
      slowSince = over ? Date.now() : undefined;
      if (over) deps.metrics.streamsLagging.inc({ kind: 'ws' }); else deps.metrics.streamsLagging.dec({ kind: 'ws' });
    };
    const send = (text: string) => {
      if (closed) return;
      socket.send(text);
      lagging(socket.bufferedAmount > limit);
    };
    const watch = setInterval(() => {
      if (socket.bufferedAmount <= limit) lagging(false);
      else if (slowSince !== undefined && Date.now() - slowSince >= slowMs) close(WS_TOO_SLOW, `client too slow: more than ${limit} bytes unsent for ${slowMs} ms`);
    }, Math.max(20, Math.min(slowMs, 1_000)));
    watch.unref();
    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      lagging(false);
      for (const u of subs.values()) u();
      subs.clear();
      unregister();
      deps.metrics.streamsOpen.dec({ kind: 'ws' });
      deps.metrics.streamsClosed.inc({ reason: closeReason(reason) });
      // A close reason is at most 123 bytes.
      socket.close(code, reason.slice(0, 123));
    };
    const handle = { end: (reason: string) => close(WS_GOING_AWAY, reason), get closed() { return closed; } };
    const unregister = deps.streams.add(handle);
    deps.metrics.streamsOpen.inc({ kind: 'ws' });
    const ping = setInterval(() => socket.ping(), deps.config.knobs.gatewayPingMs);
    ping.unref();
    socket.on('close', () => { clearInterval(ping); clearInterval(watch); if (!closed) close(1000, 'client closed'); });
    const fail = (err: unknown, ref?: unknown) => {
      const e = toHttpError(err);
      send(JSON.stringify({ type: 'error', code: e.code, message: e.message, ...(ref === undefined ? {} : { ref }) }));
    };
    socket.on('message', (data) => {
      let msg: { type?: string; session_id?: string; after?: string } & Record<string, unknown>;
      try { msg = JSON.parse(String(data)) as typeof msg; } catch { fail(new GatewayError('BAD_REQUEST', 'a message must be a JSON object')); return; }
      try {
        switch (msg.type) {
          case 'subscribe': {
            const s = visibleOpening(deps, p, String(msg.session_id ?? ''));
            subs.get(s.session_id)?.();
            const cursor: Cursor = msg.after ? parseCursor(msg.after, 'after') : new Map();
            const sub: Subscriber = {
              push: (item) => {
                if (!isAfter(cursor, item.tp, item.offset)) return;
                cursor.set(item.tp, item.offset);
                send(ndjsonLine(encodeCursor(cursor), item.json).slice(0, -1));
              },
            };
            send(JSON.stringify({ type: 'subscribed', session_id: s.session_id }));
            subs.set(s.session_id, deps.hub.subscribe(s.session_id, sub, msg.after ? { after: cursor } : {}));
            return;
          }
          case 'unsubscribe':
            subs.get(String(msg.session_id))?.();
            subs.delete(String(msg.session_id));
            send(JSON.stringify({ type: 'unsubscribed', session_id: msg.session_id }));
            return;
          case 'cost_update': {
            requireScope(p, 'costs');
            const e = costEvent(deps, p, checkCost(msg, ''));
            deps.sender.send('solver.costs', [e]).then(([at]) => {
              deps.metrics.published.inc({ topic: 'solver.costs' });
              send(JSON.stringify({ type: 'ack', ref: msg.update_id ?? null, session_id: e.session_id, event_id: e.meta.event_id, topic: 'solver.costs', partition: at!.partition, offset: at!.offset }));
            }, (err: unknown) => fail(err, msg.update_id));
            return;
          }
          default:
                  fail(new GatewayError('BAD_REQUEST', `unknown message type ${JSON.stringify(msg.type)}; use subscribe, unsubscribe or cost_update`));
        }
      } catch (err) {
        fail(err, msg.update_id);
      }
    });
  });
}
