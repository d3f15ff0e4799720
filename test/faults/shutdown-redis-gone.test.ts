// Fault: SIGTERM while Redis is down (a whole-site outage during a deploy). Every process exits
// cleanly (code 0) within 5 s instead of waiting on Redis, and nothing acknowledged is lost: when
// Redis comes back, a new worker resumes the job from its resume state and the run completes with
// each epoch recorded once.

import { afterEach, describe, expect, it } from 'vitest';
import { allMetrics, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { startAllInOne } from '../helpers/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { slowSpec } from './specs.js';

const EPOCHS = 8;
const MAX_EXIT_MS = 5000;

let redis: PrivateRedis | undefined;
let stack: ProcessStack | undefined;

afterEach(async () => {
  await stack?.dispose();
  await redis?.dispose();
  stack = undefined;
  redis = undefined;
});

describe('SIGTERM with Redis gone', () => {
  it('API and a training worker exit with code 0 within 5 s; the job resumes once Redis is back', { timeout: 180_000 }, async () => {
    redis = await startPrivateRedis();
    stack = await startProcessStack({ tag: 'shutdown-noredis', redisUrl: redis.url, env: { LOCK_DURATION_MS: '3000', STALLED_INTERVAL_MS: '1000' } });
    const a = await stack.startWorker('worker-a');
    const job = await submitJob(stack.api, slowSpec(EPOCHS));
    await waitForEpoch(stack.api, job.id, 2, 60_000);

    await redis.stop('SIGKILL');
    const signalledAt = Date.now();
    a.kill('SIGTERM');
    stack.apiProcess.kill('SIGTERM');
    const [workerExit, apiExit] = await Promise.all([a.exited, stack.apiProcess.exited]);
    for (const [name, exit, proc] of [['worker', workerExit, a], ['API', apiExit, stack.apiProcess]] as const) {
      expect(exit.code, `${name} exit code\n${proc.tail()}`).toBe(0);
      expect(exit.at - signalledAt, `${name} took ${exit.at - signalledAt} ms to exit\n${proc.tail()}`).toBeLessThan(MAX_EXIT_MS);
      expect(proc.text() + JSON.stringify(proc.logs)).not.toMatch(/took too long/);
    }
    console.info(`shutdown without Redis: worker exited after ${workerExit.at - signalledAt} ms, API after ${apiExit.at - signalledAt} ms`);

    await redis.start();
    await stack.restartApi();
    await stack.startWorker('worker-b');
    const done = await waitForStatus(stack.api, job.id, ['completed'], 120_000);
    expect(done.reason).toBe('max_epochs');
    const epochs = (await allMetrics(stack.api, job.id)).map((m) => m.epoch);
    expect(epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
  });

  it('the all-in-one server exits with code 0 within 5 s', { timeout: 120_000 }, async () => {
    redis = await startPrivateRedis();
    stack = await startProcessStack({ tag: 'shutdown-noredis-all', redisUrl: redis.url });
    const server = await startAllInOne({ redisUrl: redis.url, prefix: stack.prefix, dataDir: stack.dataDir });
    const job = await submitJob(stack.api, slowSpec(EPOCHS));
    await waitFor(async () => (await fetch(`${server.baseUrl}/v1/jobs/${job.id}`).then((r) => r.json() as Promise<{ status: string }>)).status === 'running', {
      timeoutMs: 60_000,
      what: 'the all-in-one server to run the job',
    });
    await redis.stop('SIGKILL');
    const signalledAt = Date.now();
    server.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit.code, server.tail()).toBe(0);
    expect(exit.at - signalledAt, `took ${exit.at - signalledAt} ms\n${server.tail()}`).toBeLessThan(MAX_EXIT_MS);
    console.info(`shutdown without Redis (all-in-one): exited after ${exit.at - signalledAt} ms`);
  });
});
