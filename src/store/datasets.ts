// Uploaded datasets: the samples in one binary file under DATA_DIR/datasets/<id>.bin, the
// metadata in a Redis hash, listed per tenant. File layout (little-endian):
//   "TRAINDDS" | u32 header length | JSON header {n, features, targetWidth} | pad to 4 | x f32[n·features] | y f32[n·targetWidth]
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset, Task } from '../core/types.js';
import { writeFileAtomic, StorePathError } from './checkpoints.js';
import { isDatasetId, newDatasetId } from './ids.js';
import type { Store } from './redis.js';

const MAGIC = 'TRAINDDS';

export interface DatasetMeta {
  id: string;
  tenant: string;
  name: string | null;
  /** 'csv' | 'json' | 'ndjson' | 'idx' — how it was uploaded. */
  format: string;
  rows: number;
  features: number;
  /** Number of classes for classification (labels 0..classes-1), null for regression. */
  classes: number | null;
  task: Task;
  targetWidth: number;
  /** Bytes on disk. */
  size: number;
  createdAt: string;
}

export function datasetPath(s: Store, datasetId: string): string {
  if (!isDatasetId(datasetId)) throw new StorePathError('invalid dataset id');
  return path.join(path.resolve(s.config.dataDir), 'datasets', `${datasetId}.bin`);
}

export function encodeDataset(ds: Dataset): Uint8Array {
  const header = Buffer.from(JSON.stringify({ n: ds.n, features: ds.features, targetWidth: ds.targetWidth }), 'utf8');
  const headerEnd = 8 + 4 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + (ds.x.length + ds.y.length) * 4);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  let o = dataStart;
  for (const arr of [ds.x, ds.y]) {
    for (let i = 0; i < arr.length; i++, o += 4) view.setFloat32(o, arr[i] ?? 0, true);
  }
  return out;
}

export function decodeDataset(bytes: Uint8Array): Dataset {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) throw new Error('not a traind dataset file');
  const len = view.getUint32(8, true);
  const h = JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString('utf8')) as { n: number; features: number; targetWidth: number };
  const dataStart = Math.ceil((12 + len) / 4) * 4;
  const nx = h.n * h.features;
  const ny = h.n * h.targetWidth;
  if (bytes.byteLength !== dataStart + (nx + ny) * 4) throw new Error('dataset file has the wrong size');
  const x = new Float32Array(nx);
  const y = new Float32Array(ny);
  let o = dataStart;
  for (let i = 0; i < nx; i++, o += 4) x[i] = view.getFloat32(o, true);
  for (let i = 0; i < ny; i++, o += 4) y[i] = view.getFloat32(o, true);
  return { x, y, n: h.n, features: h.features, targetWidth: h.targetWidth };
}

function encodeMeta(m: DatasetMeta): string[] {
  return [
    'id', m.id, 'tenant', m.tenant, 'name', m.name ?? '', 'format', m.format, 'rows', String(m.rows),
    'features', String(m.features), 'classes', m.classes === null ? '' : String(m.classes), 'task', m.task,
    'targetWidth', String(m.targetWidth), 'size', String(m.size), 'createdAt', m.createdAt,
  ];
}

function decodeMeta(h: Record<string, string>): DatasetMeta | null {
  if (h.id === undefined || h.tenant === undefined) return null;
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
    size: Number(h.size),
    createdAt: h.createdAt ?? '',
  };
}

export interface NewDataset {
  tenant: string;
  name: string | null;
  format: string;
  classes: number | null;
  task: Task;
}

/** Writes the file, then the metadata and index entry. Returns the metadata with a new id. */
export async function saveDataset(s: Store, d: NewDataset, ds: Dataset): Promise<DatasetMeta> {
  const id = newDatasetId();
  const bytes = encodeDataset(ds);
  await writeFileAtomic(datasetPath(s, id), bytes);
  const meta: DatasetMeta = {
    id,
    tenant: d.tenant,
    name: d.name,
    format: d.format,
    rows: ds.n,
    features: ds.features,
    classes: d.classes,
    task: d.task,
    targetWidth: ds.targetWidth,
    size: bytes.byteLength,
    createdAt: new Date().toISOString(),
  };
  await s.redis.multi().hset(s.keys.dataset(id), ...encodeMeta(meta)).zadd(s.keys.tenantDatasets(d.tenant), 0, id).exec();
  return meta;
}

/** The metadata, or null when missing or (given a tenant) another tenant's. */
export async function getDatasetMeta(s: Store, datasetId: string, tenant: string | null = null): Promise<DatasetMeta | null> {
  if (!isDatasetId(datasetId)) return null;
  const m = decodeMeta(await s.redis.hgetall(s.keys.dataset(datasetId)));
  if (m === null || (tenant !== null && m.tenant !== tenant)) return null;
  return m;
}

export async function loadDataset(s: Store, datasetId: string): Promise<Dataset> {
  return decodeDataset(new Uint8Array(await readFile(datasetPath(s, datasetId))));
}

/** A tenant's datasets, newest first, cursor = last id of the previous page. */
export async function listDatasets(
  s: Store,
  tenant: string,
  opts: { limit: number; cursor?: string | null | undefined },
): Promise<{ items: DatasetMeta[]; nextCursor: string | null }> {
  const index = s.keys.tenantDatasets(tenant);
  const ids = await s.redis.zrevrangebylex(index, opts.cursor ? `(${opts.cursor}` : '+', '-', 'LIMIT', 0, opts.limit + 1);
  const pipe = s.redis.pipeline();
  for (const id of ids) pipe.hgetall(s.keys.dataset(id));
  const rows = ids.length === 0 ? [] : ((await pipe.exec()) ?? []);
  const found = ids
    .map((_, i) => decodeMeta((rows[i]?.[1] ?? {}) as Record<string, string>))
    .filter((m): m is DatasetMeta => m !== null && m.tenant === tenant);
  const items = found.slice(0, opts.limit);
  const more = ids.length > opts.limit;
  const last = ids[Math.min(ids.length, opts.limit) - 1];
  return { items, nextCursor: more && last !== undefined ? last : null };
}

/** Deletes metadata, index entry and file. False when there was no such dataset for the tenant. */
export async function deleteDataset(s: Store, datasetId: string, tenant: string): Promise<boolean> {
  const meta = await getDatasetMeta(s, datasetId, tenant);
  if (meta === null) return false;
  await s.redis.multi().del(s.keys.dataset(datasetId)).zrem(s.keys.tenantDatasets(tenant), datasetId).exec();
  await rm(datasetPath(s, datasetId), { force: true });
  return true;
}
