// Fault, on S3-compatible storage: a worker is SIGKILLed mid-epoch while its checkpoints and resume
// state live in object storage (s3rver on loopback, started here); another worker resumes from the
// stored resume state and ends bit-identical to an uninterrupted run. Nothing lands in DATA_DIR.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochsByAttempt } from '../helpers/api.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { startProcessStack, type ProcessStack } from '../helpers/stack.js';
import { expectSameAsUninterrupted } from './compare.js';
import { midEpochAfter, resumedToCompletion, submitToFirstWorker } from './kill-resume.js';
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
    const { job, b } = await submitToFirstWorker(stack, a, slowSpec(EPOCHS));
    await midEpochAfter(stack, job.id, KILL_AFTER_EPOCH);
    expect(await s3.keys(`${PREFIX}/jobs/${job.id}/`)).toContain(`${PREFIX}/jobs/${job.id}/resume.safetensors`);
    a.kill('SIGKILL');
    await a.exited;

    const { done, running, records } = await resumedToCompletion(stack, b, job.id, EPOCHS);
    const second = epochsByAttempt(records).get(running[1]?.attempt ?? -1) ?? [];
    expect(second[0]).toBeGreaterThan(1);

    // Checkpoints downloaded through the API (from the bucket), byte for byte the uninterrupted run's.
    await expectSameAsUninterrupted(stack, done, records);
    const keys = await s3.keys(`${PREFIX}/`);
    // At most the temporary object the killed writer was filling (never read; the sweeper removes it once old).
    expect(keys.filter((k) => k.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    expect(keys.filter((k) => /epoch-\d+\.safetensors$/.test(k)).length).toBe(done.progress.epochs >= 3 ? 3 : done.progress.epochs);
    for (const dir of ['jobs', 'datasets']) expect(existsSync(path.join(stack.dataDir, dir))).toBe(false);
  });
});
