// The spare trainer through real processes: after a job on an uploaded IDX dataset, the worker
// starts a trainer ahead of the next job, which preloads that dataset; the next job of the same
// size takes it (no start-up, no file read) and trains to exactly the metrics and checkpoint bytes
// of the first. With SPARE_TRAINER=false every job forks its own trainer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idxFile } from '../helpers/idx.js';
import { api, startStack, waitForJob, type Stack, type WorkerProcess } from './stack.js';

interface JobView {
  id: string;
  status: string;
}

interface LogLine {
  msg?: string;
  jobId?: string;
  spare?: boolean;
  startupMs?: number;
  startMs?: number;
  loadMs?: number;
  datasets?: string[];
  outcome?: string;
  /** pino's epoch-ms timestamp. */
  time?: number;
  epochs?: number;
  trainMs?: number;
  trainCpuMs?: number;
  hooksMs?: number;
  hooksCpuMs?: number;
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

/** 400 8×8 byte images of 4 classes, each class brighter in its own columns. */
async function uploadIdx(): Promise<string> {
  const n = 400;
  const pixels = new Uint8Array(n * 64);
  for (let r = 0; r < n; r++) for (let j = 0; j < 64; j++) pixels[r * 64 + j] = (j % 4 === r % 4 ? 150 : 20) + ((r * 31 + j * 7) % 90);
  const form = new FormData();
  form.append('images', new Blob([idxFile(0x08, [n, 8, 8], pixels)]), 'images.idx');
  form.append('labels', new Blob([idxFile(0x08, [n], Uint8Array.from({ length: n }, (_, r) => r % 4))]), 'labels.idx');
  const res = await fetch(`${stack.baseUrl}/v1/datasets`, { method: 'POST', body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const spec = (dataset: string) => ({
  dataset,
  validation: { fraction: 0.1 },
  model: { layers: [{ type: 'dense', units: 32, activation: 'relu' }, { type: 'dense', units: 4 }] },
  loss: 'softmax_cross_entropy',
  batchSize: 16,
  epochs: 3,
  seed: 5,
});

function logs(w: WorkerProcess): LogLine[] {
  return w.output
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function waitForLog(w: WorkerProcess, pred: (l: LogLine) => boolean, ms = 20_000): Promise<LogLine> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = logs(w).find(pred);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no such log line; worker output:\n${w.output.join('').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bestSha(jobId: string): Promise<string> {
  const list = await api<{ items: { sha256: string; best: boolean }[] }>(stack, 'GET', `/v1/jobs/${jobId}/checkpoints`);
  return list.body.items.find((c) => c.best)!.sha256;
}

async function run(dataset: string): Promise<{ id: string; metrics: unknown[] }> {
  const { body: job } = await api<JobView>(stack, 'POST', '/v1/jobs', spec(dataset));
  await waitForJob<JobView>(stack, job.id, (j) => j.status === 'completed', 30_000);
  const { body } = await api<{ items: Record<string, unknown>[] }>(stack, 'GET', `/v1/jobs/${job.id}/metrics`);
  return { id: job.id, metrics: body.items.map(({ seconds: _s, samplesPerSec: _r, ...rest }) => rest) };
}

describe('spare trainer', () => {
  it('preloads the last job\'s dataset and warms up; the next job takes it and trains to the same bytes', async () => {
    const w = await stack.startWorker();
    const dataset = await uploadIdx();
    const first = await run(dataset);
    expect((await waitForLog(w, (l) => l.msg === 'trainer started' && l.jobId === first.id)).spare).toBe(false);
    // First it compiles the training code on a small run (workers/warm-up.ts), to the end with no job
    // waiting; then it preloads. The job below still trains to the first one's bytes.
    const warmed = await waitForLog(w, (l) => l.msg === 'spare trainer warmed up');
    expect(warmed.outcome).toBe('done');
    const preloaded = await waitForLog(w, (l) => l.msg === 'spare trainer preloaded datasets');
    expect(preloaded.datasets).toEqual([dataset]);
    expect(preloaded.time).toBeGreaterThanOrEqual(warmed.time!);

    const second = await run(dataset);
    const started = await waitForLog(w, (l) => l.msg === 'trainer started' && l.jobId === second.id);
    expect(started.spare).toBe(true);
    expect(started.startupMs).toBe(0);
    expect((await waitForLog(w, (l) => l.msg === 'first mini-batch' && l.jobId === second.id)).startMs).toBeGreaterThanOrEqual(0);
    // What training took and how much of it the per-epoch hooks (the bench's service-vs-core figures read this line).
    const ended = await waitForLog(w, (l) => l.msg === 'training ended' && l.jobId === second.id);
    expect(ended.epochs).toBe(3);
    expect(ended.hooksMs).toBeGreaterThan(0);
    expect(ended.hooksMs).toBeLessThanOrEqual(ended.trainMs!);
    expect(ended.hooksCpuMs).toBeLessThanOrEqual(ended.trainCpuMs!);
    expect(second.metrics).toEqual(first.metrics);
    expect(second.metrics).toHaveLength(3);
    expect(await bestSha(second.id)).toBe(await bestSha(first.id));
    await stack.stopWorker(w);
  });

  it('warms up even with nothing to preload (DATASET_CACHE_BYTES=0), and the next job takes it', async () => {
    const w = await stack.startWorker({ DATASET_CACHE_BYTES: '0' });
    const dataset = await uploadIdx();
    const first = await run(dataset);
    expect((await waitForLog(w, (l) => l.msg === 'spare trainer warmed up')).outcome).toBe('done');
    expect((await waitForLog(w, (l) => l.msg === 'spare trainer preloaded datasets')).datasets).toEqual([]);
    const second = await run(dataset);
    expect((await waitForLog(w, (l) => l.msg === 'trainer started' && l.jobId === second.id)).spare).toBe(true);
    expect(second.metrics).toEqual(first.metrics);
    await stack.stopWorker(w);
  });

  it('with SPARE_TRAINER=false every job starts its own trainer', async () => {
    const w = await stack.startWorker({ SPARE_TRAINER: 'false' });
    const dataset = await uploadIdx();
    const a = await run(dataset);
    const b = await run(dataset);
    for (const id of [a.id, b.id]) expect((await waitForLog(w, (l) => l.msg === 'trainer started' && l.jobId === id)).spare).toBe(false);
    expect(logs(w).some((l) => l.msg === 'spare trainer preloaded datasets')).toBe(false);
    expect(b.metrics).toEqual(a.metrics);
    await stack.stopWorker(w);
  });
});
