// TRAIN_THREADS through real processes: a lone job trains on the cores its worker leaves idle and
// records how many; a job that starts beside it gets what is left; the thread count does not
// change a checkpoint's bytes (the native GEMM partitions work so that no sum depends on it).

import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startStack, waitForJob, type Stack } from './stack.js';

interface JobView {
  id: string;
  status: string;
  threads: number | null;
  backend: string | null;
  progress: { epoch: number; epochs: number };
}

const cores = availableParallelism();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 0, env: { WORKER_CONCURRENCY: '2', TRAIN_THREADS: '2' } });
});

afterAll(async () => {
  await stack?.stop();
});

const endless = (seed: number) => ({
  dataset: { builtin: 'spirals' },
  model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }, { type: 'dense', units: 3 }] },
  loss: 'softmax_cross_entropy',
  batchSize: 8,
  epochs: 100_000,
  seed,
});

// Two 512-unit layers at batch 256: GEMMs large enough for the pool to split them.
const wide = {
  dataset: { builtin: 'spirals' },
  validation: { fraction: 0.2 },
  model: { layers: [{ type: 'dense', units: 512, activation: 'relu' }, { type: 'dense', units: 512, activation: 'relu' }, { type: 'dense', units: 3 }] },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'sgd', momentum: 0.9 },
  batchSize: 256,
  epochs: 3,
  seed: 11,
};

async function bestSha(jobId: string): Promise<string> {
  const list = await api<{ items: { sha256: string; best: boolean }[] }>(stack, 'GET', `/v1/jobs/${jobId}/checkpoints`);
  return list.body.items.find((c) => c.best)!.sha256;
}

describe('threads per job', () => {
  it('a lone job takes the idle cores (up to TRAIN_THREADS) and one starting beside it what is left; both recorded', async () => {
    const w = await stack.startWorker();
    const { body: a } = await api<JobView>(stack, 'POST', '/v1/jobs', endless(1));
    const runningA = await waitForJob<JobView>(stack, a.id, (j) => j.status === 'running' && j.threads !== null, 20_000);
    const expectA = runningA.backend!.startsWith('native') ? Math.min(2, cores) : runningA.threads;
    expect(runningA.threads).toBe(expectA);
    const { body: b } = await api<JobView>(stack, 'POST', '/v1/jobs', endless(2));
    const runningB = await waitForJob<JobView>(stack, b.id, (j) => j.status === 'running' && j.threads !== null, 20_000);
    expect(runningB.threads).toBe(runningA.backend!.startsWith('native') ? Math.max(1, Math.min(2, cores - expectA!)) : runningB.threads);
    for (const id of [a.id, b.id]) await api(stack, 'POST', `/v1/jobs/${id}/cancel`);
    for (const id of [a.id, b.id]) await waitForJob<JobView>(stack, id, (j) => j.status === 'cancelled', 20_000);
    await stack.stopWorker(w);
  });

  it('the same spec gives the same checkpoint bytes on two threads and on one', async () => {
    const two = await stack.startWorker();
    const { body: first } = await api<JobView>(stack, 'POST', '/v1/jobs', wide);
    const doneTwo = await waitForJob<JobView>(stack, first.id, (j) => j.status === 'completed', 60_000);
    await stack.stopWorker(two);
    await stack.startWorker({ TRAIN_THREADS: '1' });
    const { body: second } = await api<JobView>(stack, 'POST', '/v1/jobs', wide);
    const doneOne = await waitForJob<JobView>(stack, second.id, (j) => j.status === 'completed', 60_000);
    expect(doneOne.threads).toBe(1);
    if (doneTwo.backend!.startsWith('native')) expect(doneTwo.threads).toBe(Math.min(2, cores));
    expect(await bestSha(second.id)).toBe(await bestSha(first.id));
  });
});
