// Prometheus metrics, declared once. Each service gets its own registry so tests running
// several runners in one process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface RuntimeMetrics {
  readonly registry: Registry;
  readonly recordsIn: Counter<'topic'>;
  readonly recordsOut: Counter<'topic'>;
  readonly deadLettered: Counter<'topic' | 'error_class'>;
  readonly retries: Counter<'error_class'>;
  readonly transactions: Counter<'result'>;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly batchSeconds: Histogram<'topic'>;
  readonly recordSeconds: Histogram<'topic'>;
}

export function createMetrics(service: string, withDefaults = true): RuntimeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (withDefaults) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    recordsIn: new Counter({ name: 'solvermesh_records_in_total', help: 'Records consumed', labelNames: ['topic'], registers }),
    recordsOut: new Counter({ name: 'solvermesh_records_out_total', help: 'Records produced (committed)', labelNames: ['topic'], registers }),
    deadLettered: new Counter({ name: 'solvermesh_dlq_total', help: 'Records sent to a dead-letter topic', labelNames: ['topic', 'error_class'], registers }),
    retries: new Counter({ name: 'solvermesh_retries_total', help: 'Retries of retriable failures', labelNames: ['error_class'], registers }),
    transactions: new Counter({ name: 'solvermesh_transactions_total', help: 'Consume-transform-produce transactions', labelNames: ['result'], registers }),
    lag: new Gauge({ name: 'solvermesh_consumer_lag', help: 'Records behind the high watermark', labelNames: ['topic', 'partition'], registers }),
    batchSeconds: new Histogram({
      name: 'solvermesh_batch_seconds', help: 'Time to process and commit one batch', labelNames: ['topic'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    recordSeconds: new Histogram({
      name: 'solvermesh_record_processing_seconds', help: 'Decode + handle time per record', labelNames: ['topic'], registers,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 1],
    }),
  };
}
