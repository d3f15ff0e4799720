// Liveness and readiness: /healthz answers while the process runs, /readyz when Redis answers
// (and says which compute backend this process runs, with the native addon's load error if any).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { computeBackend } from '../../compute-backend.js';
import type { RouteContext } from '../context.js';
import { ErrorBodySchema } from '../errors.js';

const READY_TIMEOUT_MS = 1000;

const ReadySchema = z.object({
  status: z.literal('ready'),
  backend: z.string().meta({ description: 'compute backend of this process, e.g. native-avx512, wasm-simd, js' }),
  nativeAddonError: z.string().nullable().meta({ description: 'why the native addon did not load; null when it did' }),
});

export function healthRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { summary: 'Process is up', tags: ['health'], security: [], response: { 200: z.object({ status: z.literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Redis is reachable',
          description: 'Also reports the compute backend this API process predicts with and, when the native addon did not load, why.',
          tags: ['health'],
          security: [],
          response: { 200: ReadySchema, 503: ErrorBodySchema },
        },
      },
      async (_request, reply) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
        });
        const pong = await Promise.race([ctx.redis.ping().catch(() => 'error'), timeout]);
        clearTimeout(timer);
        if (pong !== 'PONG') {
          return reply.code(503).send({ error: { code: 'unavailable', message: 'Redis is not reachable', details: { redis: pong } } });
        }
        return { status: 'ready' as const, ...computeBackend() };
      },
    );
  };
}
