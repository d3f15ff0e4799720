// Fine-tuning and evaluation across tenants and limits (the app over a real Redis, no worker: the
// parent's checkpoint is written through the store as a worker would): another tenant's parent,
// job or evaluation is not found; the pinned copy is charged to the quota, and refused past it
// without leaving a file; the pending-evaluation limit answers 429.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/api/auth.js';
import { train } from '../../src/core/index.js';
import type { JobSpec } from '../../src/spec/job-spec.js';
import { toTrainConfig } from '../../src/spec/to-train-config.js';
import { markBestCheckpoint, saveCheckpoint } from '../../src/store/checkpoints.js';
import { initCheckpointKey } from '../../src/store/object-keys.js';
import { builtinDataset } from '../../src/data/index.js';
import { storedKeys } from '../helpers/test-storage.js';
import { appFixture, errorOf, xorSpec, type AppFixture } from './helpers.js';

const KEY_A = 'tdk_test_key_for_tenant_a';
const KEY_B = 'tdk_test_key_for_tenant_b';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('fine-tuning and evaluation between tenants', () => {
  let f: AppFixture;
  let parent: string;
  let size: number;

  beforeAll(async () => {
    f = await appFixture({ API_KEYS: `alpha:${sha256Hex(KEY_A)},beta:${sha256Hex(KEY_B)}`, RATE_LIMIT_MAX: '1000', MAX_PENDING_EVALUATIONS_PER_TENANT: '2' });
    const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ seed: 1 }), headers: as(KEY_A) });
    expect(res.statusCode).toBe(201);
    parent = res.json().id;
    const spec = res.json().spec as JobSpec;
    const { dataset } = builtinDataset('xor');
    const run = await train(toTrainConfig(spec), { train: dataset, validation: null });
    size = run.checkpoint.byteLength;
    await saveCheckpoint(f.store, parent, { tenant: 'alpha', epoch: 5, step: run.step, monitor: 'loss', value: run.last!.loss, bytes: run.checkpoint });
    await markBestCheckpoint(f.store, parent, 5);
  });

  afterAll(async () => {
    await f.close();
  });

  it("refuses another tenant's parent as not found, and pins and charges the copy for its owner", async () => {
    const foreign = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ initFrom: { job: parent } }), headers: as(KEY_B) });
    expect(foreign.statusCode).toBe(404);
    expect(errorOf(foreign.body).details.path).toBe('initFrom.job');
    expect(await storedKeys(f.store.storage, 'jobs/')).toEqual([`jobs/${parent}/epoch-5.safetensors`]);

    const before = (await f.app.inject({ method: 'GET', url: '/v1/usage', headers: as(KEY_A) })).json().bytes.checkpoints as number;
    const own = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ initFrom: { job: parent } }), headers: as(KEY_A) });
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json().initFrom).toMatchObject({ job: parent, epoch: 5 });
    expect(await f.store.storage.stat(initCheckpointKey(own.json().id))).not.toBeNull();
    const after = (await f.app.inject({ method: 'GET', url: '/v1/usage', headers: as(KEY_A) })).json().bytes.checkpoints as number;
    expect(after - before).toBe(size);
  });

  it("answers 404 for another tenant's job to evaluate and evaluation to read; 429 past the pending limit", async () => {
    const foreignJob = await f.app.inject({ method: 'POST', url: `/v1/jobs/${parent}/evaluate`, payload: { dataset: { builtin: 'xor' } }, headers: as(KEY_B) });
    expect(foreignJob.statusCode).toBe(404);
    const queued = await f.app.inject({ method: 'POST', url: `/v1/jobs/${parent}/evaluate`, payload: { dataset: { builtin: 'xor' } }, headers: as(KEY_A) });
    expect(queued.statusCode).toBe(202);
    const ev = queued.json();
    expect(ev).toMatchObject({ status: 'queued', jobId: parent, checkpoint: { epoch: 5 }, result: null });
    expect(queued.headers.location).toBe(`/v1/evaluations/${ev.id}`);
    expect((await f.app.inject({ method: 'GET', url: `/v1/evaluations/${ev.id}`, headers: as(KEY_B) })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: `/v1/evaluations/${ev.id}`, headers: as(KEY_A) })).json().status).toBe('queued');
    // No worker runs here: a second stays pending too, and a third is over MAX_PENDING_EVALUATIONS_PER_TENANT=2.
    expect((await f.app.inject({ method: 'POST', url: `/v1/jobs/${parent}/evaluate?wait=0.2`, payload: { dataset: { builtin: 'xor' } }, headers: as(KEY_A) })).statusCode).toBe(202);
    const third = await f.app.inject({ method: 'POST', url: `/v1/jobs/${parent}/evaluate`, payload: { dataset: { builtin: 'xor' } }, headers: as(KEY_A) });
    expect(third.statusCode).toBe(429);
    expect(errorOf(third.body).code).toBe('too_many_pending_evaluations');
    expect(third.headers['retry-after']).toBe('5');
    // Another tenant's limit is its own.
    const otherJob = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec(), headers: as(KEY_B) });
    expect((await f.app.inject({ method: 'POST', url: `/v1/jobs/${otherJob.json().id}/evaluate`, payload: { dataset: { builtin: 'xor' } }, headers: as(KEY_B) })).statusCode).toBe(409);
  });
});

describe('a fine-tuning sweep', () => {
  it('pins the parent checkpoint for every trial, and refuses a base whose layers do not fit it, naming the path', async () => {
    const f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '100' });
    try {
      const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ seed: 1 }) });
      const parent = res.json().id as string;
      const run = await train(toTrainConfig(res.json().spec as JobSpec), { train: builtinDataset('xor').dataset, validation: null });
      await saveCheckpoint(f.store, parent, { tenant: 'default', epoch: 2, step: 2, monitor: 'loss', value: 1, bytes: run.checkpoint });
      await markBestCheckpoint(f.store, parent, 2);
      const sweep = {
        base: xorSpec({ validation: { fraction: 0.25 }, initFrom: { job: parent } }),
        space: { learningRate: { loguniform: [1e-3, 1e-1] } },
        maxTrials: 3,
        parallelism: 2,
        objective: { metric: 'val_loss', mode: 'min' },
        seed: 3,
      };
      const created = await f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: sweep });
      expect(created.statusCode, created.body).toBe(201);
      const trials = (created.json() as { leaderboard: { jobId: string }[] }).leaderboard;
      expect(trials).toHaveLength(2);
      for (const t of trials) {
        const job = (await f.app.inject({ method: 'GET', url: `/v1/jobs/${t.jobId}` })).json();
        expect(job.initFrom).toMatchObject({ job: parent, epoch: 2 });
        expect(job.spec.initFrom).toEqual({ job: parent, checkpoint: 2, sha256: job.initFrom.sha256 });
        expect(await f.store.storage.stat(initCheckpointKey(t.jobId))).not.toBeNull();
      }
      const wider = { ...sweep, base: xorSpec({ validation: { fraction: 0.25 }, initFrom: { job: parent }, model: { layers: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 2 }] } }) };
      const refused = await f.app.inject({ method: 'POST', url: '/v1/sweeps', payload: wider });
      expect(refused.statusCode).toBe(400);
      expect(errorOf(refused.body).details.path).toBe('base.model.layers.0.units');
      expect(errorOf(refused.body).message).toMatch(/initFrom: layer 0 \(model.layers.0\) has 16 units, the checkpoint's has 8/);
    } finally {
      await f.close();
    }
  });
});

describe('the pinned copy and the storage quota', () => {
  it('refuses a fine-tune whose copy would not fit under MAX_TENANT_BYTES (403), leaving no file', async () => {
    const f = await appFixture({ MAX_TENANT_BYTES: '2500' });
    try {
      const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ seed: 1 }) });
      const parent = res.json().id;
      const run = await train(toTrainConfig(res.json().spec as JobSpec), { train: builtinDataset('xor').dataset, validation: null });
      expect(run.checkpoint.byteLength * 2).toBeGreaterThan(2500);
      await saveCheckpoint(f.store, parent, { tenant: 'default', epoch: 1, step: 1, monitor: 'loss', value: 1, bytes: run.checkpoint });
      await markBestCheckpoint(f.store, parent, 1);
      const child = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ initFrom: { job: parent } }) });
      expect(child.statusCode).toBe(403);
      expect(errorOf(child.body).code).toBe('quota_exceeded');
      expect(await storedKeys(f.store.storage, 'jobs/')).toEqual([`jobs/${parent}/epoch-1.safetensors`]);
    } finally {
      await f.close();
    }
  });
});
