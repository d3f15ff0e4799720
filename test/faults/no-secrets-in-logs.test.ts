// Security under real processes: with API keys and a password-protected Redis, nothing the API or
// a worker writes (at debug level, through auth failures, webhook deliveries and a Redis outage)
// contains a secret.

import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, submitJob, waitForStatus } from '../helpers/api.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const KEY = 'tdk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const WRONG_KEY = 'tdk_live_0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const REDIS_PASSWORD = 'hunter2-redis-S3cret';

let redis: PrivateRedis | undefined;
let stack: ProcessStack | undefined;
let receiver: Receiver | undefined;

afterAll(async () => {
  await receiver?.close();
  await stack?.dispose();
  await redis?.dispose();
});

describe('secrets in logs', () => {
  it('API keys and the Redis password never appear in any process output', { timeout: 120_000 }, async () => {
    const server = await startPrivateRedis({ password: REDIS_PASSWORD });
    redis = server;
    const sha = createHash('sha256').update(KEY).digest('hex');
    const s = await startProcessStack({ tag: 'secrets', redisUrl: server.url, env: { API_KEYS: `alpha:${sha}`, LOG_LEVEL: 'debug', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '100' } });
    stack = s;
    const worker = await s.startWorker('worker');
    const api = apiClient(s.api.baseUrl, KEY);

    expect((await apiClient(s.api.baseUrl).get('/v1/jobs')).status).toBe(401);
    expect((await apiClient(s.api.baseUrl, WRONG_KEY).get('/v1/jobs')).status).toBe(401);
    expect((await api.get('/v1/jobs', { 'x-api-key': KEY, cookie: `session=${KEY}` })).status).toBe(200);
    // A webhook whose first secret signs a failed attempt and whose rotated one signs the retry.
    receiver = await startReceiver();
    const hook = await api.post<{ id: string; secret: string }>('/v1/webhooks', { url: receiver.url });
    expect(hook.status).toBe(201);
    const firstSecret = hook.body.secret;
    const rotated = await api.post<{ secret: string }>(`/v1/webhooks/${hook.body.id}/rotate-secret`);
    receiver.secret = rotated.body.secret;
    let failedOnce = false;
    receiver.respond = () => {
      if (failedOnce) return 200;
      failedOnce = true;
      return 500;
    };
    const job = await submitJob(api, {
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 3,
      seed: 1,
    });
    await waitForStatus(api, job.id, ['completed'], 30_000);
    await waitFor(() => receiver!.delivered().size === 1, { timeoutMs: 20_000, what: 'job.completed delivered after one failure' });
    expect(receiver.requests.map((r) => [r.verified, r.status])).toEqual([[true, 500], [true, 200]]);

    // Connection errors are where URLs (and their passwords) usually leak.
    await server.stop('SIGKILL');
    await sleep(1500);
    expect((await api.get('/v1/jobs')).status).toBeGreaterThanOrEqual(500);
    await server.start();
    await waitFor(async () => (await fetch(`${s.api.baseUrl}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'the API to be ready again' });
    expect((await api.get('/v1/jobs')).status).toBe(200);
    await sleep(500);

    for (const p of [s.apiProcess, worker]) {
      const output = `${p.logs.map((l) => JSON.stringify(l)).join('\n')}\n${p.text()}`;
      expect(output.length, `${p.name} wrote logs`).toBeGreaterThan(200);
      // In the S3 pass (npm run test:s3) the processes hold the bucket's credentials too.
      const s3Secret = s.env.AWS_SECRET_ACCESS_KEY;
      for (const secret of [KEY, WRONG_KEY, REDIS_PASSWORD, encodeURIComponent(REDIS_PASSWORD), firstSecret, rotated.body.secret, rotated.body.secret.slice(6), ...(s3Secret ? [s3Secret] : [])]) {
        const at = output.indexOf(secret);
        expect(at, `${p.name} logged a secret: …${output.slice(Math.max(0, at - 200), at + 60)}…`).toBe(-1);
      }
    }
  });
});
