// A job whose loss blows up to NaN/Inf must end failed with reason `diverged`, not retry, and
// keep its last good checkpoints: downloadable, finite, and usable for predictions.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/core/index.js';
import { allMetrics, submitJob, waitForStatus } from '../helpers/api.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { divergingSpec } from './specs.js';

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'diverge' });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('a diverging job', () => {
  it('ends failed/diverged with its last good checkpoint kept', { timeout: 120_000 }, async () => {
    const worker = await stack.startWorker('worker');
    const job = await submitJob(stack.api, divergingSpec());
    const done = await waitForStatus(stack.api, job.id, ['failed'], 60_000);
    expect(done.reason).toBe('diverged');
    // Diverging is the job's outcome, not a crash: one run, no retry.
    expect(done.history.map((h) => h.status)).toEqual(['queued', 'running', 'failed']);
    await sleep(1000);
    expect(worker.logs.filter((l) => l.msg === 'job taken' && l.jobId === job.id).length).toBe(1);

    // The good epochs were recorded (the lr grows 10× per epoch: two train, the third blows up).
    const records = await allMetrics(stack.api, job.id);
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(records.map((r) => r.epoch)).toEqual(records.map((_, i) => i + 1));
    for (const r of records) {
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Number.isFinite(r.val_loss)).toBe(true);
    }
    const lastGood = records.at(-1)?.epoch ?? 0;

    // The kept checkpoints are the good epochs', intact and finite.
    const list = await stack.api.get<{ items: { epoch: number; sha256: string; best: boolean }[] }>(`/v1/jobs/${job.id}/checkpoints`);
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThanOrEqual(1);
    for (const c of list.body.items) expect(c.epoch).toBeLessThanOrEqual(lastGood);
    const best = await stack.api.bytes(`/v1/jobs/${job.id}/checkpoints/best`);
    expect(best.status).toBe(200);
    const bestMeta = list.body.items.find((c) => c.best);
    expect(createHash('sha256').update(best.bytes).digest('hex')).toBe(bestMeta?.sha256);
    const decoded = decodeSafetensors(best.bytes);
    expect(decoded.tensors.size).toBeGreaterThan(0);
    for (const [name, t] of decoded.tensors) {
      expect(t.data.every((v) => Number.isFinite(v)), `${name} is finite`).toBe(true);
    }

    // And the model is usable.
    const pred = await stack.api.post<{ outputs: { value: number[] }[] }>(`/v1/jobs/${job.id}/predict`, { inputs: [[0.1, -0.2, 0.3]] });
    expect(pred.status).toBe(200);
    expect(Number.isFinite(pred.body.outputs[0]?.value[0])).toBe(true);
  });
});
