// The storage pass is what it says: in the S3 pass (TRAIND_TEST_STORAGE=s3) every kind of service
// the test helpers make (the in-process app, the integration stack's worker processes, the fault
// tests' API and worker processes) keeps its objects in the run's bucket under its own prefix and
// none in DATA_DIR; in the local pass, in DATA_DIR and none in the bucket.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appFixture, xorSpec } from '../api/helpers.js';
import { submitJob, waitForStatus } from '../helpers/api.js';
import { circleCsv } from '../helpers/datasets.js';
import { listKeys, s3Client } from '../helpers/s3.js';
import { startProcessStack } from '../helpers/stack.js';
import { testS3Bucket, testStorageKind } from '../helpers/test-storage.js';
import { api, startStack, waitForJob } from './stack.js';

const PASS = testStorageKind();

/** Where the object `key` of the service with this KEY_PREFIX and DATA_DIR is: 'local', 's3', both or neither. */
async function placeOf(prefix: string, dataDir: string, key: string): Promise<string> {
  const at = testS3Bucket();
  let inBucket = false;
  if (at !== null) {
    const client = s3Client(at.endpoint);
    inBucket = (await listKeys(client, at.bucket, `${prefix}/${key}`)).includes(`${prefix}/${key}`);
    client.destroy();
  }
  const onDisk = existsSync(path.join(dataDir, key));
  return inBucket && onDisk ? 'both' : inBucket ? 's3' : onDisk ? 'local' : 'neither';
}

describe(`the test helpers' storage (${PASS} pass)`, () => {
  it('the in-process app (appFixture) stores an upload there', async () => {
    const f = await appFixture();
    try {
      const res = await f.app.inject({ method: 'POST', url: '/v1/datasets?label=label', payload: circleCsv(20), headers: { 'content-type': 'text/csv' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(await placeOf(f.config.keyPrefix, f.dataDir, `datasets/${res.json().id}.bin`)).toBe(PASS);
    } finally {
      await f.close();
    }
  });

  it("the integration stack's worker process (startStack) writes checkpoints there", async () => {
    const stack = await startStack({ workers: 1 });
    try {
      const submitted = await api<{ id: string }>(stack, 'POST', '/v1/jobs', xorSpec({ epochs: 2 }));
      expect(submitted.status).toBe(201);
      const done = await waitForJob<{ status: string }>(stack, submitted.body.id, (j) => ['completed', 'failed'].includes(j.status));
      expect(done.status).toBe('completed');
      const best = await api<{ items: { epoch: number }[] }>(stack, 'GET', `/v1/jobs/${submitted.body.id}/checkpoints`);
      expect(best.body.items.length).toBeGreaterThan(0);
      for (const c of best.body.items) expect(await placeOf(stack.config.keyPrefix, stack.config.dataDir, `jobs/${submitted.body.id}/epoch-${c.epoch}.safetensors`)).toBe(PASS);
    } finally {
      await stack.stop();
    }
  });

  it("the fault tests' API and worker processes (startProcessStack) keep their objects there and say so", async () => {
    const stack = await startProcessStack({ tag: 'storage-pass' });
    try {
      const worker = await stack.startWorker();
      const job = await submitJob(stack.api, xorSpec({ epochs: 2 }));
      await waitForStatus(stack.api, job.id, ['completed'], 30_000);
      const best = await stack.api.get<{ items: { epoch: number }[] }>(`/v1/jobs/${job.id}/checkpoints`);
      expect(best.body.items.length).toBeGreaterThan(0);
      for (const c of best.body.items) expect(await placeOf(stack.prefix, stack.dataDir, `jobs/${job.id}/epoch-${c.epoch}.safetensors`)).toBe(PASS);
      const at = testS3Bucket();
      const where = at === null ? `DATA_DIR ${stack.dataDir}` : `s3://${at.bucket}/${stack.prefix}/ at ${at.endpoint}`;
      expect(worker.logs.find((l) => l.msg === 'worker started')?.storage).toBe(where);
      expect(stack.apiProcess.logs.find((l) => l.msg === 'API listening')?.storage).toBe(where);
    } finally {
      await stack.dispose();
    }
  });
});
