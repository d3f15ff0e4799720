// Uploaded datasets: the samples in one object datasets/<id>.bin in the storage (src/data's binary
// format, parsed once at upload), the metadata in a Redis hash, listed per tenant.
import type { Task } from '../core/types.js';
import { decodeDataset } from '../data/index.js';
import type { LoadedDataset } from '../data/index.js';
import { localFile } from './checkpoints.js';
import { isDatasetId } from './ids.js';
import { datasetKey } from './object-keys.js';
import type { Store } from './redis.js';
import { runScript } from './scripts.js';
import { addDatasetRecord, removeDatasetRecord } from './usage.js';

/** What a dataset file holds, as the metadata needs it. */
export interface DatasetFileInfo {
  rows: number;
  features: number;
  /** Number of classes for classification, null for regression. */
  classes: number | null;
  task: Task;
  targetWidth: number;
  /** Bytes per stored feature: 1 for IDX pixels kept as bytes, 4 for float32 (and files from before). */
  featureBytes: number;
  /** Bytes of the file on disk. */
  size: number;
}

export interface DatasetMeta extends DatasetFileInfo {
  id: string;
  tenant: string;
  name: string | null;
  /** 'csv' | 'json' | 'ndjson' | 'idx' — how it was uploaded. */
  format: string;
  createdAt: string;
  /** When a job was last submitted on it, or null. */
  lastUsedAt: string | null;
  /**
   * With DATASET_RETENTION_SECONDS: the later of upload and last use plus the retention, after
   * which the next sweep deletes it unless a queued or running job uses it. Null: kept until deleted.
   */
  expiresAt: string | null;
}

/** A dataset's file with the local driver (tests and tools that look at DATA_DIR itself). */
export function datasetPath(s: Store, datasetId: string): string {
  return localFile(s, datasetKey(datasetId));
}

function encodeMeta(m: DatasetMeta): string[] {
  return [
    'id', m.id, 'tenant', m.tenant, 'name', m.name ?? '', 'format', m.format, 'rows', String(m.rows),
    'features', String(m.features), 'classes', m.classes === null ? '' : String(m.classes), 'task', m.task,
    'targetWidth', String(m.targetWidth), 'featureBytes', String(m.featureBytes), 'size', String(m.size), 'createdAt', m.createdAt,
  ];
}

function expiryOf(s: Store, createdAt: string, lastUsedAt: string | null): string | null {
  const seconds = s.config.datasetRetentionSeconds;
  const last = Math.max(Date.parse(createdAt), lastUsedAt === null ? 0 : Date.parse(lastUsedAt));
  if (seconds === 0 || !Number.isFinite(last)) return null;
  return new Date(last + seconds * 1000).toISOString();
}

function decodeMeta(s: Store, h: Record<string, string>): DatasetMeta | null {
  if (h.id === undefined || h.tenant === undefined) return null;
  const createdAt = h.createdAt ?? '';
  const lastUsedAt = h.lastUsedAt || null;
  return {
    id: h.id,
    tenant: h.tenant,
    name: h.name || null,
    format: h.format ?? '',
    rows: Number(h.rows),
    features: Number(h.features),
    classes: h.classes ? Number(h.classes) : null,
    task: h.task === 'regression' ? 'regression' : 'classification',
    targetWidth: Number(h.targetWidth),
    featureBytes: h.featureBytes === '1' ? 1 : 4,
    size: Number(h.size),
    createdAt,
    lastUsedAt,
    expiresAt: expiryOf(s, createdAt, lastUsedAt),
  };
}

export interface NewDataset {
  tenant: string;
  name: string | null;
  format: string;
}

/**
 * Indexes a dataset whose object is already stored under datasetKey(id) (written by an upload's CPU
 * thread), charging its bytes to the tenant's quota (QuotaExceededError beyond MAX_TENANT_BYTES,
 * checked atomically). An object whose metadata could not be written is removed again.
 */
export async function recordDataset(s: Store, d: NewDataset, id: string, info: DatasetFileInfo): Promise<DatasetMeta> {
  const createdAt = new Date().toISOString();
  const meta: DatasetMeta = { id, tenant: d.tenant, name: d.name, format: d.format, ...info, createdAt, lastUsedAt: null, expiresAt: expiryOf(s, createdAt, null) };
  try {
    await addDatasetRecord(s, d.tenant, id, meta.size, encodeMeta(meta));
  } catch (err) {
    await s.storage.delete(datasetKey(id));
    throw err;
  }
  return meta;
}

/** The metadata, or null when missing or (given a tenant) another tenant's. */
export async function getDatasetMeta(s: Store, datasetId: string, tenant: string | null = null): Promise<DatasetMeta | null> {
  if (!isDatasetId(datasetId)) return null;
  const m = decodeMeta(s, await s.redis.hgetall(s.keys.dataset(datasetId)));
  if (m === null || (tenant !== null && m.tenant !== tenant)) return null;
  return m;
}

export async function loadDataset(s: Store, datasetId: string): Promise<LoadedDataset> {
  // The object's Buffer is decoded as it is: copying it first would hold the rows three times at once.
  const bytes = await s.storage.get(datasetKey(datasetId));
  if (bytes === null) throw new Error(`its file is missing from ${s.storage.description}`);
  return decodeDataset(bytes);
}

/** A tenant's datasets, newest first, cursor = last id of the previous page. */
export async function listDatasets(
  s: Store,
  tenant: string,
  opts: { limit: number; cursor?: string | null | undefined },
): Promise<{ items: DatasetMeta[]; nextCursor: string | null }> {
  const index = s.keys.tenantDatasets(tenant);
  const ids = await s.redis.zrevrangebylex(index, opts.cursor ? `(${opts.cursor}` : '+', '-', 'LIMIT', 0, opts.limit + 1);
  const page = ids.slice(0, opts.limit);
  const pipe = s.redis.pipeline();
  for (const id of page) pipe.hgetall(s.keys.dataset(id));
  const rows = page.length === 0 ? [] : ((await pipe.exec()) ?? []);
  const items = page
    .map((_, i) => decodeMeta(s, (rows[i]?.[1] ?? {}) as Record<string, string>))
    .filter((m): m is DatasetMeta => m !== null && m.tenant === tenant);
  const last = page[page.length - 1];
  return { items, nextCursor: ids.length > opts.limit && last !== undefined ? last : null };
}

/**
 * Ids of the tenant's queued or running jobs that train or validate on this dataset (a job's
 * stored spec names it; dataset ids are unique, so a substring test is exact).
 */
export async function jobsUsingDataset(s: Store, tenant: string, datasetId: string): Promise<string[]> {
  const ids = [
    ...(await s.redis.zrange(s.keys.tenantJobsByStatus(tenant, 'queued'), 0, -1)),
    ...(await s.redis.zrange(s.keys.tenantJobsByStatus(tenant, 'running'), 0, -1)),
  ];
  if (ids.length === 0) return [];
  const pipe = s.redis.pipeline();
  for (const id of ids) pipe.hget(s.keys.job(id), 'spec');
  const specs = (await pipe.exec()) ?? [];
  return ids.filter((_, i) => String(specs[i]?.[1] ?? '').includes(`"${datasetId}"`));
}

/** Deletes metadata, index entry and object, freeing its bytes. False when there was no such dataset for the tenant. */
export async function deleteDataset(s: Store, datasetId: string, tenant: string): Promise<boolean> {
  if (!isDatasetId(datasetId)) return false;
  if ((await removeDatasetRecord(s, tenant, datasetId)) === null) return false;
  await s.storage.delete(datasetKey(datasetId));
  return true;
}

/**
 * Marks datasets as used now (a job was just submitted on them): DATASET_RETENTION_SECONDS counts
 * from the later of upload and last use.
 */
export async function touchDatasets(s: Store, datasetIds: readonly string[]): Promise<void> {
  const at = new Date().toISOString();
  for (const id of datasetIds) if (isDatasetId(id)) await runScript(s.redis, 'hsetIfExists', [s.keys.dataset(id)], ['lastUsedAt', at]);
}
