// Fault: a fine-tuned job's worker is SIGKILLed mid-epoch; another worker resumes it from its
// resume state, and it ends bit-identical to an uninterrupted run from the same pinned checkpoint.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMetrics, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 6;
const KILL_AFTER_EPOCH = 2;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'ftkill' });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('a fine-tuned job whose worker is SIGKILLed', () => {
  it('resumes elsewhere and ends bit-identical to an uninterrupted fine-tune', { timeout: 240_000 }, async () => {
    const a = await stack.startWorker('worker-a');
    const parent = await submitJob(stack.api, slowSpec(1));
    await waitForStatus(stack.api, parent.id, ['completed'], 60_000);
    // Another seed and schedule than the parent's; the same layers.
    const job = await submitJob(stack.api, slowSpec(EPOCHS, { seed: 21, learningRate: 0.001, initFrom: { job: parent.id } }));
    expect(job.initFrom).toMatchObject({ job: parent.id, epoch: 1 });
    await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 20_000, 'worker-a to take the job');
    const b = await stack.startWorker('worker-b');

    const before = await waitForEpoch(stack.api, job.id, KILL_AFTER_EPOCH, 60_000);
    await sleep(Math.round(((before.latest?.seconds ?? 0.4) * 1000) / 2));
    a.kill('SIGKILL');
    await a.exited;

    await b.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, await stalledRecoveryMs(), 'worker-b to take the stalled job');
    const done = await waitForStatus(stack.api, job.id, ['completed'], 90_000);
    const running = done.history.filter((h) => h.status === 'running');
    expect(running.length).toBe(2);
    expect(running[1]?.reason).toMatch(/resumed from resume state/);
    const records = await allMetrics(stack.api, job.id);
    expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.attempt)).size).toBe(2);
    await expectSameAsUninterrupted(stack, done, records);
  });
});
