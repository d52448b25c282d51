// The impedance service's metrics, declared once; the service passes its registry so /metrics shows them.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ImpedanceMetrics {
  readonly registry: Registry;
  readonly heartbeats: Counter<'result'>;
  readonly stateChanges: Counter<'to'>;
  readonly predictionError: Histogram;
  readonly predictions: Counter<'result'>;
  readonly registryWrites: Counter<'kind'>;
  readonly acksRefused: Counter;
}

export function createImpedanceMetrics(registry: Registry = new Registry()): ImpedanceMetrics {
  const registers = [registry];
  return {
    registry,
    heartbeats: new Counter({ name: 'solvermesh_impedance_heartbeats_total', help: 'Heartbeats folded (applied) or skipped as not newer (duplicate)', labelNames: ['result'], registers }),
    stateChanges: new Counter({ name: 'solvermesh_impedance_state_changes_total', help: 'Agent operational state changes', labelNames: ['to'], registers }),
    predictionError: new Histogram({
      name: 'solvermesh_impedance_prediction_error_ms', help: '|actual - predicted arrival| per ack, ms', registers,
      buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 5000],
    }),
    predictions: new Counter({ name: 'solvermesh_impedance_predictions_total', help: 'Acks measured: within 50 ms of the prediction or not', labelNames: ['result'], registers }),
    registryWrites: new Counter({ name: 'solvermesh_impedance_registry_agent_writes_total', help: 'Agents sent to Redis: whole (hash, indexes, summary entry) or their summary entry only', labelNames: ['kind'], registers }),
    acksRefused: new Counter({ name: 'solvermesh_impedance_acks_refused_total', help: 'Acks of agents never heard from, dead-lettered past IMPEDANCE_MAX_PENDING_ACK_AGENTS', registers }),
  };
}

/** The registry backlog gauge, read when scraped. */
export function registerBacklogGauge(metrics: ImpedanceMetrics, backlog: () => number): void {
  new Gauge({
    name: 'solvermesh_impedance_registry_backlog', help: 'Agents whose latest state is not yet written to the Redis registry', registers: [metrics.registry],
    collect() { this.set(backlog()); },
  });
}
