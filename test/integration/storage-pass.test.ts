// The storage pass is what it says: in the S3 pass (TRAIND_TEST_STORAGE=s3) every kind of service
// the test helpers make (the in-process app, the integration stack and its worker processes, the
// fault tests' API and worker processes) keeps its objects in the run's bucket under its own prefix
// and none in DATA_DIR, and says so in its start-up log; in the local pass, in DATA_DIR, none in the bucket.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appFixture } from '../api/helpers.js';
import { circleCsv } from '../helpers/datasets.js';
import { listKeys, s3Client } from '../helpers/s3.js';
import { startProcessStack } from '../helpers/stack.js';
import { testS3Bucket, testStorageKind } from '../helpers/test-storage.js';
import { startStack } from './stack.js';

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

/** What a service's start-up log says about its storage in this pass. */
function where(prefix: string, dataDir: string): string {
  const at = testS3Bucket();
  return at === null ? `DATA_DIR ${path.resolve(dataDir)}` : `s3://${at.bucket}/${prefix}/ at ${at.endpoint}`;
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

  it("the integration stack (startStack) stores an upload there, and its worker process says it uses the same", async () => {
    const stack = await startStack({ workers: 1 });
    try {
      const res = await fetch(`${stack.baseUrl}/v1/datasets?label=label`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: circleCsv(20) });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      expect(await placeOf(stack.config.keyPrefix, stack.config.dataDir, `datasets/${id}.bin`)).toBe(PASS);
      const started = stack.workers[0]?.output.join('').split('\n').find((l) => l.includes('"worker started"'));
      expect((JSON.parse(started ?? '{}') as { storage?: string }).storage).toBe(where(stack.config.keyPrefix, stack.config.dataDir));
    } finally {
      await stack.stop();
    }
  });

  it("the fault tests' API and worker processes (startProcessStack) keep their objects there and say so", async () => {
    const stack = await startProcessStack({ tag: 'storage-pass' });
    try {
      const worker = await stack.startWorker();
      const res = await fetch(`${stack.api.baseUrl}/v1/datasets?label=label`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: circleCsv(20) });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      expect(await placeOf(stack.prefix, stack.dataDir, `datasets/${id}.bin`)).toBe(PASS);
      expect(worker.logs.find((l) => l.msg === 'worker started')?.storage).toBe(where(stack.prefix, stack.dataDir));
      expect(stack.apiProcess.logs.find((l) => l.msg === 'API listening')?.storage).toBe(where(stack.prefix, stack.dataDir));
    } finally {
      await stack.dispose();
    }
  });
});
