// What the sweeper removes, observed over real HTTP and Redis: expired job ids leave the tenant's
// indexes on the sweeper's own schedule (no listing needed) and give back their checkpoint bytes;
// datasets expire after DATASET_RETENTION_SECONDS but never while a queued job uses them; dataset
// files no metadata names are removed after the grace period.
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { recordBestCheckpoint } from '../../src/store/checkpoints.js';
import { ORPHAN_GRACE_MS, sweepOrphanDatasetFiles } from '../../src/store/dataset-retention.js';
import { newDatasetId } from '../../src/store/ids.js';
import { DATASETS_PREFIX, datasetKey } from '../../src/store/object-keys.js';
import { startRetentionSweeper, sweepOnce } from '../../workers/retention-sweeper.js';
import { testStorageKind } from '../helpers/test-storage.js';
import { waitFor } from '../helpers/wait.js';
import { appFixture, xorSpec, type AppFixture } from './helpers.js';

const CSV = 'x1,x2,label\n0,1,0\n1,0,1\n1,1,0\n0,0,1\n';

interface Usage {
  bytes: { datasets: number; checkpoints: number; total: number };
  datasets: number;
  jobs: Record<string, number>;
}

describe('sweeper', () => {
  let f: AppFixture | null = null;
  afterEach(async () => {
    await f?.close();
    f = null;
  });
  const usage = async (a: AppFixture) => (await a.app.inject({ method: 'GET', url: '/v1/usage' })).json() as Usage;
  const stored = async (a: AppFixture, id: string) => (await a.store.storage.stat(datasetKey(id))) !== null;
  const upload = async (a: AppFixture) => {
    const res = await a.app.inject({ method: 'POST', url: '/v1/datasets?label=label', payload: CSV, headers: { 'content-type': 'text/csv' } });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; size: number };
  };

  it('prunes expired job ids from the indexes on its own schedule and frees their checkpoint bytes', async () => {
    const a = (f = await appFixture({ RETENTION_SECONDS: '1', SWEEP_INTERVAL_SECONDS: '1' }));
    const id = (await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() })).json().id as string;
    await recordBestCheckpoint(a.store, id, { tenant: 'default', epoch: 1, step: 1, monitor: 'loss', value: 0.5, bytes: new Uint8Array(123), bestEpoch: 1, evicted: [] });
    expect((await a.app.inject({ method: 'POST', url: `/v1/jobs/${id}/cancel` })).statusCode).toBe(202);
    expect((await usage(a)).bytes.checkpoints).toBe(123);
    // The record expires after RETENTION_SECONDS; its id stays in the indexes until swept.
    await waitFor(async () => (await a.redis.exists(a.store.keys.job(id))) === 0, { timeoutMs: 5000, intervalMs: 100, what: 'the job record to expire' });
    expect(await a.redis.zscore(a.store.keys.tenantJobs('default'), id)).not.toBeNull();
    expect((await usage(a)).jobs.cancelled).toBe(1);

    const stop = startRetentionSweeper(a.store, pino({ level: 'silent' }));
    try {
      await waitFor(async () => (await a.redis.zscore(a.store.keys.tenantJobs('default'), id)) === null, { timeoutMs: 5000, intervalMs: 100, what: 'the sweeper to prune the index' });
      await waitFor(async () => (await usage(a)).bytes.checkpoints === 0, { timeoutMs: 5000, intervalMs: 100, what: 'the checkpoint bytes to be freed' });
    } finally {
      stop();
    }
    expect(await a.redis.zscore(a.store.keys.tenantJobsByStatus('default', 'cancelled'), id)).toBeNull();
    expect((await usage(a)).jobs).toEqual({ queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
  });

  it('expires datasets after DATASET_RETENTION_SECONDS, never while a queued job uses them, and frees their bytes', async () => {
    const a = (f = await appFixture({ DATASET_RETENTION_SECONDS: '1' }));
    const used = await upload(a);
    const idle = await upload(a);
    const view = async (id: string) => (await a.app.inject({ method: 'GET', url: `/v1/datasets/${id}` })).json() as { createdAt: string; lastUsedAt: string | null; expiresAt: string };
    const fresh = await view(used.id);
    expect(fresh.lastUsedAt).toBeNull();
    expect(Date.parse(fresh.expiresAt) - Date.parse(fresh.createdAt)).toBe(1000);
    const job = await a.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec({ dataset: used.id, model: { layers: [{ type: 'dense', units: 4 }, { type: 'dense', units: 2 }] } }) });
    expect(job.statusCode).toBe(201);
    // Submitting a job on it counts as a use: its retention starts again.
    const touched = await view(used.id);
    expect(touched.lastUsedAt).not.toBeNull();
    expect(Date.parse(touched.expiresAt) - Date.parse(touched.lastUsedAt!)).toBe(1000);
    expect((await usage(a)).bytes.datasets).toBe(used.size + idle.size);

    const later = Date.now() + 1500;
    await sweepOnce(a.store, later);
    expect((await a.app.inject({ method: 'GET', url: `/v1/datasets/${idle.id}` })).statusCode).toBe(404);
    expect(await stored(a, idle.id)).toBe(false);
    expect((await a.app.inject({ method: 'GET', url: `/v1/datasets/${used.id}` })).statusCode).toBe(200);
    expect(await stored(a, used.id)).toBe(true);
    expect(await usage(a)).toMatchObject({ bytes: { datasets: used.size }, datasets: 1 });

    // Once the job is over, the dataset goes at the first sweep after its retention.
    expect((await a.app.inject({ method: 'POST', url: `/v1/jobs/${job.json().id}/cancel` })).statusCode).toBe(202);
    await sweepOnce(a.store, later);
    expect((await a.app.inject({ method: 'GET', url: `/v1/datasets/${used.id}` })).statusCode).toBe(404);
    expect(await stored(a, used.id)).toBe(false);
    expect(await usage(a)).toMatchObject({ bytes: { datasets: 0, total: 0 }, datasets: 0 });
  });

  it('keeps datasets with DATASET_RETENTION_SECONDS=0', async () => {
    const a = (f = await appFixture());
    const ds = await upload(a);
    await sweepOnce(a.store, Date.now() + 365 * 86400_000);
    const res = await a.app.inject({ method: 'GET', url: `/v1/datasets/${ds.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().expiresAt).toBeNull();
  });

  // File ages set with utimes: the local driver's case (test/integration/s3-retention.test.ts is the bucket's).
  it.skipIf(testStorageKind() === 's3')('removes dataset files no metadata names once older than the grace period', async () => {
    const a = (f = await appFixture());
    const kept = await upload(a);
    const dir = path.join(a.dataDir, DATASETS_PREFIX);
    mkdirSync(dir, { recursive: true });
    const old = (Date.now() - ORPHAN_GRACE_MS - 60_000) / 1000;
    const put = (name: string, aged: boolean) => {
      writeFileSync(path.join(dir, name), 'x');
      if (aged) utimesSync(path.join(dir, name), old, old);
      return name;
    };
    const orphan = put(`${newDatasetId()}.bin`, true);
    const tmp = put(`${newDatasetId()}.bin.123.abcdef.tmp`, true);
    const young = put(`${newDatasetId()}.bin`, false);
    const foreign = put('notes.txt', true);
    utimesSync(path.join(a.dataDir, datasetKey(kept.id)), old, old);

    expect((await sweepOrphanDatasetFiles(a.store)).sort()).toEqual([orphan, tmp].sort());
    for (const name of [young, foreign]) expect(existsSync(path.join(dir, name))).toBe(true);
    expect(await stored(a, kept.id)).toBe(true);
  });
});
