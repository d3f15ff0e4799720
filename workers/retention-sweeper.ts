// The sweeper every worker runs on its own schedule (SWEEP_INTERVAL_SECONDS): what Redis expires
// by itself leaves things behind, and this removes them. Per pass: ids of expired jobs from the
// tenants' job indexes; the checkpoint bytes of expired jobs from the tenants' usage; the stored
// objects of expired jobs; datasets past DATASET_RETENTION_SECONDS; orphaned dataset files; raw
// bodies of uploads whose API process died.
// Every worker may sweep; each step is safe to repeat or to race with another worker's.

import type { Logger } from 'pino';
import { deleteJobFiles } from '../src/store/checkpoints.js';
import { expireDatasets, sweepAbandonedUploads, sweepOrphanDatasetFiles } from '../src/store/dataset-retention.js';
import { isJobId } from '../src/store/ids.js';
import { JOBS_PREFIX } from '../src/store/object-keys.js';
import { pruneJobIndex, tenantsWith } from '../src/store/job-index.js';
import type { Store } from '../src/store/redis.js';
import { releaseExpiredJobBytes } from '../src/store/usage.js';

/** A job whose newest object is this young may have a record still being written: leave it. */
const MIN_AGE_MS = 60 * 60_000;
/** The first pass runs this soon after start (or after one interval, when that is shorter). */
const FIRST_SWEEP_MS = 30_000;

/** The newest write under each job's prefix (jobs/<id>/…), by job id, and the old temporary objects there. */
async function jobsInStorage(store: Store, staleBefore: number): Promise<{ newest: Map<string, number>; staleTemporaries: string[] }> {
  const newest = new Map<string, number>();
  const staleTemporaries: string[] = [];
  for await (const object of store.storage.list(JOBS_PREFIX)) {
    const id = object.key.slice(JOBS_PREFIX.length).split('/')[0] ?? '';
    if (!isJobId(id) || !object.key.startsWith(`${JOBS_PREFIX}${id}/`)) continue;
    // A writer killed mid-write (SIGKILL, a lost host) leaves its temporary object: never read, removed once old.
    if (object.key.endsWith('.tmp')) {
      if (object.modifiedMs < staleBefore) staleTemporaries.push(object.key);
      continue;
    }
    newest.set(id, Math.max(newest.get(id) ?? 0, object.modifiedMs));
  }
  return { newest, staleTemporaries };
}

/** Removes temporary objects of writes that never finished, once older than `minAgeMs`; returns their keys. */
export async function sweepStaleTemporaries(store: Store, now = Date.now(), minAgeMs = MIN_AGE_MS): Promise<string[]> {
  const { staleTemporaries } = await jobsInStorage(store, now - minAgeMs);
  for (const key of staleTemporaries) await store.storage.delete(key);
  return staleTemporaries;
}

/** One pass over the jobs' stored objects; returns the job ids whose objects were removed. */
export async function sweepExpiredJobFiles(store: Store, now = Date.now(), minAgeMs = MIN_AGE_MS): Promise<string[]> {
  const removed: string[] = [];
  const { newest } = await jobsInStorage(store, now - minAgeMs);
  for (const [id, modifiedMs] of newest) {
    if (now - modifiedMs < minAgeMs) continue;
    if ((await store.redis.exists(store.keys.job(id))) === 1) continue;
    await deleteJobFiles(store, id);
    removed.push(id);
  }
  return removed;
}

export interface SweepReport {
  prunedJobIds: number;
  releasedJobs: number;
  jobDirs: number;
  expiredDatasets: number;
  orphanFiles: number;
  abandonedUploads: number;
}

/** One full pass of every sweep. */
export async function sweepOnce(store: Store, now = Date.now()): Promise<SweepReport> {
  const report: SweepReport = { prunedJobIds: 0, releasedJobs: 0, jobDirs: 0, expiredDatasets: 0, orphanFiles: 0, abandonedUploads: 0 };
  const tenants = await tenantsWith(store, ['jobs', 'checkpoint-bytes', 'datasets']);
  for (const tenant of tenants.jobs) report.prunedJobIds += (await pruneJobIndex(store, tenant)).length;
  for (const tenant of tenants['checkpoint-bytes']) report.releasedJobs += (await releaseExpiredJobBytes(store, tenant)).length;
  report.jobDirs = (await sweepExpiredJobFiles(store, now)).length;
  if (store.config.datasetRetentionSeconds > 0) {
    for (const tenant of tenants.datasets) report.expiredDatasets += (await expireDatasets(store, tenant, now)).length;
  }
  report.orphanFiles = (await sweepOrphanDatasetFiles(store, now)).length + (await sweepStaleTemporaries(store, now)).length;
  report.abandonedUploads = (await sweepAbandonedUploads(store)).length;
  return report;
}

/** Sweeps soon after start, then every SWEEP_INTERVAL_SECONDS, until the returned stop function is called. */
export function startRetentionSweeper(store: Store, logger: Logger): () => void {
  const everyMs = store.config.sweepIntervalSeconds * 1000;
  let running = false;
  const run = () => {
    // A pass slower than the interval (a huge keyspace) is not started twice.
    if (running) return;
    running = true;
    sweepOnce(store)
      .then(
        (r) => {
          if (Object.values(r).some((n) => n > 0)) logger.info(r, 'sweep removed expired and orphaned data');
        },
        (err: unknown) => logger.warn({ err }, 'sweep failed'),
      )
      .finally(() => {
        running = false;
      });
  };
  const first = setTimeout(run, Math.min(FIRST_SWEEP_MS, everyMs));
  const timer = setInterval(run, everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
