// Fault: a job whose worker dies every time it runs it. After MAX_RESTARTS restarts it must end
// `failed` with a reason, instead of looping; the worker that finds it so keeps serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, submitJob, waitForStatus } from '../helpers/api.js';
import { processesOfPrefix, stalledRecoveryMs } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { slowSpec } from './specs.js';

const MAX_RESTARTS = 2;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'crashloop', env: { MAX_RESTARTS: String(MAX_RESTARTS) } });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('a job that crashes its worker every time', () => {
  it(`ends failed with a reason after ${MAX_RESTARTS} restarts`, { timeout: 240_000 }, async () => {
    const job = await submitJob(stack.api, slowSpec(50));
    const recovery = await stalledRecoveryMs();
    // The first run plus MAX_RESTARTS restarts, each killed once training is under way.
    for (let run = 1; run <= MAX_RESTARTS + 1; run++) {
      const w = await stack.startWorker(`worker-${run}`);
      await w.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, recovery, `worker-${run} to take the job`);
      // Killed once this run has started training (its own 'running' entry is in the history).
      await waitFor(async () => (await getJob(stack.api, job.id)).history.filter((h) => h.status === 'running').length >= run, {
        timeoutMs: 20_000,
        what: `run ${run} to start training`,
      });
      // (Its trainer's log reaches the worker's stdout: the check on worker-last below means something.)
      await w.waitForLog((l) => l.msg === 'job running' && l.jobId === job.id, 10_000, `run ${run} to log 'job running'`);
      await sleep(200);
      w.kill('SIGKILL');
      await w.exited;
    }
    // Each run's trainer process exits as soon as it sees its worker's IPC channel close.
    await waitFor(() => processesOfPrefix(stack.prefix).length === 1, { timeoutMs: 5000, what: 'the killed workers\' trainers to exit' }).catch(() => undefined);
    expect(processesOfPrefix(stack.prefix)).toEqual([stack.apiProcess.pid]);

    // A fresh worker's stalled-job check finds the job stalled once more than allowed.
    const last = await stack.startWorker('worker-last');
    const failed = await waitForStatus(stack.api, job.id, ['failed'], recovery);
    expect(failed.reason).toMatch(/^error: /);
    expect(failed.reason).toMatch(/died|stalled/);
    expect(failed.reason).toContain(`MAX_RESTARTS=${MAX_RESTARTS}`);
    const runs = failed.history.filter((h) => h.status === 'running');
    expect(runs.length).toBe(MAX_RESTARTS + 1);
    expect(failed.history.at(-1)?.status).toBe('failed');
    // BullMQ 6 marks the job to fail and the next worker to fetch it fails it without running it.
    expect(last.logs.some((l) => l.msg === 'job running' && l.jobId === job.id), last.tail()).toBe(false);

    // It stays failed (no more restarts), and the worker serves the next job.
    await sleep(3000);
    expect((await getJob(stack.api, job.id)).status).toBe('failed');
    const next = await submitJob(stack.api, {
      dataset: { builtin: 'xor' },
      model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 2 }] },
      loss: 'softmax_cross_entropy',
      epochs: 2,
      seed: 1,
    });
    expect((await waitForStatus(stack.api, next.id, ['completed'], 30_000)).reason).toBe('max_epochs');
    expect(last.alive()).toBe(true);
  });
});
