// The whole path with real processes: HTTP submit → BullMQ → worker process (training in a worker
// thread) → Redis stream → SSE; early stopping, best checkpoint, predict; cancel; bad input.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, splitHoldout } from '../../src/core/index.js';
import { builtinDataset } from '../../src/data/index.js';
import { datasetKey } from '../../src/store/object-keys.js';
import { api, readEvents, startStack, waitForJob, type Stack } from './stack.js';

interface JobView {
  id: string;
  status: string;
  reason: string | null;
  attempt: number;
  error: string | null;
  backend: string | null;
  history: { status: string; attempt: number; reason?: string }[];
  progress: { epoch: number; epochs: number };
}

interface CheckpointView {
  epoch: number;
  value: number | null;
  size: number;
  sha256: string;
  best: boolean;
}

const SEED = 7;

const moonsSpec = {
  dataset: { builtin: 'moons' },
  validation: { fraction: 0.2 },
  model: {
    layers: [
      { type: 'dense', units: 16, activation: 'tanh' },
      { type: 'dense', units: 2 },
    ],
  },
  loss: 'softmax_cross_entropy',
  optimizer: { type: 'adam' },
  learningRate: 0.05,
  batchSize: 32,
  epochs: 300,
  earlyStopping: { monitor: 'val_loss', patience: 3, minDelta: 0.002 },
  checkpoints: { keepBest: 2 },
  seed: SEED,
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 2 });
});

afterAll(async () => {
  await stack?.stop();
});

describe('a training job end to end', () => {
  it('streams every epoch over SSE, stops early, and its best checkpoint reproduces its validation score', async () => {
    const submitted = await api<JobView>(stack, 'POST', '/v1/jobs', moonsSpec);
    expect(submitted.status).toBe(201);
    const jobId = submitted.body.id;
    const events = await readEvents(stack, jobId);

    const metrics = events.filter((e) => e.event === 'metrics').map((e) => e.data as Record<string, number>);
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data as { status: string; reason?: string });
    expect(statuses.map((s) => s.status)).toEqual(['queued', 'running', 'completed']);
    expect(statuses.at(-1)?.reason).toBe('early_stopped');
    expect(metrics.length).toBeGreaterThan(3);
    expect(metrics.length).toBeLessThan(300);
    expect(metrics.map((m) => m.epoch)).toEqual(metrics.map((_, i) => i + 1));
    for (const m of metrics) expect(m.attempt).toBe(1);
    // SSE ids are the stream cursor: strictly increasing.
    const ids = events.map((e) => e.id.split('-').map(BigInt) as [bigint, bigint]);
    ids.slice(1).forEach(([ms, seq], i) => {
      const [pms, pseq] = ids[i] as [bigint, bigint];
      expect(ms > pms || (ms === pms && seq > pseq)).toBe(true);
    });

    // The best checkpoint is the epoch with the lowest val_loss in the stream.
    const bestInStream = metrics.reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
    const list = await api<{ items: CheckpointView[] }>(stack, 'GET', `/v1/jobs/${jobId}/checkpoints`);
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeLessThanOrEqual(2);
    const best = list.body.items.find((c) => c.best);
    expect(best?.epoch).toBe(bestInStream.epoch);
    expect(best?.value).toBeCloseTo(bestInStream.val_loss!, 12);

    const download = await fetch(`${stack.baseUrl}/v1/jobs/${jobId}/checkpoints/best`);
    expect(download.status).toBe(200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(best?.sha256);
    const { metadata } = decodeSafetensors(bytes);
    const saved = JSON.parse(metadata.metrics ?? 'null') as Record<string, number>;
    expect(Number(metadata.epoch)).toBe(bestInStream.epoch);
    expect(saved.val_loss).toBe(bestInStream.val_loss);
    expect(saved.val_accuracy).toBe(bestInStream.val_accuracy);

    // Predict on the very validation rows the worker held out.
    const { validation } = splitHoldout(builtinDataset('moons').dataset, 0.2, SEED);
    const inputs = Array.from({ length: validation.n }, (_, i) => Array.from(validation.x.subarray(i * 2, i * 2 + 2)));
    const predicted = await api<{ outputs: { probabilities: number[]; label: number }[] }>(stack, 'POST', `/v1/jobs/${jobId}/predict`, { inputs });
    expect(predicted.status).toBe(200);
    let correct = 0;
    let logLoss = 0;
    predicted.body.outputs.forEach((o, i) => {
      const label = validation.y[i] as number;
      if (o.label === label) correct++;
      logLoss -= Math.log(o.probabilities[label] as number);
    });
    expect(correct / validation.n).toBe(bestInStream.val_accuracy);
    expect(logLoss / validation.n).toBeCloseTo(bestInStream.val_loss!, 4);
  });

  it('cancels a running job within a mini-batch and keeps its checkpoints downloadable', async () => {
    const spec = {
      dataset: { builtin: 'spirals' },
      validation: { fraction: 0.2 },
      model: { layers: [{ type: 'dense', units: 64, activation: 'relu' }, { type: 'dense', units: 3 }] },
      loss: 'softmax_cross_entropy',
      optimizer: { type: 'sgd', momentum: 0.9 },
      learningRate: 0.01,
      batchSize: 1,
      epochs: 10_000,
      seed: 3,
    };
    const { body: job } = await api<JobView>(stack, 'POST', '/v1/jobs', spec);
    const running = await waitForJob<JobView>(stack, job.id, (j) => j.progress.epoch >= 2);
    // The backend is on the job while it runs, not only once it ends.
    expect(running.status).toBe('running');
    expect(running.backend).toMatch(/^(native-|wasm|js)/);
    const asked = Date.now();
    const cancel = await api<JobView>(stack, 'POST', `/v1/jobs/${job.id}/cancel`);
    expect(cancel.status).toBe(202);
    const done = await waitForJob<JobView>(stack, job.id, (j) => j.status === 'cancelled', 5000);
    // One mini-batch is one row here: the stop is bounded by message latency, not by an epoch.
    expect(Date.now() - asked).toBeLessThan(2000);
    expect(done.reason).toBe('cancelled_by_user');

    const again = await api<{ error: { code: string } }>(stack, 'POST', `/v1/jobs/${job.id}/cancel`);
    expect(again.status).toBe(409);

    const list = await api<{ items: CheckpointView[] }>(stack, 'GET', `/v1/jobs/${job.id}/checkpoints`);
    expect(list.body.items.length).toBeGreaterThan(0);
    for (const c of list.body.items) {
      const res = await fetch(`${stack.baseUrl}/v1/jobs/${job.id}/checkpoints/${c.epoch}`);
      expect(res.status).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(c.sha256);
    }
  });

  it('fails a job whose dataset turns out unreadable in the worker, without retrying, and serves the next job', async () => {
    const csv = 'a,b,label\n' + Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2}`).join('\n');
    const upload = await fetch(`${stack.baseUrl}/v1/datasets`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(upload.status).toBe(201);
    const { id: datasetId } = (await upload.json()) as { id: string };
    // The upload was fine; the object goes bad afterwards (disk corruption, a half-copied volume).
    await stack.storage.put(datasetKey(datasetId), Buffer.from('not a dataset'));

    const bad = { ...moonsSpec, dataset: datasetId, epochs: 5, earlyStopping: null };
    const { body: job } = await api<JobView>(stack, 'POST', '/v1/jobs', bad);
    expect(job.status).toBe('queued');
    const failed = await waitForJob<JobView>(stack, job.id, (j) => j.status === 'failed');
    expect(failed.reason).toMatch(/^error: dataset ds_\w+ cannot be read/);
    expect(failed.error).toContain('cannot be read');
    expect(failed.history.filter((h) => h.status === 'running')).toHaveLength(1);

    const { body: next } = await api<JobView>(stack, 'POST', '/v1/jobs', { ...moonsSpec, epochs: 3, earlyStopping: null });
    const completed = await waitForJob<JobView>(stack, next.id, (j) => j.status === 'completed');
    expect(completed.reason).toBe('max_epochs');
    for (const w of stack.workers) expect(w.child.exitCode).toBeNull();
  });
});
