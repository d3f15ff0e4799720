// Fault, on S3-compatible storage: a worker is SIGKILLed mid-epoch while its checkpoints and resume
// state live in object storage (s3rver on loopback, started here); another worker resumes from the
// stored resume state and ends bit-identical to an uninterrupted run. Nothing lands in DATA_DIR.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMetrics, epochsByAttempt, submitJob, waitForEpoch, waitForStatus } from '../helpers/api.js';
import { stalledRecoveryMs } from '../helpers/processes.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { sleep } from '../helpers/wait.js';
import { expectSameAsUninterrupted } from './compare.js';
import { slowSpec } from './specs.js';

const EPOCHS = 8;
const KILL_AFTER_EPOCH = 3;
const PREFIX = `kill-${Date.now().toString(36)}`;

let s3: S3Server;
let stack: ProcessStack;

beforeAll(async () => {
  s3 = await startS3Server();
  stack = await startProcessStack({ tag: 's3kill', env: s3.env(PREFIX) });
});

afterAll(async () => {
  await stack?.dispose();
  await s3?.close();
});

describe('worker SIGKILLed mid-training, storage in S3', () => {
  it('resumes elsewhere from the resume state in the bucket and ends bit-identical', { timeout: 240_000 }, async () => {
    const a = await stack.startWorker('worker-a');
    const job = await submitJob(stack.api, slowSpec(EPOCHS));
    await a.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, 20_000, 'worker-a to take the job');
    const b = await stack.startWorker('worker-b');

    const before = await waitForEpoch(stack.api, job.id, KILL_AFTER_EPOCH, 60_000);
    await sleep(Math.round(((before.latest?.seconds ?? 0.4) * 1000) / 2));
    expect(await s3.keys(`${PREFIX}/jobs/${job.id}/`)).toContain(`${PREFIX}/jobs/${job.id}/resume.safetensors`);
    a.kill('SIGKILL');
    await a.exited;

    await b.waitForLog((l) => l.msg === 'job taken' && l.jobId === job.id, await stalledRecoveryMs(), 'worker-b to take the stalled job');
    const done = await waitForStatus(stack.api, job.id, ['completed'], 90_000);
    const running = done.history.filter((h) => h.status === 'running');
    expect(running.length).toBe(2);
    expect(running[1]?.reason).toMatch(/resumed from resume state/);
    const records = await allMetrics(stack.api, job.id);
    const second = epochsByAttempt(records).get(running[1]?.attempt ?? -1) ?? [];
    expect(second[0]).toBeGreaterThan(1);
    expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));

    // Checkpoints downloaded through the API (from the bucket), byte for byte the uninterrupted run's.
    await expectSameAsUninterrupted(stack, done, records);
    const keys = await s3.keys(`${PREFIX}/`);
    // At most the temporary object the killed writer was filling (never read; the sweeper removes it once old).
    expect(keys.filter((k) => k.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    expect(keys.filter((k) => /epoch-\d+\.safetensors$/.test(k)).length).toBe(done.progress.epochs >= 3 ? 3 : done.progress.epochs);
    for (const dir of ['jobs', 'datasets']) expect(existsSync(path.join(stack.dataDir, dir))).toBe(false);
  });
});
