// Retention on S3-compatible storage (s3rver on loopback): the sweeper removes the objects of
// expired jobs by prefix, orphaned dataset objects and stale temporary objects once old, and raw
// upload bodies whose API process died; it leaves live jobs and uploads, young objects and indexed
// datasets alone; usage counts the recorded bytes.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { sweepAbandonedUploads, sweepOrphanDatasetFiles } from '../../src/store/dataset-retention.js';
import { getUpload, holdUploadLease, INTERRUPTED, startUpload } from '../../src/store/dataset-uploads.js';
import { recordDataset } from '../../src/store/datasets.js';
import { newDatasetId, newJobId } from '../../src/store/ids.js';
import { datasetKey, uploadKey } from '../../src/store/object-keys.js';
import { sweepExpiredJobFiles, sweepStaleTemporaries } from '../../workers/retention-sweeper.js';
import { storeFixture, type StoreFixture } from '../api/helpers.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';

const PREFIX = `ret-${Date.now().toString(36)}`;
const HOURS_2 = 2 * 3600_000;
let s3: S3Server;
let f: StoreFixture;

beforeAll(async () => {
  s3 = await startS3Server();
  f = await storeFixture(s3.env(PREFIX));
});
afterAll(async () => {
  await f?.close();
  await s3?.close();
});

async function checkpoint(jobId: string, epoch: number): Promise<void> {
  await recordBestCheckpoint(f.store, jobId, { tenant: 'default', epoch, step: epoch, monitor: 'val_loss', value: 1 / epoch, bytes: new Uint8Array(64).fill(epoch), bestEpoch: epoch, evicted: [] });
}

describe('retention with STORAGE_URL=s3://…', () => {
  it('removes only the objects of expired jobs, once old', async () => {
    const expired = newJobId();
    const live = newJobId();
    await checkpoint(expired, 1);
    await checkpoint(live, 1);
    await f.redis.hset(f.store.keys.job(live), 'id', live);
    // Young: nothing goes yet, whatever the records say.
    expect(await sweepExpiredJobFiles(f.store)).toEqual([]);
    expect(await sweepExpiredJobFiles(f.store, Date.now() + HOURS_2)).toEqual([expired]);
    expect(await s3.keys(`${PREFIX}/jobs/${expired}/`)).toEqual([]);
    expect(await s3.keys(`${PREFIX}/jobs/${live}/`)).toEqual([`${PREFIX}/jobs/${live}/epoch-1.safetensors`]);
  });

  it('removes orphaned dataset objects and stale temporaries, never an indexed dataset', async () => {
    const kept = newDatasetId();
    await f.store.storage.put(datasetKey(kept), Buffer.from('dataset'));
    await recordDataset(f.store, { tenant: 'default', name: null, format: 'csv' }, kept, { rows: 1, features: 1, classes: 2, task: 'classification', targetWidth: 1, featureBytes: 4, size: 7 });
    const orphan = newDatasetId();
    await f.store.storage.put(datasetKey(orphan), Buffer.from('orphan'));
    const job = newJobId();
    await checkpoint(job, 2);
    await f.redis.hset(f.store.keys.job(job), 'id', job);
    const tmp = `${PREFIX}/jobs/${job}/resume.safetensors.1.abcdef.tmp`;
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: tmp, Body: 'half' }));

    expect(await sweepOrphanDatasetFiles(f.store)).toEqual([]);
    expect(await sweepOrphanDatasetFiles(f.store, Date.now() + HOURS_2)).toEqual([`${orphan}.bin`]);
    expect(await s3.keys(`${PREFIX}/datasets/`)).toEqual([`${PREFIX}/datasets/${kept}.bin`]);
    expect(await sweepStaleTemporaries(f.store, Date.now() + HOURS_2)).toEqual([`jobs/${job}/resume.safetensors.1.abcdef.tmp`]);
    expect(await s3.keys(`${PREFIX}/jobs/${job}/`)).toEqual([`${PREFIX}/jobs/${job}/epoch-2.safetensors`]);
    // The tenant's usage counts what Redis recorded: the dataset and the kept checkpoints.
    const usage = await f.redis.hgetall(f.store.keys.tenantUsage('default'));
    expect(Number(usage.datasets)).toBe(7);
  });

  it('removes the raw bodies of uploads whose API process died (lease gone) and fails them; a live upload keeps its own', async () => {
    const dead = newDatasetId();
    const live = newDatasetId();
    for (const id of [dead, live]) {
      await startUpload(f.store, { id, tenant: 'default', name: null, format: 'idx' });
      await f.store.storage.put(uploadKey(id, 'images'), Buffer.from('images'));
      await f.store.storage.put(uploadKey(id, 'labels'), Buffer.from('labels'));
    }
    // The dead upload's lease expired with its process; the live one's process renews its own.
    const lease = await holdUploadLease(f.store, live);
    expect(await sweepAbandonedUploads(f.store)).toEqual([dead]);
    expect(await s3.keys(`${PREFIX}/uploads/`)).toEqual([`${PREFIX}/uploads/${live}/images`, `${PREFIX}/uploads/${live}/labels`]);
    expect(await getUpload(f.store, dead, 'default')).toMatchObject({ status: 'failed', error: INTERRUPTED });
    expect(await getUpload(f.store, live, 'default')).toMatchObject({ status: 'processing' });
    await lease.release();
    expect(await sweepAbandonedUploads(f.store)).toEqual([live]);
    expect(await s3.keys(`${PREFIX}/uploads/`)).toEqual([]);
  });
});
