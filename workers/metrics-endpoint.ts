// A worker process's metrics endpoint (split mode): WORKER_METRICS_PORT, 0 = none. The all-in-one
// server needs none: its workers count into the registry its API's GET /metrics exposes.
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { startMetricsServer, type MetricsServer } from '../src/metrics/metrics-server.js';

export async function serveWorkerMetrics(config: Config, logger: Logger): Promise<MetricsServer | null> {
  if (config.workerMetricsPort === 0) return null;
  if (config.apiKeys.length > 0 && config.metricsToken === null) {
    logger.warn('WORKER_METRICS_PORT is set but METRICS_TOKEN is not: with API keys configured, /metrics answers 404 until it is');
  }
  const server = await startMetricsServer(config);
  logger.info({ url: `${server.url}/metrics` }, 'worker metrics listening');
  return server;
}
