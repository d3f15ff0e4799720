// GET /v1/usage: what the tenant stores against its quota, its datasets and jobs, and training time.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readUsage } from '../../store/usage.js';
import type { RouteContext } from '../context.js';
import { ErrorBodySchema } from '../errors.js';
import { UsageSchema } from '../schemas.js';

export function usageRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/usage',
      {
        schema: {
          summary: "The tenant's storage, datasets, jobs and training seconds",
          tags: ['usage'],
          response: { 200: UsageSchema, 401: ErrorBodySchema },
        },
      },
      async (request) => ({ tenant: request.tenant, ...(await readUsage(ctx.store, request.tenant)) }),
    );
  };
}
