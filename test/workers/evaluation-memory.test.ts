// Evaluations share the worker's memory admission with training jobs (real Redis, BullMQ and
// evaluation threads, the worker in this process): one waits while a training job holds the
// budget and runs once it is released; one larger than WORKER_MEMORY_BYTES fails at once saying
// so; a thread past its V8 heap cap fails its evaluation as out of memory; one still waiting when
// the worker closes goes back to the queue.

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../src/core/index.js';
import { builtinDataset } from '../../src/data/index.js';
import type { JobSpec } from '../../src/spec/job-spec.js';
import { toTrainConfig } from '../../src/spec/to-train-config.js';
import { createEvaluationQueue } from '../../src/queue/evaluation-queue.js';
import { markBestCheckpoint, saveCheckpoint } from '../../src/store/checkpoints.js';
import { createMemoryAdmission, type MemoryAdmission } from '../../workers/admission.js';
import { EVALUATION_THREAD_BYTES } from '../../workers/evaluation-memory.js';
import { runInThread } from '../../workers/evaluation-thread-run.js';
import { startEvaluationWorker, type EvaluationWorker } from '../../workers/evaluation-worker.js';
import { waitFor } from '../helpers/wait.js';
import { appFixture, xorSpec, type AppFixture } from '../api/helpers.js';

const MIB = 1024 * 1024;
const BUDGET = 64 * MIB;

interface EvaluationView {
  id: string;
  status: string;
  error: string | null;
  result: { rows: number } | null;
}

describe('evaluations in the worker memory budget', () => {
  let f: AppFixture;
  let admission: MemoryAdmission;
  let evaluations: EvaluationWorker;

  /** A job with a best checkpoint at epoch 1, trained here on xor. */
  async function trainedJob(spec: Record<string, unknown>): Promise<string> {
    const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    const run = await train(toTrainConfig(res.json().spec as JobSpec), { train: builtinDataset('xor').dataset, validation: null });
    await saveCheckpoint(f.store, id, { tenant: 'default', epoch: 1, step: run.step, monitor: 'loss', value: run.last!.loss, bytes: run.checkpoint });
    await markBestCheckpoint(f.store, id, 1);
    return id;
  }

  async function evaluate(jobId: string): Promise<string> {
    const res = await f.app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/evaluate?wait=0`, payload: { dataset: { builtin: 'xor' } } });
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  }

  async function evaluation(id: string): Promise<EvaluationView> {
    return (await f.app.inject({ method: 'GET', url: `/v1/evaluations/${id}` })).json() as EvaluationView;
  }

  beforeAll(async () => {
    f = await appFixture({ WORKER_MEMORY_BYTES: String(BUDGET) });
    admission = createMemoryAdmission(BUDGET);
    evaluations = startEvaluationWorker(f.config, pino({ level: 'silent' }), admission);
  });

  afterAll(async () => {
    await evaluations.close();
    await f.close();
  });

  it('waits (queued) while a training job holds the budget, and runs once it is released', async () => {
    const job = await trainedJob(xorSpec({ epochs: 1 }));
    // A training job holding all but what the evaluation's thread alone needs.
    const releaseTraining = await admission.admit(BUDGET - EVALUATION_THREAD_BYTES);
    const id = await evaluate(job);
    await waitFor(async () => admission.waiting === 1, { timeoutMs: 5000, what: 'the evaluation to wait for memory' });
    await new Promise((r) => setTimeout(r, 300));
    expect((await evaluation(id)).status).toBe('queued');
    releaseTraining();
    await waitFor(async () => (await evaluation(id)).status === 'completed', { timeoutMs: 10_000, what: 'the evaluation to complete' });
    expect((await evaluation(id)).result?.rows).toBe(4);
    expect(admission.inUse).toBe(0);
  });

  it('fails at once, saying so, when its estimate is larger than WORKER_MEMORY_BYTES', async () => {
    // 2 → 1500 → 1500 → 2: 2.26 M parameters, a 9 MiB checkpoint read, decoded, loaded and packed.
    const big = await trainedJob(xorSpec({ epochs: 1, model: { layers: [{ type: 'dense', units: 1500, activation: 'relu' }, { type: 'dense', units: 1500, activation: 'relu' }, { type: 'dense', units: 2 }] } }));
    const id = await evaluate(big);
    await waitFor(async () => (await evaluation(id)).status === 'failed', { timeoutMs: 10_000, what: 'the evaluation to fail' });
    const failed = await evaluation(id);
    expect(failed.error).toMatch(/^the evaluation needs about \d+ MiB of memory \(dataset 1 MiB, checkpoint 18 MiB, model buffers \d+ MiB, thread 40 MiB\), more than this worker's WORKER_MEMORY_BYTES=67108864 \(64 MiB\)$/);
    expect(Number(/about (\d+) MiB/.exec(failed.error!)![1])).toBeGreaterThan(64);
    expect(admission.inUse).toBe(0);
    expect(admission.waiting).toBe(0);
  });

  it('a thread past its V8 heap cap fails its evaluation as out of memory', async () => {
    const task = { storage: f.config.storage, checkpoint: { key: 'none', jobId: 'job_x', epoch: 1, size: 0, sha256: '' }, dataset: { builtin: 'xor' } };
    // 2 MiB is well below what loading the thread's modules takes (between 6 and 8 MiB since the S3
    // driver loads the AWS SDK only when it is made: a cap of 8 no longer ran out).
    const outcome = await runInThread(task, 2, new Set());
    expect(outcome).toEqual({ ok: false, failure: { kind: 'internal', message: 'the evaluation ran out of memory: its thread reached its V8 heap limit of 2 MiB (its memory estimate was too low)' } });
  });

  it('one still waiting for memory when the worker closes goes back to the queue, still queued', async () => {
    const job = await trainedJob(xorSpec({ epochs: 1 }));
    const releaseTraining = await admission.admit(BUDGET);
    const id = await evaluate(job);
    await waitFor(async () => admission.waiting === 1, { timeoutMs: 5000, what: 'the evaluation to wait for memory' });
    await evaluations.close();
    const queue = createEvaluationQueue(f.config, f.redis);
    expect(await queue.getJobState(id)).toBe('waiting');
    await queue.close();
    expect((await evaluation(id)).status).toBe('queued');
    expect(admission.waiting).toBe(0);
    releaseTraining();
  });
});
