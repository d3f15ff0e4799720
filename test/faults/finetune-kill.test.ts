// Fault: a fine-tuned job's worker is SIGKILLed mid-epoch; another worker resumes it from its
// resume state, and it ends bit-identical to an uninterrupted run from the same pinned checkpoint.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob, waitForStatus } from '../helpers/api.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { expectSameAsUninterrupted } from './compare.js';
import { midEpochAfter, resumedToCompletion, submitToFirstWorker } from './kill-resume.js';
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
    const { job, b } = await submitToFirstWorker(stack, a, slowSpec(EPOCHS, { seed: 21, learningRate: 0.001, initFrom: { job: parent.id } }));
    expect(job.initFrom).toMatchObject({ job: parent.id, epoch: 1 });
    await midEpochAfter(stack, job.id, KILL_AFTER_EPOCH);
    a.kill('SIGKILL');
    await a.exited;

    const { done, records } = await resumedToCompletion(stack, b, job.id, EPOCHS);
    expect(new Set(records.map((r) => r.attempt)).size).toBe(2);
    await expectSameAsUninterrupted(stack, done, records);
  });
});
