// Dataset clean-up on the sweeper's schedule: datasets past DATASET_RETENTION_SECONDS (never one a
// queued or running job uses), dataset files no metadata names (an upload that died between
// writing its file and its metadata) once they are older than a grace period, and the raw bodies
// of uploads whose API process died (no live lease).
import { isDatasetId } from './ids.js';
import { markInterrupted, uploadIsLive } from './dataset-uploads.js';
import { datasetKey, DATASETS_PREFIX, uploadPrefix, UPLOADS_PREFIX } from './object-keys.js';
import type { Store } from './redis.js';
import { expireDatasetRecord } from './usage.js';

/** An upload younger than this may still be writing its metadata: its file is left alone. */
export const ORPHAN_GRACE_MS = 60 * 60_000;

/**
 * Removes the tenant's datasets last used (uploaded, or named by a submitted job) before
 * `now - DATASET_RETENTION_SECONDS`, except those a queued or running job uses; frees their bytes.
 * Returns the ids removed.
 */
export async function expireDatasets(s: Store, tenant: string, now = Date.now()): Promise<string[]> {
  const seconds = s.config.datasetRetentionSeconds;
  if (seconds === 0) return [];
  const cutoff = new Date(now - seconds * 1000);
  const removed: string[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await s.redis.zscan(s.keys.tenantDatasets(tenant), cursor, 'COUNT', 500);
    cursor = next;
    for (let i = 0; i < flat.length; i += 2) {
      const id = flat[i] ?? '';
      if (!isDatasetId(id)) continue;
      const res = await expireDatasetRecord(s, tenant, id, cutoff);
      if (!res.removed) continue;
      await s.storage.delete(datasetKey(id));
      removed.push(id);
    }
  } while (cursor !== '0');
  return removed;
}

/**
 * Deletes dataset objects older than `graceMs` that no dataset's metadata names: `<id>.bin`
 * without metadata and temporary objects of writes that never finished. Returns their names.
 */
export async function sweepOrphanDatasetFiles(s: Store, now = Date.now(), graceMs = ORPHAN_GRACE_MS): Promise<string[]> {
  const removed: string[] = [];
  for await (const object of s.storage.list(DATASETS_PREFIX)) {
    const name = object.key.slice(DATASETS_PREFIX.length);
    if (name.includes('/')) continue;
    const id = name.endsWith('.bin') ? name.slice(0, -4) : null;
    const temporary = name.endsWith('.tmp') && isDatasetId(name.split('.')[0] ?? '');
    if (!temporary && (id === null || !isDatasetId(id))) continue;
    if (now - object.modifiedMs < graceMs) continue;
    if (id !== null && (await s.redis.exists(s.keys.dataset(id))) === 1) continue;
    await s.storage.delete(object.key);
    removed.push(name);
  }
  return removed;
}

/**
 * Removes the raw bodies (uploads/<id>/…) of uploads no live API process holds a lease on: its
 * process died mid-body or mid-conversion (a live one removes them itself when it is done). Such an
 * upload's record, if it got one, is failed. Returns the dataset ids whose bodies were removed.
 */
export async function sweepAbandonedUploads(s: Store): Promise<string[]> {
  const ids = new Set<string>();
  for await (const object of s.storage.list(UPLOADS_PREFIX)) {
    const id = object.key.slice(UPLOADS_PREFIX.length).split('/')[0] ?? '';
    if (isDatasetId(id)) ids.add(id);
  }
  const removed: string[] = [];
  for (const id of ids) {
    if (await uploadIsLive(s, id)) continue;
    await s.storage.deletePrefix(uploadPrefix(id));
    await markInterrupted(s, id);
    removed.push(id);
  }
  return removed;
}
