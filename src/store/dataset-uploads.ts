// Datasets still being processed, or that failed: an upload is `processing` from the moment its
// body is stored until the dataset is recorded (then `ready`, src/store/datasets.ts) or refused
// (`failed`, with the parser's error naming the line and column). Kept in a hash of its own that
// expires, so an API process that died mid-conversion leaves nothing behind for long.
import type { Store } from './redis.js';

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

/** The upload became a dataset (or was given up without a parser error): its state goes. */
export async function endUpload(s: Store, id: string): Promise<void> {
  await s.redis.del(s.keys.datasetUpload(id));
}

/** The tenant's processing or failed upload with this id, or null. */
export async function getUpload(s: Store, id: string, tenant: string): Promise<DatasetUpload | null> {
  const h = await s.redis.hgetall(s.keys.datasetUpload(id));
  if (h.id === undefined || h.tenant !== tenant) return null;
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
