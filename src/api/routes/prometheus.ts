// GET /metrics: this process's Prometheus metrics (text format). Outside /v1: no tenant, no rate
// limit (a scraper polls on a schedule) and no wait for Redis (a scrape during an outage answers,
// with traind_redis_up 0). Who may read it: src/metrics/metrics-access.ts.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { metricsAccess, METRICS_DENIED_MESSAGE, METRICS_OFF_MESSAGE } from '../../metrics/metrics-access.js';
import { metricsRegistry } from '../../metrics/registry.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema } from '../errors.js';

export function prometheusRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics of this process',
          description:
            'Prometheus text exposition format. Needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set; ' +
            'without it, open when no API keys are configured and 404 when they are (a tenant API key never opens it).',
          tags: ['metrics'],
          security: [{ metricsToken: [] }, {}],
          response: {
            200: { description: 'the metrics', content: { 'text/plain': { schema: z.string() } } },
            401: ErrorBodySchema,
            404: ErrorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const access = metricsAccess(ctx.config, request.headers.authorization);
        if (access === 'off') throw new ApiError('not_found', METRICS_OFF_MESSAGE);
        if (access === 'denied') {
          reply.header('WWW-Authenticate', 'Bearer realm="metrics"');
          throw new ApiError('unauthorized', METRICS_DENIED_MESSAGE);
        }
        const registry = metricsRegistry();
        const text = await registry.metrics();
        return reply.code(200).type(registry.contentType).send(text);
      },
    );
  };
}
