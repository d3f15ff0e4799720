// Fault: the API process is SIGKILLed while a job trains and an SSE client watches; nothing of a
// job lives in the API, so training goes on and the client, reconnecting, misses nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { followEvents } from '../helpers/sse.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { slowSpec } from './specs.js';

const EPOCHS = 8;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'apikill' });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('API process SIGKILLed while a client watches a training job', () => {
  it('training goes on, a new API serves the job, the SSE client misses and repeats nothing', { timeout: 180_000 }, async () => {
    const worker = await stack.startWorker('worker');
    const job = await submitJob(stack.api, slowSpec(EPOCHS));
    const watcher = followEvents(() => stack.api.baseUrl, job.id, { timeoutMs: 150_000 });
    await waitForEpoch(stack.api, job.id, 2, 60_000);

    const first = stack.apiProcess;
    first.kill('SIGKILL');
    await first.exited;
    // The worker does not need the API: epochs keep being recorded while it is gone.
    const key = `${stack.prefix}:job:${job.id}`;
    const progressNow = async () => (JSON.parse((await stack.redis.hget(key, 'progress')) ?? '{"epoch":0}') as { epoch: number }).epoch;
    const at = await progressNow();
    await waitFor(async () => (await progressNow()) > at, { timeoutMs: 30_000, what: 'an epoch recorded while the API is down' });
    await sleep(500);

    await stack.restartApi();
    expect(stack.apiProcess.pid).not.toBe(first.pid);
    const done = await waitForStatus(stack.api, job.id, ['completed'], 90_000);
    expect(done.reason).toBe('max_epochs');
    expect(done.history.filter((h) => h.status === 'running').length).toBe(1);
    expect(worker.alive()).toBe(true);

    const seen = await watcher;
    expect(seen.connections).toBeGreaterThanOrEqual(2);
    const raw = (await stack.redis.xrange(`${key}:stream`, '-', '+')) as [string, string[]][];
    expect(seen.events.map((e) => e.id)).toEqual(raw.map(([id]) => id));
    const epochs = seen.events.filter((e) => e.event === 'metrics').map((e) => e.data.epoch);
    expect(epochs).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    expect((await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/best`)).status).toBe(200);
  });
});
