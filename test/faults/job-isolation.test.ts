// Fault: one job's trainer dies (SIGKILL of its own process, found in the worker's process tree)
// while another tenant's job trains on the same worker. The victim fails alone, at once, with the
// reason; the other job finishes bit-identical to an uninterrupted run on its first attempt, never
// restarted; the worker (and in all-in-one mode the API) keeps serving.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allMetrics, apiClient, getJob, submitJob, waitForEpoch, waitForStatus, type ApiClient } from '../helpers/api.js';
import { descendantsOf, isRunning, killAll, startAllInOne, type ServiceProcess } from '../helpers/processes.js';
import { deletePrefixedKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const KEY_A = randomBytes(24).toString('hex');
const KEY_B = randomBytes(24).toString('hex');
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
// Two tenants; a 30 s lock, so a job recovered through the stalled-job check would take ≥ 30 s.
const ENV = { API_KEYS: `alpha:${sha(KEY_A)},beta:${sha(KEY_B)}`, WORKER_CONCURRENCY: '2', LOCK_DURATION_MS: '30000', STALLED_INTERVAL_MS: '30000' };
/** "Immediately": well under the lock a dead worker's job waits for. */
const FAILS_WITHIN_MS = 5000;

let stack: ProcessStack | null = null;
const dirs: string[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  await stack?.dispose();
  await killAll();
  for (const p of prefixes) await deletePrefixedKeys(SHARED_REDIS_URL, p).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The trainer process of a job, from the worker's log line, checked against the process tree. */
async function trainerPid(owner: ServiceProcess, jobId: string): Promise<number> {
  const line = await owner.waitForLog((l) => l.msg === 'trainer started' && l.jobId === jobId, 20_000, `the trainer of ${jobId}`);
  const pid = Number(line.trainerPid);
  expect(descendantsOf(owner.pid)).toContain(pid);
  return pid;
}

interface Outcome {
  victim: { id: string };
  survivorId: string;
}

/** Both jobs training on `owner`; kills the victim's trainer and checks what the issue asks. */
async function killOneTrainer(owner: ServiceProcess, alpha: ApiClient, beta: ApiClient): Promise<Outcome> {
  const victim = await submitJob(alpha, slowSpec(40));
  const survivor = await submitJob(beta, slowSpec(6, { seed: 11 }));
  await waitForEpoch(alpha, victim.id, 1, 60_000);
  await waitForEpoch(beta, survivor.id, 1, 60_000);
  const victimPid = await trainerPid(owner, victim.id);
  const survivorPid = await trainerPid(owner, survivor.id);
  expect(survivorPid).not.toBe(victimPid);

  const killedAt = Date.now();
  process.kill(victimPid, 'SIGKILL');
  const failed = await waitForStatus(alpha, victim.id, ['failed', 'completed', 'cancelled'], FAILS_WITHIN_MS);
  expect(Date.now() - killedAt).toBeLessThan(FAILS_WITHIN_MS);
  expect(failed.status).toBe('failed');
  expect(failed.reason).toBe('error: trainer crashed (signal SIGKILL)');
  expect(failed.history.map((h) => h.status)).toEqual(['queued', 'running', 'failed']);
  expect(isRunning(survivorPid), 'the other job trains on in its own process').toBe(true);
  expect(owner.alive()).toBe(true);

  const done = await waitForStatus(beta, survivor.id, ['completed', 'failed', 'cancelled'], 120_000);
  expect(done.status, owner.tail()).toBe('completed');
  expect(done.reason).toBe('max_epochs');
  // Never charged a restart: one run, attempt 1 throughout.
  expect(done.history.map((h) => [h.status, h.attempt])).toEqual([
    ['queued', 0],
    ['running', 1],
    ['completed', 1],
  ]);
  const records = await allMetrics(beta, survivor.id);
  expect(records.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(new Set(records.map((r) => r.attempt))).toEqual(new Set([1]));
  expect(owner.logs.filter((l) => l.msg === 'job taken' && l.jobId === survivor.id).length).toBe(1);
  // It stays failed: not retried behind the other job's back.
  await sleep(1000);
  expect((await getJob(alpha, victim.id)).status).toBe('failed');
  return { victim, survivorId: survivor.id };
}

describe('a job whose trainer dies', () => {
  it('fails alone at once; the other tenant\'s job on the same worker completes untouched', { timeout: 240_000 }, async () => {
    stack = await startProcessStack({ tag: 'isolation', env: ENV });
    const worker = await stack.startWorker('worker');
    const alpha = apiClient(stack.apiProcess.baseUrl, KEY_A);
    const beta = apiClient(stack.apiProcess.baseUrl, KEY_B);
    const { survivorId } = await killOneTrainer(worker, alpha, beta);
    stack.api = beta;
    await expectSameAsUninterrupted(stack, await getJob(beta, survivorId), await allMetrics(beta, survivorId));
    expect(worker.logs.some((l) => l.msg === 'trainer died; its job failed'), worker.tail()).toBe(true);
  });

  it('in all-in-one mode the API keeps answering throughout', { timeout: 240_000 }, async () => {
    const prefix = uniquePrefix('isolation-aio');
    prefixes.push(prefix);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'traind-isolation-aio-'));
    dirs.push(dataDir);
    const server = await startAllInOne({ redisUrl: SHARED_REDIS_URL, prefix, dataDir, env: ENV }, 'server');
    const alpha = apiClient(server.baseUrl, KEY_A);
    const beta = apiClient(server.baseUrl, KEY_B);

    // /healthz every 50 ms from before the kill until the survivor is done.
    const answers: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
        answers.push(res?.status ?? 0);
        await sleep(50);
      }
    })();
    try {
      await killOneTrainer(server, alpha, beta);
    } finally {
      polling = false;
      await poller;
    }
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((s) => s !== 200), 'every /healthz answered 200').toEqual([]);
    expect(server.alive()).toBe(true);
  });
});
