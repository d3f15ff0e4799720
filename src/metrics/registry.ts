// The process's one Prometheus registry (prom-client): Node's default process metrics plus every
// traind metric this process defines. The API's GET /metrics and a worker's WORKER_METRICS_PORT
// both expose it, so the all-in-one server shows its workers' metrics next to the API's.
import { collectDefaultMetrics, Registry } from 'prom-client';
import { webhookDeliveries } from './webhook-metrics.js';

let registry: Registry | null = null;

export function metricsRegistry(): Registry {
  if (registry === null) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registry.registerMetric(webhookDeliveries);
  }
  return registry;
}
