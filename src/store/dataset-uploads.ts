// Datasets still being processed, or that failed: an upload is `processing` from the moment its
// body is stored until the dataset is recorded (then `ready`, src/store/datasets.ts) or refused
// (`failed`, with the parser's error naming the line and column). Kept in a hash of its own that
// expires. The API process receiving and converting an upload holds a lease on it (a key it renews
// every LEASE_MS / 3): an upload whose lease is gone lost its process (killed, its host gone) and
// reads as `failed` at once; the sweeper removes its raw bodies (dataset-retention.ts).
import type { Store } from './redis.js';
import { runScript } from './scripts.js';

export interface DatasetUpload {
  id: string;
  tenant: string;
  name: string | null;
  format: string;
  status: 'processing' | 'failed';
  error: { path: string; message: string } | null;
  createdAt: string;
}

/** A processing upload's state lives this long (conversions of the largest allowed bodies take minutes). */
export const PROCESSING_TTL_SECONDS = 6 * 3600;
/** A failed upload's error can be read for this long. */
export const FAILED_TTL_SECONDS = 24 * 3600;

/** How long a lease outlives the last renewal of a process that stopped. */
export const LEASE_MS = 30_000;

/** Why an upload whose process stopped failed. */
export const INTERRUPTED = { path: 'body', message: 'the upload was interrupted: the API process receiving or converting it stopped; upload the dataset again' };

export interface UploadLease {
  /** Stops renewing and removes the lease (the upload is over, one way or the other). */
  release(): Promise<void>;
}

/** Takes and keeps renewing the lease on an upload until released. */
export async function holdUploadLease(s: Store, id: string): Promise<UploadLease> {
  const key = s.keys.datasetUploadLease(id);
  await s.redis.set(key, String(process.pid), 'PX', LEASE_MS);
  const timer = setInterval(() => void s.redis.set(key, String(process.pid), 'PX', LEASE_MS).catch(() => undefined), LEASE_MS / 3);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await s.redis.del(key);
    },
  };
}

/** True while a live process holds the upload's lease. */
export async function uploadIsLive(s: Store, id: string): Promise<boolean> {
  return (await s.redis.exists(s.keys.datasetUploadLease(id))) === 1;
}

export async function startUpload(s: Store, u: Omit<DatasetUpload, 'status' | 'error' | 'createdAt'>): Promise<DatasetUpload> {
  const upload: DatasetUpload = { ...u, status: 'processing', error: null, createdAt: new Date().toISOString() };
  const key = s.keys.datasetUpload(u.id);
  await s.redis
    .multi()
    .hset(key, 'id', u.id, 'tenant', u.tenant, 'name', u.name ?? '', 'format', u.format, 'status', 'processing', 'createdAt', upload.createdAt)
    .expire(key, PROCESSING_TTL_SECONDS)
    .exec();
  return upload;
}

export async function failUpload(s: Store, id: string, error: { path: string; message: string }): Promise<void> {
  const key = s.keys.datasetUpload(id);
  await s.redis.multi().hset(key, 'status', 'failed', 'errorPath', error.path, 'errorMessage', error.message).expire(key, FAILED_TTL_SECONDS).exec();
}

/** An upload whose process stopped is failed (only if its record is still there: a finished one is not brought back). */
export async function markInterrupted(s: Store, id: string): Promise<void> {
  const key = s.keys.datasetUpload(id);
  const fields = ['status', 'failed', 'errorPath', INTERRUPTED.path, 'errorMessage', INTERRUPTED.message];
  if ((await runScript(s.redis, 'hsetIfExists', [key], fields)) === 1) await s.redis.expire(key, FAILED_TTL_SECONDS);
}

/** The upload became a dataset (or was given up without a parser error): its state goes. */
export async function endUpload(s: Store, id: string): Promise<void> {
  await s.redis.del(s.keys.datasetUpload(id));
}

/** The tenant's processing or failed upload with this id, or null. */
export async function getUpload(s: Store, id: string, tenant: string): Promise<DatasetUpload | null> {
  const h = await s.redis.hgetall(s.keys.datasetUpload(id));
  if (h.id === undefined || h.tenant !== tenant) return null;
  if (h.status === 'processing' && !(await uploadIsLive(s, id))) {
    // Its process is gone: it will never finish.
    await markInterrupted(s, id);
    Object.assign(h, { status: 'failed', errorPath: INTERRUPTED.path, errorMessage: INTERRUPTED.message });
  }
  const failed = h.status === 'failed';
  return {
    id: h.id,
    tenant: h.tenant,
    name: h.name || null,
    format: h.format ?? '',
    status: failed ? 'failed' : 'processing',
    error: failed ? { path: h.errorPath ?? '', message: h.errorMessage ?? '' } : null,
    createdAt: h.createdAt ?? '',
  };
}
