// Graceful worker shutdown with real processes: SIGTERM mid-training hands the job back to the
// queue with its resume state, the worker exits promptly, and another worker finishes the job from
// where it stopped — with the same final metrics and best weights as an uninterrupted run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/core/index.js';
import { api, startStack, waitForJob, type Stack } from './stack.js';

interface JobView {
  id: string;
  status: string;
  reason: string | null;
  history: { status: string; attempt: number; reason?: string }[];
  progress: { epoch: number; epochs: number };
  latest: Record<string, number> | null;
  best: Record<string, number> | null;
}

const spec = {
  dataset: { builtin: 'spirals' },
  validation: { fraction: 0.2 },
  model: {
    layers: [
      { type: 'dense', units: 96, activation: 'relu' },
      { type: 'dense', units: 96, activation: 'relu' },
      { type: 'dense', units: 3 },
    ],
  },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'adam' },
  learningRate: 0.003,
  batchSize: 4,
  epochs: 30,
  checkpoints: { keepBest: 1 },
  seed: 11,
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});

afterAll(async () => {
  await stack?.stop();
});

async function bestWeights(jobId: string): Promise<Map<string, Buffer>> {
  const res = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/checkpoints/best`);
  expect(res.status).toBe(200);
  const { tensors } = decodeSafetensors(new Uint8Array(await res.arrayBuffer()));
  return new Map([...tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

function deterministic(m: Record<string, number> | null): Record<string, number> {
  const { seconds: _s, samplesPerSec: _r, attempt: _a, ...rest } = m ?? {};
  return rest;
}

describe('SIGTERM on a worker', () => {
  it('hands the running job back; another worker resumes it and ends exactly like an uninterrupted run', async () => {
    const { body: job } = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
    const running = await waitForJob<JobView>(stack, job.id, (j) => j.progress.epoch >= 3);
    expect(running.status).toBe('running');

    const [first] = stack.workers;
    const t0 = Date.now();
    await stack.stopWorker(first!, 'SIGTERM');
    expect(Date.now() - t0).toBeLessThan(3000);
    const handed = await waitForJob<JobView>(stack, job.id, (j) => j.status === 'queued', 2000);
    expect(handed.reason).toBe('handed back: worker shutting down');
    const stoppedAt = handed.progress.epoch;
    expect(stoppedAt).toBeLessThan(spec.epochs);

    await stack.startWorker();
    const done = await waitForJob<JobView>(stack, job.id, (j) => j.status === 'completed', 30_000);
    expect(done.reason).toBe('max_epochs');
    expect(done.history.map((h) => [h.status, h.attempt])).toEqual([
      ['queued', 0],
      ['running', 1],
      ['queued', 1],
      ['running', 2],
      ['completed', 2],
    ]);
    expect(done.history[3]?.reason).toBe('resumed from resume state');

    // The second attempt continued after the last epoch the first one finished, not from epoch 0.
    const { body: page } = await api<{ items: Record<string, number>[] }>(stack, 'GET', `/v1/jobs/${job.id}/metrics?limit=1000`);
    const secondAttempt = page.items.filter((m) => m.attempt === 2).map((m) => m.epoch);
    expect(secondAttempt[0]).toBeGreaterThan(1);
    expect(secondAttempt.at(-1)).toBe(spec.epochs);
    const epochs = page.items.map((m) => m.epoch);
    expect(new Set(epochs).size).toBe(spec.epochs);

    const { body: straight } = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
    const reference = await waitForJob<JobView>(stack, straight.id, (j) => j.status === 'completed', 30_000);
    expect(deterministic(done.latest)).toEqual(deterministic(reference.latest));
    expect(deterministic(done.best)).toEqual(deterministic(reference.best));
    expect(await bestWeights(job.id)).toEqual(await bestWeights(straight.id));
  });
});
