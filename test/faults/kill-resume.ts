// The steps of a kill-and-resume fault test: a job taken by worker-a while worker-b stands by,
// worker-a SIGKILLed in the middle of an epoch, and the job resumed by worker-b to completion.

import { expect } from 'vitest';
import { allMetrics, submitJob, waitForEpoch, waitForStatus, type HistoryEntry, type JobView, type MetricsRecord } from '../helpers/api.js';
import { stalledRecoveryMs, type ServiceProcess } from '../helpers/processes.js';
import type { ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';

/** Submits `spec` while `a` is the only worker, so that `a` takes it; then starts worker-b, idle and ready before any kill. */
export async function submitToFirstWorker(stack: ProcessStack, a: ServiceProcess, spec: Record<string, unknown>): Promise<{ job: JobView; b: ServiceProcess }> {
  const job = await submitJob(stack.api, spec);
  await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 20_000, `${a.name} to take the job`);
  const b = await stack.startWorker('worker-b');
  return { job, b };
}

/** Waits until the job has recorded `epoch`, then half an epoch more: into the middle of the next one. Returns the job at `epoch`. */
export async function midEpochAfter(stack: ProcessStack, jobId: string, epoch: number): Promise<JobView> {
  const at = await waitForEpoch(stack.api, jobId, epoch, 60_000);
  await sleep(Math.round(((at.latest?.seconds ?? 0.4) * 1000) / 2));
  return at;
}

export interface Resumed {
  done: JobView;
  /** The job's `running` entries: the first attempt's and the resumed one's. */
  running: HistoryEntry[];
  records: MetricsRecord[];
}

/**
 * Waits for `b` to take the stalled job and for the job to complete, then checks what every
 * kill-and-resume test expects: two runs, the second resumed from the resume state, and each of
 * the `epochs` epochs recorded once, in order.
 */
export async function resumedToCompletion(stack: ProcessStack, b: ServiceProcess, jobId: string, epochs: number, completeMs = 90_000): Promise<Resumed> {
  await b.waitForLog((l) => l.msg === 'job taken' && l.jobId === jobId, await stalledRecoveryMs(), `${b.name} to take the stalled job`);
  const done = await waitForStatus(stack.api, jobId, ['completed'], completeMs);
  expect(done.reason).toBe('max_epochs');
  const running = done.history.filter((h) => h.status === 'running');
  expect(running.length).toBe(2);
  expect(running[1]?.reason).toMatch(/resumed from resume state/);
  const records = await allMetrics(stack.api, jobId);
  expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  return { done, running, records };
}
