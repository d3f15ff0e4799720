// Prometheus metrics of a real worker process on WORKER_METRICS_PORT, scraped while its jobs run:
// epochs, samples and epoch durations move during a run, finished jobs are counted once with their
// status and reason, the API's /metrics sees the queue, and the worker's port wants METRICS_TOKEN;
// the all-in-one server shows its workers' counters on the API's /metrics.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { divergingSpec } from '../faults/specs.js';
import { sampleValue } from '../helpers/prometheus.js';
import { deletePrefixedKeys, freePort, SHARED_REDIS_URL } from '../helpers/redis.js';
import { testStorageEnv } from '../helpers/test-storage.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { api, repoRoot, startStack, waitForJob, type Stack } from './stack.js';

const TOKEN = 'worker-metrics-token-0123456789abcdef01234567';
/** Spirals: 300 rows, 240 for training with a 0.2 hold-out; batch 2 makes an epoch take a while. */
const TRAIN_ROWS = 240;

function slowSpec(epochs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dataset: { builtin: 'spirals' },
    validation: { fraction: 0.2 },
    model: { layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 3 }] },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    learningRate: 0.005,
    batchSize: 2,
    epochs,
    seed: 7,
    ...extra,
  };
}

interface JobView {
  id: string;
  status: string;
  reason: string | null;
  progress: { epoch: number; epochs: number };
}

let stack: Stack;
let workerMetrics: string;

beforeAll(async () => {
  // Webhooks to a receiver on loopback, retried quickly.
  stack = await startStack({ workers: 0, env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '150', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_TIMEOUT_MS: '2000' } });
  const port = await freePort();
  // API keys in the worker's environment: its metrics port then wants METRICS_TOKEN.
  await stack.startWorker({
    WORKER_METRICS_PORT: String(port),
    METRICS_TOKEN: TOKEN,
    API_KEYS: `acme:${sha256Hex('some-tenant-key')}`,
    HOST: '127.0.0.1',
  });
  workerMetrics = `http://127.0.0.1:${port}/metrics`;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function scrapeWorker(): Promise<string> {
  const res = await fetch(workerMetrics, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

async function scrapeApi(): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

async function submit(spec: Record<string, unknown>): Promise<string> {
  const res = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Scrapes the worker until `until` holds (its counters follow BullMQ events, a moment after the job record). */
async function scrapeWorkerUntil(until: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await scrapeWorker();
    if (until(text)) return text;
    if (Date.now() > deadline) throw new Error(`worker metrics did not reach the expected state:\n${text.split('\n').filter((l) => l.startsWith('traind_')).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const finished = (text: string, status: string, reason: string) => sampleValue(text, 'traind_jobs_finished_total', { status, reason }) ?? 0;

describe('worker metrics', () => {
  it('its port answers 401 without METRICS_TOKEN (a tenant key included) and only serves /metrics', async () => {
    for (const headers of [{}, { authorization: 'Bearer some-tenant-key' }] as Record<string, string>[]) {
      const res = await fetch(workerMetrics, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    expect((await fetch(workerMetrics.replace('/metrics', '/v1/jobs'))).status).toBe(404);
  });

  it('counts epochs, samples and epoch durations while a job runs, and the finished job once with its reason', async () => {
    const epochs = 6;
    const id = await submit(slowSpec(epochs));
    const running = await waitForJob<JobView>(stack, id, (j) => j.status === 'running' && j.progress.epoch >= 2, 60_000);
    expect(running.status).toBe('running');

    // Mid-run: the epochs trained so far, at TRAIN_ROWS samples each; the queue shows it active.
    const during = await scrapeWorkerUntil((t) => (sampleValue(t, 'traind_epochs_total') ?? 0) >= 2);
    const seen = sampleValue(during, 'traind_epochs_total') ?? 0;
    expect(seen).toBeLessThan(epochs);
    expect(sampleValue(during, 'traind_samples_trained_total')).toBe(seen * TRAIN_ROWS);
    expect(sampleValue(during, 'traind_epoch_duration_seconds_count')).toBe(seen);
    expect(finished(during, 'completed', 'max_epochs')).toBe(0);
    const apiDuring = await scrapeApi();
    expect(sampleValue(apiDuring, 'traind_queue_jobs', { state: 'active' })).toBe(1);
    expect(sampleValue(apiDuring, 'traind_redis_up')).toBe(1);

    await waitForJob<JobView>(stack, id, (j) => j.status === 'completed', 60_000);
    const after = await scrapeWorkerUntil((t) => finished(t, 'completed', 'max_epochs') === 1);
    expect(sampleValue(after, 'traind_epochs_total')).toBe(epochs);
    expect(sampleValue(after, 'traind_samples_trained_total')).toBe(epochs * TRAIN_ROWS);
    expect(sampleValue(after, 'traind_epoch_duration_seconds_count')).toBe(epochs);
    expect(sampleValue(after, 'traind_epoch_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sampleValue(after, 'traind_queue_jobs', { state: 'active' })).toBe(0);
  }, 120_000);

  it('counts a cancelled and a diverged job under their status and reason', async () => {
    const slow = await submit(slowSpec(50));
    await waitForJob<JobView>(stack, slow, (j) => j.status === 'running' && j.progress.epoch >= 1, 60_000);
    expect((await api(stack, 'POST', `/v1/jobs/${slow}/cancel`)).status).toBe(202);
    await scrapeWorkerUntil((t) => finished(t, 'cancelled', 'cancelled_by_user') === 1);

    const diverging = await submit(divergingSpec());
    const ended = await waitForJob<JobView>(stack, diverging, (j) => j.status === 'failed', 60_000);
    expect(ended.reason).toBe('diverged');
    const text = await scrapeWorkerUntil((t) => finished(t, 'failed', 'diverged') === 1);
    // Nothing else was counted on the way.
    expect(finished(text, 'completed', 'max_epochs')).toBe(1);
    expect(finished(text, 'cancelled', 'cancelled_by_user')).toBe(1);
  }, 120_000);

  // Its webhook is registered after the other jobs' events went out: it hears of this job only.
  it('counts webhook deliveries by outcome: a receiver that fails once, then answers', async () => {
    const receiver = await startReceiver();
    let answered = 0;
    receiver.respond = () => (answered++ === 0 ? 500 : 204);
    try {
      const hook = await api<{ id: string; secret: string }>(stack, 'POST', '/v1/webhooks', { url: receiver.url, events: ['job.completed'] });
      expect(hook.status).toBe(201);
      receiver.secret = hook.body.secret;
      const id = await submit(slowSpec(1, { validation: undefined, batchSize: 32 }));
      await waitForJob<JobView>(stack, id, (j) => j.status === 'completed', 60_000);
      const text = await scrapeWorkerUntil((t) => (sampleValue(t, 'traind_webhook_deliveries_total', { outcome: 'delivered' }) ?? 0) >= 1);
      expect(sampleValue(text, 'traind_webhook_deliveries_total', { outcome: 'delivered' })).toBe(1);
      expect(sampleValue(text, 'traind_webhook_deliveries_total', { outcome: 'retrying' })).toBe(1);
      expect(sampleValue(text, 'traind_webhook_deliveries_total', { outcome: 'failed' })).toBe(0);
      expect(receiver.requests.map((r) => r.status)).toEqual([500, 204]);
      expect((await api(stack, 'DELETE', `/v1/webhooks/${hook.body.id}`)).status).toBe(204);
    } finally {
      await receiver.close();
    }
  }, 60_000);
});

describe('the all-in-one server', () => {
  it("shows its workers' training counters on the API's /metrics (one registry per process)", async () => {
    const prefix = `traind-test-${process.pid}-${Date.now()}-aio`;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'traind-metrics-aio-'));
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist/src/server.js')], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: SHARED_REDIS_URL, DATA_DIR: dataDir, PORT: '0', KEY_PREFIX: prefix, WORKER_CONCURRENCY: '1', LOG_LEVEL: 'info', ...testStorageEnv(prefix) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      let address: string | undefined;
      while ((address = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1]) === undefined) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const epochs = 4;
      const submitted = await fetch(`${address}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...slowSpec(epochs), validation: undefined, batchSize: 32 }),
      });
      expect(submitted.status).toBe(201);
      const { id } = (await submitted.json()) as { id: string };
      let text = '';
      while (finished(text, 'completed', 'max_epochs') !== 1) {
        if (Date.now() > deadline + 60_000) throw new Error(`job ${id} was not counted:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
        text = await (await fetch(`${address}/metrics`)).text();
      }
      // Spirals without a hold-out: 300 rows per epoch.
      expect(sampleValue(text, 'traind_epochs_total')).toBe(epochs);
      expect(sampleValue(text, 'traind_samples_trained_total')).toBe(epochs * 300);
      expect(sampleValue(text, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/jobs', status_code: '201' })).toBe(1);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await deletePrefixedKeys(SHARED_REDIS_URL, prefix);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
