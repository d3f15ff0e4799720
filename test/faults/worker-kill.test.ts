// Fault: a worker is SIGKILLed mid-epoch; another resumes its jobs from their resume state after
// the stalled-job check, bit-identical to an uninterrupted run, with no orphaned process left.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochsByAttempt, submitJob, waitForEpoch } from '../helpers/api.js';
import { descendantsOf, isRunning, processesOfPrefix } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { midEpochAfter, resumedToCompletion, submitToFirstWorker } from './kill-resume.js';
import { slowSpec } from './specs.js';

const EPOCHS = 10;
const KILL_AFTER_EPOCH = 3;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ tag: 'kill' });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('worker SIGKILLed mid-training', () => {
  it('is resumed by another worker from its resume state and ends bit-identical to an uninterrupted run', { timeout: 240_000 }, async () => {
    const a = await stack.startWorker('worker-a');
    // worker-b is idle and ready before the kill: it takes the job once it is stalled.
    const { job, b } = await submitToFirstWorker(stack, a, slowSpec(EPOCHS));
    const before = await midEpochAfter(stack, job.id, KILL_AFTER_EPOCH);
    expect(before.status).toBe('running');
    const children = descendantsOf(a.pid);
    a.kill('SIGKILL');
    const exit = await a.exited;
    expect(exit.signal).toBe('SIGKILL');

    // No orphan: nothing the killed worker started survives it, and the only processes of this
    // run left are the API and worker-b.
    await sleep(300);
    expect(children.filter(isRunning)).toEqual([]);
    expect(processesOfPrefix(stack.prefix).sort()).toEqual([stack.apiProcess.pid, b.pid].sort());

    const { done, running, records } = await resumedToCompletion(stack, b, job.id, EPOCHS);
    expect(done.progress).toEqual({ epoch: EPOCHS, epochs: EPOCHS });
    // History: queued → running (attempt 1) → running again (a later attempt, resumed) → completed.
    expect(running[0]?.attempt).toBe(1);
    expect(running[1]?.attempt).toBeGreaterThan(1);
    expect(done.history.at(-1)).toMatchObject({ status: 'completed', reason: 'max_epochs' });

    // Metrics: the first attempt recorded 1..k; the second recorded from k+1 on (when the kill
    // fell between epoch k's record and its resume state it ran epoch k again without recording
    // it), never from epoch 1: each epoch exactly once.
    const byAttempt = epochsByAttempt(records);
    expect([...byAttempt.keys()]).toEqual([running[0]?.attempt, running[1]?.attempt]);
    const first = byAttempt.get(1) ?? [];
    const second = byAttempt.get(running[1]?.attempt ?? -1) ?? [];
    expect(first).toEqual(first.map((_, i) => i + 1));
    expect(first.length).toBeGreaterThanOrEqual(KILL_AFTER_EPOCH);
    const resumedAt = second[0] ?? 0;
    expect(resumedAt).toBeGreaterThan(1);
    expect(resumedAt).toBe(first.length + 1);
    expect(second).toEqual(second.map((_, i) => resumedAt + i));
    expect(second.at(-1)).toBe(EPOCHS);

    // Bit-identical: every recorded epoch (either attempt), the final metrics and every kept
    // checkpoint file equal the uninterrupted run's.
    await expectSameAsUninterrupted(stack, done, records);
  });

  it('with two jobs on the killed worker, both resume elsewhere and both end bit-identical', { timeout: 240_000 }, async () => {
    for (const w of stack.workers) w.kill('SIGKILL');
    await Promise.all(stack.workers.map((w) => w.exited));
    const a = await stack.startWorker('worker-a2', { WORKER_CONCURRENCY: '2' });
    const jobs = [await submitJob(stack.api, slowSpec(EPOCHS, { seed: 11 })), await submitJob(stack.api, slowSpec(EPOCHS, { seed: 12 }))];
    for (const job of jobs) await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 20_000, `worker-a2 to take ${job.id}`);
    const b = await stack.startWorker('worker-b2', { WORKER_CONCURRENCY: '2' });
    for (const job of jobs) await waitForEpoch(stack.api, job.id, 2, 60_000);
    a.kill('SIGKILL');
    await a.exited;
    await sleep(300);
    expect(processesOfPrefix(stack.prefix).sort()).toEqual([stack.apiProcess.pid, b.pid].sort());

    for (const job of jobs) {
      const { done, running, records } = await resumedToCompletion(stack, b, job.id, EPOCHS, 120_000);
      const second = epochsByAttempt(records).get(running[1]?.attempt ?? -1) ?? [];
      expect(second[0]).toBeGreaterThan(1);
      expect(second.at(-1)).toBe(EPOCHS);
      await expectSameAsUninterrupted(stack, done, records);
    }
  });
});
