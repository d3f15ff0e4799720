// With Redis unreachable the API stays up: /healthz 200, /readyz 503, /v1 requests 503 in the
// error format (never a 500, never a hang).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceRecorder } from '../helpers/conformance.js';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { createTrainQueue } from '../../src/queue/queue.js';
import { createRedis } from '../../src/store/redis.js';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { errorOf, uniquePrefix, xorSpec } from './helpers.js';

describe('Redis unreachable', () => {
  let app: FastifyInstance;
  let redis: Redis;
  let queue: ReturnType<typeof createTrainQueue>;
  const conformance = conformanceRecorder();
  beforeAll(async () => {
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', KEY_PREFIX: uniquePrefix(), LOG_LEVEL: 'silent' });
    redis = createRedis(config, { name: 'test-down' });
    redis.on('error', () => undefined);
    queue = createTrainQueue(config, redis);
    queue.on('error', () => undefined);
    app = await buildApp(config, { redis, queue, observeResponse: conformance.observe });
  });
  afterAll(async () => {
    await app.close();
    await queue.close().catch(() => undefined);
    redis.disconnect();
    expect(conformance.violations()).toEqual([]);
  });

  it('answers health, readiness and API requests without a 500', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(errorOf(ready.body).code).toBe('unavailable');
    const t0 = Date.now();
    const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() });
    expect(res.statusCode).toBe(503);
    expect(errorOf(res.body).code).toBe('unavailable');
    expect(res.headers['retry-after']).toBe('5');
    expect(Date.now() - t0).toBeLessThan(15_000);
    const get = await app.inject({ method: 'GET', url: '/v1/jobs/job_01JD0000000000000000000000' });
    expect(get.statusCode).toBe(503);
  });
});
