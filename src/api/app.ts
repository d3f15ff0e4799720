// buildApp(config, deps): the Fastify app with every route, auth, rate limiting, the error
// handler and the OpenAPI document. It never listens: src/server.ts does.
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { completeDocument } from './openapi-contract.js';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { observeHttpRequest } from '../metrics/http-metrics.js';
import { watchQueue } from '../metrics/queue-metrics.js';
import { createEvaluationQueue } from '../queue/evaluation-queue.js';
import type { TrainQueue } from '../queue/queue.js';
import { createStore } from '../store/redis.js';
import { identifyHook, rateLimitKey, requireTenantHook } from './auth.js';
import { clientErrorHandler } from './client-errors.js';
import type { RouteContext } from './context.js';
import { CpuPool } from './cpu/pool.js';
import { EventHub } from './event-hub.js';
import { ApiError, errorHandler, notFoundHandler } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { ownerBeforeBodyHook } from './owner-before-body.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { datasetRoutes } from './routes/datasets.js';
import { evaluationRoutes } from './routes/evaluations.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { predictRoutes } from './routes/predict.js';
import { prometheusRoutes } from './routes/prometheus.js';
import { sweepRoutes } from './routes/sweeps.js';
import { usageRoutes } from './routes/usage.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface AppDeps {
  /** Commands connection (bounded retries). SSE readers duplicate it. */
  redis: Redis;
  /** null builds the app only to generate its OpenAPI document. */
  queue: TrainQueue | null;
  /** A pino logger; default: a new one at config.logLevel. */
  logger?: FastifyBaseLogger;
  /** Sees every response the app sends (the tests check each against the OpenAPI document). */
  observeResponse?: (response: ObservedResponse) => void;
}

export interface ObservedResponse {
  method: string;
  /** The route pattern ("/v1/jobs/:id"), undefined when no route matched. */
  route: string | undefined;
  status: number;
  contentType: string | undefined;
  /** The serialized body; null when it is streamed. */
  body: string | Buffer | null;
}

export const API_VERSION = '1.0.0';

/** How long a request waits for a reconnecting Redis before answering 503. */
const REDIS_WAIT_MS = 1000;

/** Fails fast during a Redis outage instead of queueing commands behind reconnect attempts. */
function redisReadyHook(redis: Redis) {
  // One shared wait, so a burst of requests during an outage adds one listener, not one each.
  let waiting: Promise<boolean> | null = null;
  const waitReady = (): Promise<boolean> =>
    (waiting ??= new Promise<boolean>((resolve) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        resolve(false);
      }, REDIS_WAIT_MS);
      redis.once('ready', onReady);
    }).finally(() => {
      waiting = null;
    }));
  return async (): Promise<void> => {
    if (redis.status === 'ready') return;
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
    if (!(await waitReady())) throw new ApiError('unavailable', 'Redis is unreachable; retry shortly', { retryAfterSeconds: 5 });
  };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const logOptions = {
    level: config.logLevel,
    // Never log credentials.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
  };
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: logOptions }),
    bodyLimit: config.limits.jsonBodyBytes,
    // Accept a caller's X-Request-Id when it is harmless, so logs correlate across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // One log line per request (the onResponse hook below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 200 },
    // X-Forwarded-For decides request.ip (and so the per-address rate limit) only behind a trusted proxy.
    trustProxy: config.trustProxy,
    // Slow senders (a byte every few seconds) get 408 and lose the socket instead of holding it.
    requestTimeout: config.timeouts.requestMs,
    http: {
      headersTimeout: config.timeouts.headersMs,
      requestTimeout: config.timeouts.requestMs,
      // Node checks for expired requests on this period (30 s by default): a tenth of the shortest
      // timeout, so a timeout is enforced within 10 % of its value.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(config.timeouts.headersMs / 10))),
    },
    clientErrorHandler: clientErrorHandler(config),
    // Bad URLs and over-long ids are refused before routing: answer them in the same error format.
    frameworkErrors: (err, request, reply) => errorHandler(err, request, reply),
  }).withTypeProvider<ZodTypeProvider>();

  // Our JSON parser: its refusals say what is wrong (a "__proto__" key is not a syntax error).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('tenant', '');
  app.decorateRequest('authFailure', null);
  app.decorateRequest('rateLimitBucket', '');
  app.addHook('onSend', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  const observe = deps.observeResponse;
  if (observe !== undefined) {
    app.addHook('onSend', async (request, reply, payload) => {
      const type = reply.getHeader('content-type');
      observe({
        method: request.method,
        route: request.routeOptions.url,
        status: reply.statusCode,
        contentType: typeof type === 'string' ? type : undefined,
        body: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : payload == null ? '' : null,
      });
      return payload;
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, tenant: request.tenant || undefined },
      'request',
    );
    observeHttpRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });

  const store = createStore(config, deps.redis);
  const ctx: RouteContext = {
    config,
    store,
    queue: deps.queue,
    // Made here from the same connection, so every caller of buildApp gets evaluations without wiring.
    evaluations: deps.queue === null ? null : createEvaluationQueue(config, deps.redis),
    redis: deps.redis,
    events: new EventHub(store, deps.redis, { connections: config.sseRedisConnections }),
    cpu: new CpuPool(config.cpuThreads, config.cpuQueue, config.storage, config.cpuThreadHeapMb),
    openStreams: new Set(),
  };
  app.addHook('onClose', async () => {
    await ctx.cpu.close();
    await ctx.evaluations?.close();
  });
  // Before the server stops accepting: open event streams would otherwise hold close() open.
  app.addHook('preClose', async () => {
    for (const close of [...ctx.openStreams]) close();
    ctx.events.close();
  });
  const unwatchQueue = watchQueue(deps.queue, deps.redis);
  app.addHook('onClose', async () => unwatchQueue());

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'traind',
        description: 'Training-job service: upload datasets, submit training jobs, stream metrics, download the best checkpoints, predict.',
        version: API_VERSION,
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API key (npm run keygen -- <tenant>)' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN (GET /metrics only; an API key does not open it)' },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'datasets', description: 'training data' },
        { name: 'jobs', description: 'training jobs, their metrics and events' },
        { name: 'checkpoints', description: 'safetensors checkpoints' },
        { name: 'sweeps', description: 'hyperparameter sweeps: trials are jobs, stopped early by ASHA' },
        { name: 'usage', description: "the tenant's storage quota, jobs and training time" },
        { name: 'webhooks', description: 'signed job events POSTed to your URLs (Standard Webhooks)' },
        { name: 'health', description: 'liveness and readiness' },
        { name: 'metrics', description: 'Prometheus metrics' },
        { name: 'dashboard', description: 'the web dashboard for people (GET /)' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => completeDocument(jsonSchemaTransformObject(input) as Record<string, unknown>, { apiKeys: config.apiKeys.length > 0 }) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes(ctx));
  await app.register(prometheusRoutes(ctx));
  await app.register(dashboardRoutes());

  // Everything under /v1: rate limited (per key, or per client address without a valid key), then
  // authenticated, then, for requests with a body about an id, checked for ownership: all before
  // the body is read. The rate limiter's hook runs after every onRequest hook of this scope, so
  // refusals wait for preParsing.
  await app.register(async (v1) => {
    v1.addHook('onRequest', redisReadyHook(deps.redis));
    v1.addHook('onRequest', identifyHook(config));
    v1.addHook('preParsing', requireTenantHook(config, store));
    v1.addHook('preParsing', ownerBeforeBodyHook(store));
    await v1.register(rateLimit, {
      max: config.rateLimit.max,
      timeWindow: config.rateLimit.windowMs,
      keyGenerator: rateLimitKey,
      redis: deps.redis,
      nameSpace: `${ctx.store.keys.prefix}:ratelimit:`,
      // A Redis hiccup must not turn every request into an error: fail open.
      skipOnError: true,
      errorResponseBuilder: (_req, c) => new ApiError('rate_limited', `rate limit exceeded: ${c.max} requests per ${Math.round(config.rateLimit.windowMs / 1000)} s; retry in ${c.after}`),
    });
    await v1.register(datasetRoutes(ctx));
    await v1.register(jobRoutes(ctx));
    await v1.register(metricsRoutes(ctx));
    await v1.register(eventRoutes(ctx));
    await v1.register(checkpointRoutes(ctx));
    await v1.register(predictRoutes(ctx));
    await v1.register(evaluationRoutes(ctx));
    await v1.register(usageRoutes(ctx));
    await v1.register(webhookRoutes(ctx));
    await v1.register(sweepRoutes(ctx));
  });

  await app.ready();
  return app;
}
