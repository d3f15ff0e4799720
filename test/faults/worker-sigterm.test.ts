// Fault: SIGTERM to a training worker (a deploy, a scale-down): it stops at the next mini-batch,
// hands the job back at once, exits promptly; another worker resumes it bit-identically.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMetrics, epochsByAttempt, getJob, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { descendantsOf, processesOfPrefix } from '../helpers/processes.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 8;
const STOP_AFTER_EPOCH = 3;
/** "Promptly": one mini-batch here is a few ms; process teardown and Redis round trips dominate. */
const MAX_EXIT_MS = 3000;

let stack: ProcessStack;

beforeAll(async () => {
  // A long lock: if the hand-back failed, the other worker would only get the job after 30 s.
  stack = await startProcessStack({ tag: 'sigterm', env: { LOCK_DURATION_MS: '30000', STALLED_INTERVAL_MS: '30000' } });
});

afterAll(async () => {
  await stack?.dispose();
});

describe('worker stopped with SIGTERM mid-training', () => {
  it('hands the job back at once, exits promptly, and the job resumes on another worker', { timeout: 180_000 }, async () => {
    const a = await stack.startWorker('worker-a');
    const job = await submitJob(stack.api, slowSpec(EPOCHS));
    await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 20_000, 'worker-a to take the job');
    const b = await stack.startWorker('worker-b');

    const before = await waitForEpoch(stack.api, job.id, STOP_AFTER_EPOCH, 60_000);
    await sleep(Math.round(((before.latest?.seconds ?? 0.4) * 1000) / 2));
    const signalledAt = Date.now();
    a.kill('SIGTERM');
    const exit = await a.exited;
    const exitMs = exit.at - signalledAt;
    expect(exit.code, a.tail()).toBe(0);
    expect(exitMs, `worker-a took ${exitMs} ms to exit`).toBeLessThan(MAX_EXIT_MS);
    // Nothing of worker-a is left (its trainer ended before it): only the API, worker-b and the
    // trainer worker-b may already have started for the handed-back job.
    const others = processesOfPrefix(stack.prefix).filter((pid) => pid !== stack.apiProcess.pid && pid !== b.pid);
    expect(others.filter((pid) => !descendantsOf(b.pid).includes(pid))).toEqual([]);

    // Handed back, not stalled: worker-b has it long before the 30 s lock would expire.
    await b.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 10_000, 'worker-b to take the handed-back job');
    const tookMs = Date.now() - signalledAt;
    expect(tookMs).toBeLessThan(10_000);
    console.info(`SIGTERM: worker-a exited after ${exitMs} ms; worker-b took the job ${tookMs} ms after the signal`);

    const done = await waitForStatus(stack.api, job.id, ['completed'], 90_000);
    expect(done.reason).toBe('max_epochs');
    const statuses = done.history.map((h) => h.status);
    expect(statuses).toEqual(['queued', 'running', 'queued', 'running', 'completed']);
    expect(done.history[2]?.reason).toMatch(/handed back/);
    expect(done.history[3]?.reason).toMatch(/resumed from resume state/);

    // The second attempt starts exactly after the first one's last finished epoch: the half
    // epoch in progress at SIGTERM is dropped, nothing is recorded twice.
    const records = await allMetrics(stack.api, job.id);
    const byAttempt = epochsByAttempt(records);
    const attempts = [...byAttempt.keys()];
    expect(attempts.length).toBe(2);
    const first = byAttempt.get(attempts[0] ?? -1) ?? [];
    const second = byAttempt.get(attempts[1] ?? -1) ?? [];
    expect(first.length).toBeGreaterThanOrEqual(STOP_AFTER_EPOCH);
    expect([...first, ...second]).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));

    await expectSameAsUninterrupted(stack, done, records);
    expect((await getJob(stack.api, job.id)).status).toBe('completed');
  });
});
