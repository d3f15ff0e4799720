// A worker process's own metrics endpoint on WORKER_METRICS_PORT: GET /metrics and nothing else,
// with the API's access rule (src/metrics/metrics-access.ts). Bound to HOST when the endpoint is
// closed to strangers (METRICS_TOKEN set, or API keys configured), else to loopback only, as the
// API is without keys. A plain node:http server: a worker has no Fastify app.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import { metricsAccess, METRICS_DENIED_MESSAGE, METRICS_OFF_MESSAGE } from './metrics-access.js';
import { metricsRegistry } from './registry.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface MetricsServer {
  /** The bound address, e.g. http://127.0.0.1:9464. */
  url: string;
  close(): Promise<void>;
}

/** HOST when metrics need a token (or are off); loopback only while they are open to anyone. */
export function metricsHost(config: Pick<Config, 'apiKeys' | 'host' | 'metricsToken'>): string {
  if (config.metricsToken !== null || config.apiKeys.length > 0 || LOOPBACK.has(config.host)) return config.host;
  return '127.0.0.1';
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, details: {} } });
}

export async function startMetricsServer(config: Config): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(errorBody('not_found', `${req.method ?? ''} ${path?.slice(0, 40) ?? ''} not found: only GET /metrics is served here`));
      return;
    }
    const access = metricsAccess(config, req.headers.authorization);
    if (access === 'off') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(errorBody('not_found', METRICS_OFF_MESSAGE));
      return;
    }
    if (access === 'denied') {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer realm="metrics"', Connection: 'close' });
      res.end(errorBody('unauthorized', METRICS_DENIED_MESSAGE));
      return;
    }
    const registry = metricsRegistry();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'Content-Type': 'application/json' }).end(errorBody('internal', 'could not collect metrics')),
    );
  });
  // A scraper that connects and says nothing must not hold a socket for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  const host = metricsHost(config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.workerMetricsPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
