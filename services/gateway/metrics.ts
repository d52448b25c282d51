// The gateway's metrics beside the process defaults, on its own registry.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly streamsOpen: Gauge<'kind'>;
  readonly streamsClosed: Counter<'reason'>;
  readonly streamsLagging: Gauge<'kind'>;
  readonly errors: Counter<'code'>;
  readonly rateLimited: Counter<'by'>;
  readonly published: Counter<'topic'>;
  readonly recordsFollowed: Counter;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'gateway' });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    streamsOpen: new Gauge({ name: 'solvermesh_gateway_streams_open', help: 'Streams held open', labelNames: ['kind'], registers }),
    streamsLagging: new Gauge({ name: 'solvermesh_gateway_streams_lagging', help: 'Streams with more than GATEWAY_STREAM_BUFFER_BYTES waiting for their client now', labelNames: ['kind'], registers }),
    streamsClosed: new Counter({ name: 'solvermesh_gateway_streams_closed_total', help: 'Streams ended, by why', labelNames: ['reason'], registers }),
    errors: new Counter({ name: 'solvermesh_gateway_errors_total', help: 'Error responses by code', labelNames: ['code'], registers }),
    rateLimited: new Counter({ name: 'solvermesh_gateway_rate_limited_total', help: 'Requests refused 429, by limit', labelNames: ['by'], registers }),
    published: new Counter({ name: 'solvermesh_gateway_published_total', help: 'Events the gateway produced', labelNames: ['topic'], registers }),
    recordsFollowed: new Counter({ name: 'solvermesh_gateway_records_followed_total', help: 'Records the gateway consumer folded', registers }),
  };
}

/** Why a stream ended, as a bounded label. */
export function closeReason(reason: string): string {
  if (reason.startsWith('client too slow')) return 'slow_client';
  if (reason.startsWith('maximum stream duration')) return 'max_duration';
  if (reason.startsWith('gateway shutting down')) return 'shutdown';
  if (reason === 'client closed') return 'client_closed';
  return 'completed';
}
