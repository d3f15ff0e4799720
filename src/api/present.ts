// Store records → API response objects (what clients see; internal fields such as the tenant and
// the body hash stay inside).
import { checkpointMonitor } from '../spec/to-train-config.js';
import type { DatasetUpload } from '../store/dataset-uploads.js';
import type { DatasetMeta } from '../store/datasets.js';
import type { JobRecord } from '../store/jobs.js';

export function presentJobSummary(j: JobRecord) {
  return {
    id: j.id,
    name: j.name,
    dataset: j.spec.dataset,
    monitor: checkpointMonitor(j.spec),
    status: j.status,
    reason: j.reason,
    progress: j.progress,
    latest: j.latest,
    best: j.best,
    attempt: j.attempt,
    priority: j.priority,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    error: j.error,
    backend: j.backend,
    threads: j.threads,
    memoryEstimate: j.memoryEstimate,
    sweep: j.sweep,
    trial: j.trial,
    params: j.params,
  };
}

export function presentJob(j: JobRecord, queuePosition: number | null) {
  return {
    ...presentJobSummary(j),
    spec: j.spec as unknown as Record<string, unknown>,
    history: j.history,
    queuePosition: j.status === 'queued' ? queuePosition : null,
    initFrom: j.initFrom,
  };
}

export function presentDataset(d: DatasetMeta) {
  return {
    id: d.id,
    name: d.name,
    format: d.format,
    status: 'ready' as const,
    error: null,
    rows: d.rows,
    features: d.features,
    classes: d.classes,
    task: d.task,
    targetWidth: d.targetWidth,
    size: d.size,
    createdAt: d.createdAt,
    lastUsedAt: d.lastUsedAt,
    expiresAt: d.expiresAt,
  };
}

/** An upload still processing or failed, in the dataset's shape (no figures until it is ready). */
export function presentDatasetUpload(u: DatasetUpload) {
  return {
    id: u.id,
    name: u.name,
    format: u.format,
    status: u.status,
    error: u.error,
    rows: null,
    features: null,
    classes: null,
    task: null,
    targetWidth: null,
    size: null,
    createdAt: u.createdAt,
    lastUsedAt: null,
    expiresAt: null,
  };
}
