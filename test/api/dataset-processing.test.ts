// Datasets are `processing` until `ready`, or `failed` with the parser's error naming the line and
// column: an upload answers 201 when its conversion ends within ?wait seconds (default 60), else
// 202 with Location; a job naming a dataset still processing is refused with 409 dataset_processing.
import { afterEach, describe, expect, it } from 'vitest';
import { holdUploadLease, PROCESSING_TTL_SECONDS, startUpload } from '../../src/store/dataset-uploads.js';
import { newDatasetId } from '../../src/store/ids.js';
import { waitFor } from '../helpers/wait.js';
import { appFixture, errorOf, type AppFixture } from './helpers.js';

let f: AppFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

const CSV = 'x,y,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n';

function spec(dataset: string): Record<string, unknown> {
  return { dataset, model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy', optimizer: { type: 'adam' }, learningRate: 0.05, epochs: 2 };
}

describe('dataset processing', () => {
  it('answers 201 ready when the conversion ends within ?wait', async () => {
    f = await appFixture();
    const res = await f.app.inject({ method: 'POST', url: '/v1/datasets', headers: { 'content-type': 'text/csv' }, payload: CSV });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'ready', error: null, rows: 4, features: 2 });
  });

  it('with ?wait=0 answers 202 processing with Location, then GET says ready', async () => {
    const a = (f = await appFixture());
    const res = await a.app.inject({ method: 'POST', url: '/v1/datasets?wait=0&name=later', headers: { 'content-type': 'text/csv' }, payload: CSV });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ status: 'processing', error: null, rows: null, name: 'later', format: 'csv' });
    expect(res.headers.location).toBe(`/v1/datasets/${body.id}`);
    const ready = await waitFor(
      async () => {
        const got = (await a.app.inject({ method: 'GET', url: `/v1/datasets/${body.id}` })).json();
        return got.status === 'ready' ? got : null;
      },
      { timeoutMs: 10_000, what: 'the dataset to be ready' },
    );
    expect(ready).toMatchObject({ rows: 4, features: 2, classes: 2, task: 'classification', name: 'later' });
    expect((await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec(body.id) })).statusCode).toBe(201);
  });

  it('a failed conversion is failed with the parser error naming line and column; 400 when it fails in time', async () => {
    const a = (f = await appFixture());
    const bad = 'x,y,label\n0,0,0\n1,oops,1\n';
    const now = await a.app.inject({ method: 'POST', url: '/v1/datasets', headers: { 'content-type': 'text/csv' }, payload: bad });
    expect(now.statusCode).toBe(400);
    expect(errorOf(now.body).details.path).toBe('line.3.y');

    const later = await a.app.inject({ method: 'POST', url: '/v1/datasets?wait=0', headers: { 'content-type': 'text/csv' }, payload: bad });
    expect(later.statusCode).toBe(202);
    const id = later.json().id as string;
    const failed = await waitFor(
      async () => {
        const got = (await a.app.inject({ method: 'GET', url: `/v1/datasets/${id}` })).json();
        return got.status === 'failed' ? got : null;
      },
      { timeoutMs: 10_000, what: 'the dataset to fail' },
    );
    expect(failed.error.path).toBe('line.3.y');
    expect(failed.error.message).toMatch(/line 3, column "y"/);
    // Not listed, not usable: a job naming it is told it does not exist.
    expect((await a.app.inject({ method: 'GET', url: '/v1/datasets' })).json().items.map((d: { id: string }) => d.id)).not.toContain(id);
    const job = await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec(id) });
    expect(job.statusCode).toBe(400);
    expect(errorOf(job.body).details.path).toBe('dataset');
  });

  it('a job naming a dataset still processing is 409 dataset_processing, for dataset and validation.dataset', async () => {
    const a = (f = await appFixture());
    const id = newDatasetId();
    // An upload in progress: its API process holds the lease.
    const lease = await holdUploadLease(a.store, id);
    await startUpload(a.store, { id, tenant: 'default', name: null, format: 'csv' });
    expect((await a.app.inject({ method: 'GET', url: `/v1/datasets/${id}` })).json()).toMatchObject({ id, status: 'processing' });
    const res = await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec(id) });
    expect(res.statusCode).toBe(409);
    const e = errorOf(res.body);
    expect(e.code).toBe('dataset_processing');
    expect(e.message).toMatch(new RegExp(`dataset ${id} is still processing`));
    const ready = (await a.app.inject({ method: 'POST', url: '/v1/datasets', headers: { 'content-type': 'text/csv' }, payload: CSV })).json();
    const v = await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: { ...spec(ready.id), validation: { dataset: id } } });
    expect(v.statusCode).toBe(409);
    expect(errorOf(v.body).details.path).toBe('validation.dataset');
    await lease.release();
  });

  it('an upload whose API process died (its lease gone) is failed at once, not processing for hours', async () => {
    const a = (f = await appFixture());
    const id = newDatasetId();
    await startUpload(a.store, { id, tenant: 'default', name: null, format: 'csv' });
    // No lease: the process that took the upload stopped renewing it (killed, host lost) and it expired.
    const got = (await a.app.inject({ method: 'GET', url: `/v1/datasets/${id}` })).json();
    expect(got).toMatchObject({ id, status: 'failed', error: { path: 'body' } });
    expect(got.error.message).toMatch(/interrupted: the API process receiving or converting it stopped; upload the dataset again/);
    // Kept as failed for FAILED_TTL_SECONDS, not the 6 h of a processing record.
    expect(await a.redis.ttl(a.store.keys.datasetUpload(id))).toBeGreaterThan(PROCESSING_TTL_SECONDS);
    const job = await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: spec(id) });
    expect(job.statusCode).toBe(400);
    expect(errorOf(job.body).details.path).toBe('dataset');
  });
});
