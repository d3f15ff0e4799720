// Fine-tuning with real processes: a job submitted with `initFrom` starts from its parent's
// checkpoint (pinned at submission), records its parent, is deterministic, survives the parent's
// files being deleted, and is refused at submission when its layers do not fit the checkpoint.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPrefix } from '../../src/store/object-keys.js';
import { storedKeys } from '../helpers/test-storage.js';
import { api, startStack, waitForJob, type Stack } from './stack.js';

interface JobView {
  id: string;
  status: string;
  reason: string | null;
  error: string | null;
  spec: Record<string, unknown>;
  best: { epoch: number; loss: number; val_loss: number } | null;
  latest: { epoch: number; loss: number; val_loss: number } | null;
  initFrom: { job: string; epoch: number; sha256: string } | null;
}

interface MetricsPage {
  items: { epoch: number; loss: number; val_loss: number }[];
}

interface CheckpointList {
  items: { epoch: number; sha256: string; best: boolean }[];
}

interface ErrorView {
  error: { code: string; message: string; details: { path?: string } };
}

const layers = [
  { type: 'dense', units: 16, activation: 'tanh' },
  { type: 'dense', units: 2 },
];

const parentSpec = {
  dataset: { builtin: 'moons' },
  validation: { fraction: 0.2 },
  model: { layers },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'adam' },
  learningRate: 0.05,
  batchSize: 32,
  epochs: 25,
  normalize: 'standard',
  seed: 7,
};

/** Another split, optimizer, schedule, batch size and seed: only the layer shapes are the parent's. */
const childSpec = (initFrom?: Record<string, unknown>, overrides: Record<string, unknown> = {}) => ({
  dataset: { builtin: 'moons' },
  validation: { fraction: 0.3 },
  model: { layers },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'sgd', momentum: 0.9 },
  learningRate: 0.005,
  batchSize: 16,
  epochs: 3,
  normalize: 'standard',
  seed: 99,
  ...(initFrom === undefined ? {} : { initFrom }),
  ...overrides,
});

let stack: Stack;
let parent: JobView;
let parentBest: { epoch: number; sha256: string };

async function runToEnd(spec: unknown): Promise<JobView> {
  const submitted = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
  return waitForJob<JobView>(stack, submitted.body.id, (j) => ['completed', 'failed', 'cancelled'].includes(j.status), 60_000);
}

async function firstEpoch(jobId: string) {
  const page = await api<MetricsPage>(stack, 'GET', `/v1/jobs/${jobId}/metrics`);
  return page.body.items[0]!;
}

async function bestSha(jobId: string): Promise<string> {
  const list = await api<CheckpointList>(stack, 'GET', `/v1/jobs/${jobId}/checkpoints`);
  return list.body.items.find((c) => c.best)!.sha256;
}

beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  parent = await runToEnd(parentSpec);
  expect(parent.status).toBe('completed');
  const list = await api<CheckpointList>(stack, 'GET', `/v1/jobs/${parent.id}/checkpoints`);
  parentBest = list.body.items.find((c) => c.best)!;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('fine-tuning refusals at submission', () => {
  it('names the first layer whose shape differs from the checkpoint', async () => {
    const wider = childSpec({ job: parent.id }, { model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }, { type: 'dense', units: 2 }] } });
    const res = await api<ErrorView>(stack, 'POST', '/v1/jobs', wider);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_spec');
    expect(res.body.error.details.path).toBe('model.layers.0.units');
    expect(res.body.error.message).toBe("model.layers.0.units: initFrom: layer 0 (model.layers.0) has 32 units, the checkpoint's has 16");

    const deeper = childSpec({ job: parent.id }, { model: { layers: [...layers, { type: 'dense', units: 2 }] } });
    const res2 = await api<ErrorView>(stack, 'POST', '/v1/jobs', deeper);
    expect(res2.status).toBe(400);
    expect(res2.body.error.details.path).toBe('model.layers');
    expect(res2.body.error.message).toMatch(/the model has 3 layers, the checkpoint's has 2/);

    const dropoutFirst = childSpec({ job: parent.id }, { model: { layers: [{ type: 'dropout', rate: 0.1 }, ...layers] } });
    const res3 = await api<ErrorView>(stack, 'POST', '/v1/jobs', dropoutFirst);
    expect(res3.body.error.details.path).toBe('model.layers.0.type');
    expect(res3.body.error.message).toMatch(/layer 0 \(model.layers.0\) is a dropout layer, the checkpoint's is a dense layer of 16 units/);
  });

  it('refuses another input width, another normalization, a missing epoch, a wrong sha256 and an unknown parent', async () => {
    const iris = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: parent.id }, { dataset: { builtin: 'iris' }, model: { layers: [layers[0], { type: 'dense', units: 3 }] } }));
    expect(iris.status).toBe(400);
    expect(iris.body.error.details.path).toBe('dataset');
    expect(iris.body.error.message).toMatch(/the dataset has 4 features, the checkpoint's model takes 2 inputs/);

    const raw = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: parent.id }, { normalize: 'none' }));
    expect(raw.status).toBe(400);
    expect(raw.body.error.details.path).toBe('normalize');

    const missing = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: parent.id, checkpoint: 999 }));
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.path).toBe('initFrom.checkpoint');

    const sha = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: parent.id, checkpoint: parentBest.epoch, sha256: '0'.repeat(64) }));
    expect(sha.status).toBe(400);
    expect(sha.body.error.details.path).toBe('initFrom.sha256');

    const unknown = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: 'job_00000000000000000000000000' }));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details.path).toBe('initFrom.job');

    const badId = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: 'ds_00000000000000000000000000' }));
    expect(badId.status).toBe(400);
    expect(badId.body.error.details.path).toBe('initFrom.job');
    // Nothing of the refused submissions stays pinned: every stored object belongs to a job.
    const owners = new Set((await storedKeys(stack.storage, 'jobs/')).map((key) => key.split('/')[1] ?? key));
    expect(owners.size).toBeGreaterThan(0);
    for (const id of owners) {
      expect((await api(stack, 'GET', `/v1/jobs/${id}`)).status, id).toBe(200);
    }
  });
});

describe('fine-tuning from a checkpoint (initFrom)', () => {
  it("starts from the parent's weights: its first epoch scores near the parent's best, far below a fresh start", { timeout: 120_000 }, async () => {
    const tuned = await runToEnd(childSpec({ job: parent.id }));
    const fresh = await runToEnd(childSpec());
    expect(tuned.status).toBe('completed');
    expect(fresh.status).toBe('completed');
    const parentLoss = parent.best!.val_loss;
    const tunedFirst = await firstEpoch(tuned.id);
    const freshFirst = await firstEpoch(fresh.id);
    expect(parentLoss).toBeLessThan(0.2);
    // Another validation split and a few small SGD steps: close to the parent, not equal.
    expect(tunedFirst.val_loss).toBeLessThan(parentLoss * 1.5 + 0.05);
    expect(tunedFirst.loss).toBeLessThan(parentLoss * 1.5 + 0.05);
    expect(freshFirst.val_loss).toBeGreaterThan(0.4);
    expect(tunedFirst.val_loss).toBeLessThan(freshFirst.val_loss / 2);

    // The parent is recorded, resolved to its epoch and the file's sha256, in the record and the spec.
    expect(tuned.initFrom).toEqual({ job: parent.id, epoch: parentBest.epoch, sha256: parentBest.sha256 });
    expect(tuned.spec.initFrom).toEqual({ job: parent.id, checkpoint: parentBest.epoch, sha256: parentBest.sha256 });
    expect(fresh.initFrom).toBeNull();
    expect(fresh.spec.initFrom).toBeUndefined();
  });

  it('is deterministic: the same spec, parent checkpoint and seed give the same checkpoint bytes, also from an explicit epoch', { timeout: 120_000 }, async () => {
    const a = await runToEnd(childSpec({ job: parent.id }));
    // The resolved spec of `a`, submitted again: the same checkpoint by epoch and sha256.
    const b = await runToEnd(childSpec({ job: parent.id, checkpoint: parentBest.epoch, sha256: parentBest.sha256 }));
    expect(b.initFrom).toEqual(a.initFrom);
    expect(await bestSha(b.id)).toBe(await bestSha(a.id));
    const otherSeed = await runToEnd(childSpec({ job: parent.id }, { seed: 100 }));
    expect(await bestSha(otherSeed.id)).not.toBe(await bestSha(a.id));
  });

  it("runs from the copy pinned at submission after the parent's files are gone", { timeout: 120_000 }, async () => {
    const reference = await runToEnd(childSpec({ job: parent.id }));
    // A queued child, then the parent's files deleted (as retention does) before a worker takes it.
    await Promise.all(stack.workers.map((w) => stack.stopWorker(w)));
    const submitted = await api<JobView>(stack, 'POST', '/v1/jobs', childSpec({ job: parent.id }));
    expect(submitted.status).toBe(201);
    await stack.storage.deletePrefix(jobPrefix(parent.id));
    await stack.redis.del(`${stack.config.keyPrefix}:job:${parent.id}:checkpoints`);
    await stack.startWorker();
    const done = await waitForJob<JobView>(stack, submitted.body.id, (j) => ['completed', 'failed'].includes(j.status), 60_000);
    expect(done.status, done.error ?? '').toBe('completed');
    expect(await bestSha(done.id)).toBe(await bestSha(reference.id));
    // A new child of it is refused now: the parent has no checkpoint left.
    const refused = await api<ErrorView>(stack, 'POST', '/v1/jobs', childSpec({ job: parent.id }));
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.path).toBe('initFrom.checkpoint');
    expect(refused.body.error.message).toMatch(/has no checkpoint yet \(none kept\)/);
    // A child of the child still works: every job pins its own start.
    const grandchild = await runToEnd(childSpec({ job: done.id }, { epochs: 1 }));
    expect(grandchild.status).toBe('completed');
    expect(grandchild.initFrom?.job).toBe(done.id);
  });
});
