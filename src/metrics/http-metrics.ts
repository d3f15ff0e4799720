// http_request_duration_seconds: every answered request of this process's API, labelled by its
// route pattern (/v1/jobs/:id, never the raw URL, so ids cannot multiply the series).
import { Histogram } from 'prom-client';
import { metricsRegistry } from './registry.js';

/** The route label of a request no route matched (404s of unknown paths). */
export const UNMATCHED_ROUTE = 'unmatched';

const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests answered by the API, by method, route pattern and status code (SSE streams: until they end)',
  labelNames: ['method', 'route', 'status_code'] as const,
  registers: [metricsRegistry()],
});

export function observeHttpRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
  httpDuration.observe({ method, route: route ?? UNMATCHED_ROUTE, status_code: String(statusCode) }, seconds);
}
