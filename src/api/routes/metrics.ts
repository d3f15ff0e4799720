// GET /v1/jobs/:id/metrics: the per-epoch metrics records, oldest first, paged by stream id.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getJob, type MetricsRecord } from '../../store/jobs.js';
import { readStreamPage } from '../../store/stream.js';
import type { RouteContext } from '../context.js';
import { ErrorBodySchema, notFound } from '../errors.js';
import { JobIdParams, MetricsPageSchema, MetricsQuery } from '../schemas.js';

export function metricsRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  return async (app) => {
    app.get(
      '/v1/jobs/:id/metrics',
      {
        schema: {
          summary: "A job's metrics records",
          description: 'Pass nextCursor as `after` to continue: polling with it never skips or repeats a record.',
          tags: ['jobs'],
          params: JobIdParams,
          querystring: MetricsQuery,
          response: { 200: MetricsPageSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema },
        },
      },
      async (request) => {
        const { id } = request.params;
        if ((await getJob(s, id, request.tenant)) === null) throw notFound('job');
        const after = request.query.after ?? null;
        const page = await readStreamPage(s, id, after, request.query.limit, ['metrics']);
        return { items: page.items.map((e) => e.data as unknown as MetricsRecord), nextCursor: page.nextCursor ?? after };
      },
    );
  };
}
