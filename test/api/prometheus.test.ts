// GET /metrics on the API: who may read it (open in loopback mode, METRICS_TOKEN with API keys, a
// tenant key never), the HTTP histogram labelled by route pattern, and the queue and Redis gauges.
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { loadConfig } from '../../src/config.js';
import { metricsHost } from '../../src/metrics/metrics-server.js';
import { sampleValue } from '../helpers/prometheus.js';
import { startPrivateRedis } from '../helpers/redis.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

const TENANT_KEY = 'tenant-key-0123456789abcdef0123456789';
const TOKEN = 'metrics-token-0123456789abcdef0123456789';
const KEYS = { API_KEYS: `acme:${sha256Hex(TENANT_KEY)}` };

let f: AppFixture | null = null;
afterEach(async () => {
  await f?.close();
  f = null;
});

const scrape = (app: AppFixture['app'], authorization?: string) =>
  app.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } });

describe('GET /metrics access', () => {
  it('is open without API keys', async () => {
    f = await appFixture();
    const res = await scrape(f.app);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE process_cpu_user_seconds_total counter');
  });

  it('with API keys and no METRICS_TOKEN answers 404, whatever key is sent', async () => {
    f = await appFixture(KEYS);
    for (const auth of [undefined, `Bearer ${TENANT_KEY}`]) {
      const res = await scrape(f.app, auth);
      expect(res.statusCode).toBe(404);
      expect(errorOf(res.body).message).toContain('METRICS_TOKEN is not set');
    }
  });

  it('with API keys and METRICS_TOKEN needs that token: no token, a tenant key or a wrong token get 401', async () => {
    f = await appFixture({ ...KEYS, METRICS_TOKEN: TOKEN });
    for (const auth of [undefined, `Bearer ${TENANT_KEY}`, `Bearer ${TOKEN}x`, TOKEN]) {
      const res = await scrape(f.app, auth);
      expect(res.statusCode).toBe(401);
      expect(errorOf(res.body).code).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    }
    const ok = await scrape(f.app, `Bearer ${TOKEN}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('traind_redis_up 1');
  });

  it('a METRICS_TOKEN set without API keys is required too', async () => {
    f = await appFixture({ METRICS_TOKEN: TOKEN });
    expect((await scrape(f.app)).statusCode).toBe(401);
    expect((await scrape(f.app, `Bearer ${TOKEN}`)).statusCode).toBe(200);
  });

  it('a worker metrics port binds beyond loopback only when a token or API keys guard it', () => {
    const key = { tenant: 'acme', sha256: sha256Hex(TENANT_KEY) };
    expect(metricsHost({ host: '0.0.0.0', apiKeys: [], metricsToken: null })).toBe('127.0.0.1');
    expect(metricsHost({ host: '0.0.0.0', apiKeys: [], metricsToken: TOKEN })).toBe('0.0.0.0');
    expect(metricsHost({ host: '0.0.0.0', apiKeys: [key], metricsToken: null })).toBe('0.0.0.0');
    expect(metricsHost({ host: '::1', apiKeys: [], metricsToken: null })).toBe('::1');
  });

  it('a short METRICS_TOKEN is refused at start-up without echoing it', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short-secret' })).toThrow(/METRICS_TOKEN: must be at least 32 characters \(got 12\)/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
  });
});

describe('GET /metrics content', () => {
  it('labels HTTP requests by route pattern, never by raw URL, and counts them', async () => {
    f = await appFixture();
    const job = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() });
    expect(job.statusCode).toBe(201);
    const id = (job.json() as { id: string }).id;
    for (let i = 0; i < 3; i++) expect((await f.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).statusCode).toBe(200);
    expect((await f.app.inject({ method: 'GET', url: '/v1/jobs/job_00000000000000000000000000' })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: `/no/such/${id}` })).statusCode).toBe(404);

    const text = (await scrape(f.app)).body;
    expect(text).not.toContain(id);
    const count = (route: string, status: string, method = 'GET') =>
      sampleValue(text, 'http_request_duration_seconds_count', { method, route, status_code: status });
    // Other tests in this process count too: at least what this test sent.
    expect(count('/v1/jobs/:id', '200')).toBeGreaterThanOrEqual(3);
    expect(count('/v1/jobs/:id', '404')).toBeGreaterThanOrEqual(1);
    expect(count('/v1/jobs', '201', 'POST')).toBeGreaterThanOrEqual(1);
    expect(count('unmatched', '404')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/jobs\/:id",status_code="200"\}/);
  });

  it('reads the queue by state at scrape time and reports Redis up', async () => {
    f = await appFixture();
    for (let i = 0; i < 2; i++) expect((await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() })).statusCode).toBe(201);
    const text = (await scrape(f.app)).body;
    // Every job gets a BullMQ priority (src/queue/queue.ts): queued jobs are "prioritized".
    expect(sampleValue(text, 'traind_queue_jobs', { state: 'prioritized' })).toBe(2);
    for (const state of ['waiting', 'active', 'delayed']) expect(sampleValue(text, 'traind_queue_jobs', { state })).toBe(0);
    expect(sampleValue(text, 'traind_redis_up')).toBe(1);
    for (const outcome of ['delivered', 'retrying', 'failed']) expect(sampleValue(text, 'traind_webhook_deliveries_total', { outcome })).toBe(0);
  });
});

describe('GET /metrics while Redis is away', () => {
  it('answers within about a second, with traind_redis_up 0 and no queue samples, when Redis hangs or is gone', async () => {
    const redis = await startPrivateRedis();
    const pid = redis.pid();
    if (pid === undefined) throw new Error('no redis-server pid');
    const timedScrape = async () => {
      const started = performance.now();
      const res = await scrape((f as AppFixture).app);
      return { res, ms: performance.now() - started };
    };
    try {
      f = await appFixture({ REDIS_URL: redis.url });
      const before = (await timedScrape()).res.body;
      expect(sampleValue(before, 'traind_redis_up')).toBe(1);
      expect(sampleValue(before, 'traind_queue_jobs', { state: 'waiting' })).toBe(0);

      // Hung: the connection stays open and nothing answers; only the scrape's own bound ends the wait.
      process.kill(pid, 'SIGSTOP');
      const hung = await timedScrape();
      expect(hung.res.statusCode).toBe(200);
      expect(hung.ms).toBeLessThan(2500);
      expect(sampleValue(hung.res.body, 'traind_redis_up')).toBe(0);
      expect(sampleValue(hung.res.body, 'traind_queue_jobs', { state: 'waiting' })).toBeUndefined();
      process.kill(pid, 'SIGCONT');

      // Gone: the connection is not ready, so nothing is even asked.
      await redis.stop('SIGKILL');
      const gone = await timedScrape();
      expect(gone.res.statusCode).toBe(200);
      expect(gone.ms).toBeLessThan(2500);
      expect(sampleValue(gone.res.body, 'traind_redis_up')).toBe(0);
      expect(sampleValue(gone.res.body, 'traind_queue_jobs', { state: 'waiting' })).toBeUndefined();

      await redis.start();
      await f.redis.ping();
      expect(sampleValue((await timedScrape()).res.body, 'traind_redis_up')).toBe(1);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await f?.close();
      f = null;
      await redis.dispose();
    }
  }, 30_000);
});
