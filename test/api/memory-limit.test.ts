// The memory estimate at submission, over app.inject with a real Redis and BullMQ queue: a job
// whose estimate exceeds MAX_JOB_MEMORY_BYTES is refused (the 10 GB job among them), and
// an accepted job carries its estimate in its representation and its BullMQ data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryEstimate } from '../../src/core/index.js';
import { appFixture, errorOf, type AppFixture } from './helpers.js';

const DEFAULT_LIMIT = 2 * 1024 ** 3;

describe('MAX_JOB_MEMORY_BYTES at POST /v1/jobs', () => {
  let f: AppFixture;
  let datasetId = '';
  beforeAll(async () => {
    f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '1000' });
    // The data: 10,000 rows of one feature (a regression target).
    const lines = ['x,y'];
    for (let i = 0; i < 10_000; i++) lines.push(`${(i / 10_000).toFixed(4)},${((i * 7) % 13) / 13}`);
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets?label=y', payload: lines.join('\n'), headers: { 'content-type': 'text/csv' } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ rows: 10_000, features: 1, task: 'regression' });
    datasetId = res.json().id;
  });
  afterAll(async () => {
    await f.close();
  });

  const submit = (body: unknown) => f.app.inject({ method: 'POST', url: '/v1/jobs', payload: body as object });
  const wideSpec = (extra: Record<string, unknown> = {}) => ({
    dataset: datasetId,
    model: { layers: [{ type: 'dense', units: 65_536, activation: 'relu' }, { type: 'dense', units: 1 }] },
    loss: 'mse',
    optimizer: { type: 'sgd', momentum: 0.9 },
    learningRate: 0.01,
    epochs: 1,
    ...extra,
  });
  const queuedCount = () => f.queue.getJobCountByTypes('waiting', 'prioritized', 'active', 'delayed');

  it("refuses the issue's job (10,000 rows × 1 feature, batchSize \"full\", 65,536 units, ~10 GB): 400 at batchSize, naming the limit and the estimate", async () => {
    const before = await queuedCount();
    const res = await submit(wideSpec({ batchSize: 'full' }));
    expect(res.statusCode).toBe(400);
    const err = errorOf(res.body);
    expect(err.code).toBe('invalid_spec');
    expect(err.details.path).toBe('batchSize');
    expect(err.message).toContain('MAX_JOB_MEMORY_BYTES');
    expect(err.message).toContain(`${DEFAULT_LIMIT}`);
    const estimate = Number(/estimated (\d+) bytes/.exec(err.message)?.[1]);
    expect(estimate).toBeGreaterThan(10e9);
    expect(estimate).toBeLessThan(11e9);
    expect(await queuedCount()).toBe(before);
    const list = await f.app.inject({ method: 'GET', url: '/v1/jobs?limit=100' });
    expect(list.json().items).toEqual([]);
  });

  it('names model.layers when the parameters and their copies are what is too big', async () => {
    // 2 → 7,000 → 7,000 → 2 is 49 M parameters (under MAX_MODEL_PARAMS): with adam and its copies, ~3 GB.
    const res = await submit({
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 7000, activation: 'relu' }, { type: 'dense', units: 7000, activation: 'relu' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      optimizer: { type: 'adam' },
      epochs: 1,
    });
    expect(res.statusCode).toBe(400);
    const err = errorOf(res.body);
    expect(err.code).toBe('invalid_spec');
    expect(err.details.path).toBe('model.layers');
    expect(err.message).toContain('MAX_JOB_MEMORY_BYTES');
  });

  it('an accepted job shows its estimate (GET and list) and carries memoryBytes in its BullMQ data', async () => {
    const res = await submit(wideSpec({ batchSize: 32, validation: { fraction: 0.1 } }));
    expect(res.statusCode).toBe(201);
    const job = res.json();
    const core = memoryEstimate(
      {
        layers: [
          { type: 'dense', units: 65_536, activation: 'relu', init: 'xavier_uniform', useBias: true, biasInit: 'zeros' },
          { type: 'dense', units: 1, activation: 'linear', init: 'xavier_uniform', useBias: true, biasInit: 'zeros' },
        ],
        loss: { type: 'mse' },
        optimizer: { type: 'sgd', momentum: 0.9, nesterov: false },
        batchSize: 32,
        normalize: 'none',
        earlyStopping: null,
      },
      { trainRows: 9_000, validationRows: 1_000, features: 1, targetWidth: 1 },
    );
    // Plus the 1,000 held-out rows (1 float feature + 1 target) copied while the worker splits them off.
    const datasetLoading = 4 * 1_000 * 2;
    const expected = { bytes: core.bytes + datasetLoading, parts: { ...core.parts, datasetLoading } };
    expect(job.memoryEstimate).toEqual(expected);
    expect(job.memoryEstimate.bytes).toBeLessThan(DEFAULT_LIMIT);
    const got = await f.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
    expect(got.json().memoryEstimate).toEqual(expected);
    const list = await f.app.inject({ method: 'GET', url: '/v1/jobs' });
    expect(list.json().items.find((j: { id: string }) => j.id === job.id).memoryEstimate).toEqual(expected);
    const bull = await f.queue.getJob(job.id);
    expect(bull?.data).toEqual({ jobId: job.id, tenant: 'default', memoryBytes: expected.bytes });
  });
});
