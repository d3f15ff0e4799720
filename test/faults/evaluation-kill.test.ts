// Fault: the worker running an evaluation is SIGKILLed; another worker takes it after the lock
// expires and the evaluation completes with the same result as one that was never interrupted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

interface EvaluationView {
  id: string;
  status: string;
  error: string | null;
  result: { rows: number; loss: number; accuracy: number; confusionMatrix: number[][] } | null;
}

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'evkill' });
});

afterAll(async () => {
  await stack?.dispose();
});

/** 20,000 rows of two features: with a 2-1536-1536-2 model, a few seconds of forward passes. */
function rowsCsv(n: number): string {
  const lines = ['x,y,label'];
  for (let i = 0; i < n; i++) {
    const x = Math.sin(i * 0.37) * 2;
    const y = Math.cos(i * 0.53) * 2;
    lines.push(`${x.toFixed(4)},${y.toFixed(4)},${x * y > 0 ? 1 : 0}`);
  }
  return lines.join('\n');
}

describe('a worker SIGKILLed during an evaluation', () => {
  it('leaves it to another worker, which completes it with the uninterrupted result', { timeout: 240_000 }, async () => {
    const a = await stack.startWorker('worker-a');
    const job = await submitJob(stack.api, {
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 1536, activation: 'relu' }, { type: 'dense', units: 1536, activation: 'relu' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 1,
      seed: 3,
    });
    await waitForStatus(stack.api, job.id, ['completed'], 120_000);
    const upload = await fetch(`${stack.api.baseUrl}/v1/datasets?label=label`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: rowsCsv(20_000) });
    const dataset = ((await upload.json()) as { id: string }).id;

    const started = await stack.api.post<EvaluationView>(`/v1/jobs/${job.id}/evaluate`, { dataset });
    expect(started.status).toBe(202);
    const id = started.body.id;
    await waitFor(async () => ((await stack.api.get<EvaluationView>(`/v1/evaluations/${id}`)).body.status === 'running' ? true : null), {
      timeoutMs: 30_000,
      intervalMs: 20,
      what: 'the evaluation to run',
    });
    a.kill('SIGKILL');
    await a.exited;
    expect((await stack.api.get<EvaluationView>(`/v1/evaluations/${id}`)).body.status).toBe('running');
    // Started after the kill: it takes the evaluation once the dead worker's lock expires.
    const b = await stack.startWorker('worker-b');

    const done = await waitFor(
      async () => {
        const ev = (await stack.api.get<EvaluationView>(`/v1/evaluations/${id}`)).body;
        return ev.status === 'completed' || ev.status === 'failed' ? ev : null;
      },
      { timeoutMs: (await stalledRecoveryMs()) + 60_000, intervalMs: 100, what: 'the evaluation to finish on worker-b' },
    );
    expect(done.status, done.error ?? '').toBe('completed');
    await b.waitForLog((l) => l.msg === 'evaluation completed' && l.evaluationId === id, 5_000, 'worker-b to have completed it');

    // The same request again, uninterrupted: the same figures.
    const again = await stack.api.post<EvaluationView>(`/v1/jobs/${job.id}/evaluate?wait=60`, { dataset });
    expect(again.status).toBe(200);
    expect(again.body.result).toEqual(done.result);
    expect(done.result?.rows).toBe(20_000);
  });
});
