// Many hosts, tested as many hosts: Redis, the S3-compatible server, the API and two workers each
// in a network namespace of their own (veth pairs on a bridge, private addresses made here), no
// shared directory (every process has its own DATA_DIR scratch; datasets, checkpoints and resume
// states live in the bucket). Jobs train through the API; every process of one worker host is
// SIGKILLed mid-epoch; every job finishes on the other host bit-identical to an uninterrupted run,
// its checkpoints downloadable through the API. Skips visibly where namespaces cannot be made.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, allMetrics, epochsByAttempt, submitJob, waitForEpoch, waitForStatus, type ApiClient } from '../helpers/api.js';
import { makeSandbox, namespacesUnavailable, type Sandbox } from '../helpers/netns.js';
import { killAll, launchCommand, REPO_ROOT, startApi, startWorker, type ApiProcess, type ServiceOptions, type ServiceProcess } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { S3_TEST_CREDENTIALS } from '../helpers/s3.js';
import type { ProcessStack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 8;
const HOSTS = ['redis', 's3', 'api', 'worker-a', 'worker-b'] as const;
const unavailable = namespacesUnavailable();
if (unavailable !== null) console.warn(`many-hosts test skipped: ${unavailable}`);

const dirs: string[] = [];
function scratch(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `traind-hosts-${name}-`));
  dirs.push(dir);
  return dir;
}

let sandbox: Sandbox;
let redis: Redis;
let api: ApiClient;
let apiProcess: ApiProcess;
let options: (host: string) => ServiceOptions;
let storageEnv: Record<string, string>;
const prefix = uniquePrefix('hosts');
const KEY = randomBytes(24).toString('hex');

describe.skipIf(unavailable !== null)('the deployment as separate hosts (network namespaces, S3, no shared directory)', () => {
  beforeAll(async () => {
    sandbox = makeSandbox(HOSTS);
    const at = (h: string) => sandbox.host(h);
    launchCommand('redis', ['ip', 'netns', 'exec', at('redis').netns, 'redis-server', '--bind', at('redis').ip, '--port', '6379', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', scratch('redis')], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const redisUrl = `redis://${at('redis').ip}:6379`;
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 100, 1000) });
    redis.on('error', () => undefined);
    await waitFor(async () => (await redis.ping().catch(() => null)) === 'PONG', { timeoutMs: 15_000, what: 'redis in its namespace' });

    const bucket = `traind-hosts-${randomBytes(3).toString('hex')}`;
    const s3 = launchCommand('s3', ['ip', 'netns', 'exec', at('s3').netns, process.execPath, '--import', 'tsx', path.join(REPO_ROOT, 'test/helpers/s3-server-main.ts')], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ADDRESS: at('s3').ip,
      PORT: '9000',
      DIRECTORY: scratch('s3'),
      BUCKET: bucket,
    });
    const ready = await s3.waitForLog((l) => l.msg === 's3 ready', 30_000, 'the S3 server in its namespace');
    storageEnv = {
      STORAGE_URL: `s3://${bucket}/deploy`,
      S3_ENDPOINT: String(ready.endpoint),
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    };
    options = (host) => ({ redisUrl, prefix, dataDir: scratch(host), netns: at(host).netns, env: { ...storageEnv, HOST: at(host).ip, API_KEYS: `hosts:${createHash('sha256').update(KEY).digest('hex')}` } });
    apiProcess = await startApi(options('api'), 'api');
    expect(new URL(apiProcess.baseUrl).hostname).toBe(at('api').ip);
    api = apiClient(apiProcess.baseUrl, KEY);
  }, 90_000);

  afterAll(async () => {
    await killAll();
    redis?.disconnect();
    sandbox?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('kills every process of one worker host mid-epoch; every job ends on the other, bit-identical, checkpoints downloadable', { timeout: 300_000 }, async () => {
    const a = await startWorker({ ...options('worker-a'), env: { ...options('worker-a').env, WORKER_CONCURRENCY: '2' } }, 'worker-a');
    const jobs = [await submitJob(api, slowSpec(EPOCHS, { seed: 21 })), await submitJob(api, slowSpec(EPOCHS, { seed: 22 }))];
    for (const job of jobs) await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 30_000, `worker-a to take ${job.id}`);
    const b: ServiceProcess = await startWorker({ ...options('worker-b'), env: { ...options('worker-b').env, WORKER_CONCURRENCY: '2' } }, 'worker-b');

    const progress = await Promise.all(jobs.map((job) => waitForEpoch(api, job.id, 2, 90_000)));
    await sleep(Math.round(((progress[0]?.latest?.seconds ?? 0.4) * 1000) / 2));
    // The whole host: the worker and its trainer processes, whatever their pids.
    const victims = sandbox.pids('worker-a');
    expect(victims.length).toBeGreaterThanOrEqual(3);
    for (const pid of victims) process.kill(pid, 'SIGKILL');
    await a.exited;
    await waitFor(() => sandbox.pids('worker-a').length === 0, { timeoutMs: 10_000, what: 'worker-a host to be empty' });

    const stack = { redis, prefix, dataDir: scratch('reference'), env: storageEnv, api } as unknown as ProcessStack;
    for (const job of jobs) {
      const done = await waitForStatus(api, job.id, ['completed'], 180_000);
      const running = done.history.filter((h) => h.status === 'running');
      expect(running.length).toBe(2);
      expect(running[1]?.reason).toMatch(/resumed from resume state/);
      const records = await allMetrics(api, job.id);
      const second = epochsByAttempt(records).get(running[1]?.attempt ?? -1) ?? [];
      expect(second[0]).toBeGreaterThan(1);
      expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
      await expectSameAsUninterrupted(stack, done, records);
    }
    expect(b.logs.filter((l) => l.msg === 'job taken').length).toBe(2);
  });
});
