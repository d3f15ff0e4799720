// Cancel across processes: the API sets the flag and publishes, the job trains in a worker process;
// it must stop within about one mini-batch, keep its checkpoints, even if its worker just died.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YIELD_MS } from '../../src/core/pacing.js';
import { allMetrics, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { slowSpec } from './specs.js';

/** A generated binary classification CSV: 32 features, label = sign of a fixed linear form. */
function csvDataset(rows: number): string {
  const lines = [`${Array.from({ length: 32 }, (_, j) => `f${j}`).join(',')},label`];
  let s = 12345;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  };
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: 32 }, () => rand());
    const y = x.reduce((acc, v, j) => acc + (j % 3 === 0 ? v : -v / 2), 0) > 0 ? 1 : 0;
    lines.push(`${x.map((v) => v.toFixed(4)).join(',')},${y}`);
  }
  return `${lines.join('\n')}\n`;
}

// Epochs long enough that the end-of-epoch work (validation, the epoch's record, a 4.2M-parameter
// checkpoint and its resume state, after the record is visible) is over well before the cancel is
// sent mid-epoch: this test bounds the mini-batch path (test/core and test/workers cover the
// epoch's end).
const ROWS = 32000;
/**
 * What a cancel costs besides training: the HTTP request and the flag + pub/sub message, the
 * trainer's roll-back of the half epoch, its fence check and the status transition (two Redis round
 * trips), on a busy 2-core machine. Measured up to 163 ms beyond one mini-batch at load average 9–17.
 */
const FIXED_MS = 300;
const BATCH = 200;
/** 28800 training rows / 200 = 144 mini-batches per epoch (each ~25–90 ms here). */
const BATCHES_PER_EPOCH = Math.ceil((ROWS - Math.ceil(ROWS * 0.1)) / BATCH);

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'cancel' });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('cancel reaches a job running in another process', () => {
  it('stops it within about one mini-batch, ends cancelled, keeps its checkpoints, and the worker serves on', { timeout: 180_000 }, async () => {
    const worker = await stack.startWorker('worker');
    const upload = await fetch(`${stack.api.baseUrl}/v1/datasets?label=label`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csvDataset(ROWS) });
    expect(upload.status).toBe(201);
    const dataset = (await upload.json()) as { id: string };

    const job = await submitJob(stack.api, {
      dataset: dataset.id,
      validation: { fraction: 0.1 },
      model: { layers: [{ type: 'dense', units: 2048, activation: 'relu' }, { type: 'dense', units: 2048, activation: 'relu' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      optimizer: { type: 'sgd', momentum: 0.9 },
      learningRate: 0.01,
      batchSize: BATCH,
      epochs: 1000,
      checkpoints: { keepBest: 5 },
      seed: 3,
    });
    // One epoch is enough to time one (a busy machine makes them 10 times longer than an idle one).
    const at1 = await waitForEpoch(stack.api, job.id, 1, 120_000);
    const epochMs = (at1.latest?.seconds ?? 1) * 1000;
    const batchMs = epochMs / BATCHES_PER_EPOCH;
    // Somewhere inside the second epoch, away from its ends.
    await sleep(Math.round(epochMs * 0.4));

    const sentAt = Date.now();
    const res = await stack.api.post<{ status: string }>(`/v1/jobs/${job.id}/cancel`);
    expect(res.status).toBe(202);
    const done = await waitForStatus(stack.api, job.id, ['cancelled'], 30_000);
    expect(done.reason).toBe('cancelled_by_user');
    const cancelledAt = Date.parse(done.history.at(-1)?.at ?? '');
    const latencyMs = cancelledAt - sentAt;
    const stopped = worker.logs.find((l) => l.msg === 'cancel seen; training stopped' && l.jobId === job.id);
    console.info(`cancel: ${latencyMs} ms from request to cancelled (seen by ${String(stopped?.via)}, training stopped ${String(stopped?.stopMs)} ms later); a mini-batch takes ~${batchMs.toFixed(0)} ms, an epoch ~${epochMs.toFixed(0)} ms`);
    // The pub/sub message reached the trainer (not the 1 s poll of the flag, the fallback for a
    // subscriber that was reconnecting).
    expect(stopped?.via, worker.tail()).toBe('message');
    // The trainer reads its sockets between mini-batches, at least every YIELD_MS of compute: the
    // message waits for at most the mini-batch in progress and YIELD_MS, then training stops at
    // once. A second mini-batch covers batches slower than the epoch's average; FIXED_MS the rest.
    // An epoch-boundary check would take half an epoch on average.
    expect(latencyMs).toBeLessThan(YIELD_MS + batchMs * 2 + FIXED_MS);
    expect(latencyMs).toBeLessThan(epochMs / 2);

    // No metrics after the cancel; the epoch in progress was not recorded.
    const records = await allMetrics(stack.api, job.id);
    expect(records.map((r) => r.epoch)).toEqual(records.map((_, i) => i + 1));
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(records.length).toBeLessThan(1000);
    await sleep(500);
    expect((await allMetrics(stack.api, job.id)).length).toBe(records.length);

    // Checkpoints written so far stay downloadable, intact.
    const list = await stack.api.get<{ items: { epoch: number; sha256: string; size: number; best: boolean }[] }>(`/v1/jobs/${job.id}/checkpoints`);
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThanOrEqual(1);
    expect(list.body.items.filter((c) => c.best).length).toBe(1);
    for (const c of list.body.items) {
      const file = await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/${c.epoch}`);
      expect(file.status).toBe(200);
      expect(file.bytes.length).toBe(c.size);
      expect(createHash('sha256').update(file.bytes).digest('hex')).toBe(c.sha256);
    }
    expect((await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/best`)).status).toBe(200);

    // A second cancel is refused: the job has finished.
    expect((await stack.api.post(`/v1/jobs/${job.id}/cancel`)).status).toBe(409);

    // The same worker takes the next job.
    const next = await submitJob(stack.api, {
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 3,
      seed: 1,
    });
    const after = await waitForStatus(stack.api, next.id, ['completed'], 30_000);
    expect(after.reason).toBe('max_epochs');
    expect(worker.alive()).toBe(true);
  });

  it('reaches a job whose worker just died: the next worker to take it stops it before training', { timeout: 180_000 }, async () => {
    // Only worker-a may take the job: the first test's worker goes.
    for (const w of stack.workers) w.kill('SIGKILL');
    await Promise.all(stack.workers.map((w) => w.exited));
    const a = await stack.startWorker('worker-a');
    const job = await submitJob(stack.api, slowSpec(20));
    await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 20_000, 'worker-a to take the job');
    await waitForEpoch(stack.api, job.id, 2, 60_000);
    a.kill('SIGKILL');
    await a.exited;
    const recorded = (await allMetrics(stack.api, job.id)).length;

    // Nobody runs the job now; the cancel is only a flag and a message nobody hears.
    const res = await stack.api.post(`/v1/jobs/${job.id}/cancel`);
    expect(res.status).toBe(202);
    const b = await stack.startWorker('worker-b');
    const done = await waitForStatus(stack.api, job.id, ['cancelled'], await stalledRecoveryMs());
    expect(done.reason).toBe('cancelled_by_user');
    // Worker-b did not train it further.
    expect((await allMetrics(stack.api, job.id)).length).toBe(recorded);
    await b.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 10_000, 'worker-b to take the job');
    expect(b.logs.some((l) => l.msg === 'job running' && l.jobId === job.id), b.tail()).toBe(false);
    const list = await stack.api.get<{ items: unknown[] }>(`/v1/jobs/${job.id}/checkpoints`);
    expect(list.body.items.length).toBeGreaterThanOrEqual(1);
  });
});
