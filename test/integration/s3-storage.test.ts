// The service on S3-compatible storage end to end: API and worker processes with STORAGE_URL on a
// real S3 server on loopback (s3rver, started here), nothing in DATA_DIR but scratch. Upload,
// train, checkpoints (sha256 ETag, 304, verified on read), predict, ONNX, a fine-tune from a pinned
// copy, evaluation, deletion; a damaged object is checkpoint_corrupt, never served.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob, waitForStatus, type JobView } from '../helpers/api.js';
import { circleCsv } from '../helpers/datasets.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';

const PREFIX = `it-${Date.now().toString(36)}`;
let s3: S3Server;
let stack: ProcessStack;

beforeAll(async () => {
  s3 = await startS3Server();
  stack = await startProcessStack({ tag: 's3it', env: s3.env(PREFIX) });
  await stack.startWorker('worker');
}, 60_000);

afterAll(async () => {
  await stack?.dispose();
  await s3?.close();
});

function spec(dataset: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dataset,
    validation: { fraction: 0.2 },
    model: { layers: [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 2 }] },
    loss: 'softmax_cross_entropy',
    optimizer: { type: 'adam' },
    learningRate: 0.05,
    epochs: 4,
    checkpoints: { keepBest: 2 },
    seed: 3,
    ...extra,
  };
}

async function objectBytes(key: string): Promise<Buffer> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

describe('the service with STORAGE_URL=s3://…', () => {
  let datasetId = '';
  let job: JobView;

  it('stores an uploaded dataset as an object and trains on it in a worker', { timeout: 120_000 }, async () => {
    const upload = await fetch(`${stack.api.baseUrl}/v1/datasets?label=label`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: circleCsv(300) });
    expect(upload.status).toBe(201);
    datasetId = ((await upload.json()) as { id: string }).id;
    expect(await s3.keys(`${PREFIX}/datasets/`)).toEqual([`${PREFIX}/datasets/${datasetId}.bin`]);

    const submitted = await submitJob(stack.api, spec(datasetId));
    job = await waitForStatus(stack.api, submitted.id, ['completed', 'failed'], 90_000);
    expect(job.status).toBe('completed');
    const keys = await s3.keys(`${PREFIX}/jobs/${job.id}/`);
    expect(keys.filter((k) => k.endsWith('.tmp'))).toEqual([]);
    expect(keys.filter((k) => /epoch-\d+\.safetensors$/.test(k)).length).toBe(2);
    // The processes say where their objects are (and nothing of the credentials).
    expect(stack.apiProcess.logs.find((l) => l.msg === 'API listening')?.storage).toBe(`s3://${s3.bucket}/${PREFIX}/ at ${s3.endpoint}`);
    expect(stack.workers[0]?.logs.find((l) => l.msg === 'worker started')?.storage).toBe(`s3://${s3.bucket}/${PREFIX}/ at ${s3.endpoint}`);
    // DATA_DIR holds no datasets and no checkpoints: everything is in the bucket.
    for (const dir of ['jobs', 'datasets']) expect(existsSync(path.join(stack.dataDir, dir))).toBe(false);
  });

  it('serves checkpoints from the bucket with the sha256 as ETag, 304, predict and ONNX', { timeout: 60_000 }, async () => {
    const list = await stack.api.get<{ items: { epoch: number; best: boolean; sha256: string; size: number }[] }>(`/v1/jobs/${job.id}/checkpoints`);
    const best = list.body.items.find((c) => c.best);
    expect(best).toBeDefined();
    const file = await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/best`);
    expect(file.status).toBe(200);
    expect(file.headers.get('etag')).toBe(`"${best?.sha256}"`);
    expect(createHash('sha256').update(file.bytes).digest('hex')).toBe(best?.sha256);
    expect(Buffer.from(file.bytes).equals(await objectBytes(`${PREFIX}/jobs/${job.id}/epoch-${best?.epoch}.safetensors`))).toBe(true);
    const again = await fetch(`${stack.api.baseUrl}/v1/jobs/${job.id}/checkpoints/best`, { headers: { 'if-none-match': `"${best?.sha256}"` } });
    expect(again.status).toBe(304);

    const predict = await stack.api.post<{ outputs: { label: number }[] }>(`/v1/jobs/${job.id}/predict`, { inputs: [[0, 0], [3, 3]] });
    expect(predict.status).toBe(200);
    expect(predict.body.outputs.map((o) => o.label)).toEqual([1, 0]);
    const onnx = await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/best?format=onnx`);
    expect(onnx.status).toBe(200);
    expect(onnx.bytes.byteLength).toBeGreaterThan(100);
  });

  it('fine-tunes from a copy pinned in the bucket, and evaluates from the bucket', { timeout: 120_000 }, async () => {
    const child = await submitJob(stack.api, spec(datasetId, { initFrom: { job: job.id, checkpoint: 'best' }, epochs: 2 }));
    expect(await s3.keys(`${PREFIX}/jobs/${child.id}/`)).toContain(`${PREFIX}/jobs/${child.id}/init.safetensors`);
    const done = await waitForStatus(stack.api, child.id, ['completed', 'failed'], 90_000);
    expect(done.status).toBe('completed');

    const evaluation = await stack.api.post<{ status: string; result?: { rows: number } }>(`/v1/jobs/${job.id}/evaluate?wait=30`, { dataset: datasetId });
    expect(evaluation.status).toBe(200);
    expect(evaluation.body.status).toBe('completed');
    expect(evaluation.body.result?.rows).toBe(300);
  });

  it('a damaged object in the bucket is checkpoint_corrupt for download and predict, never served', { timeout: 60_000 }, async () => {
    const list = await stack.api.get<{ items: { epoch: number; best: boolean }[] }>(`/v1/jobs/${job.id}/checkpoints`);
    const best = list.body.items.find((c) => c.best);
    const key = `${PREFIX}/jobs/${job.id}/epoch-${best?.epoch}.safetensors`;
    const original = await objectBytes(key);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 2] = (flipped[flipped.length - 2] ?? 0) ^ 0x40;
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: flipped }));
    try {
      const download = await stack.api.get<{ error: { code: string; message: string } }>(`/v1/jobs/${job.id}/checkpoints/best`);
      expect(download.status).toBe(500);
      expect(download.body.error.code).toBe('checkpoint_corrupt');
      expect(download.body.error.message).toMatch(/sha256 [0-9a-f]{64} on disk, [0-9a-f]{64} recorded/);
      const predict = await stack.api.post<{ error: { code: string } }>(`/v1/jobs/${job.id}/predict`, { inputs: [[0, 0]] });
      expect(predict.status).toBe(500);
      expect(predict.body.error.code).toBe('checkpoint_corrupt');
    } finally {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: original }));
    }
    expect((await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/best`)).status).toBe(200);
  });

  it('deleting a dataset removes its object', async () => {
    const res = await fetch(`${stack.api.baseUrl}/v1/datasets/${datasetId}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await s3.keys(`${PREFIX}/datasets/`)).toEqual([]);
  });
});
