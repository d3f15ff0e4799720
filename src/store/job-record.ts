// The job record as stored in its Redis hash: statuses, history entries, metrics records, and
// the field-by-field encoding (JSON for structured fields).
import type { EpochMetrics } from '../core/types.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { JobMemoryEstimate } from '../spec/memory-estimate.js';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface HistoryEntry {
  status: JobStatus;
  at: string;
  reason?: string;
  attempt: number;
}

/** A metrics record as streamed, polled and stored: the core's epoch metrics plus the attempt. */
export type MetricsRecord = EpochMetrics & { attempt: number };

export interface JobRecord {
  id: string;
  tenant: string;
  name: string | null;
  spec: JobSpec;
  status: JobStatus;
  reason: string | null;
  history: HistoryEntry[];
  progress: { epoch: number; epochs: number };
  latest: MetricsRecord | null;
  best: MetricsRecord | null;
  attempt: number;
  priority: number;
  datasetId: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  backend: string | null;
  /** Estimated peak bytes of training, by part, from submission; null for jobs submitted before estimates. */
  memoryEstimate: JobMemoryEstimate | null;
  bodyHash: string;
}

export function encodeRecord(r: JobRecord): string[] {
  const out: string[] = [];
  const put = (f: string, v: unknown) => {
    if (v === null || v === undefined) return;
    out.push(f, typeof v === 'string' ? v : JSON.stringify(v));
  };
  put('id', r.id);
  put('tenant', r.tenant);
  put('name', r.name);
  put('spec', r.spec);
  put('status', r.status);
  put('reason', r.reason);
  put('history', r.history);
  put('progress', r.progress);
  put('latest', r.latest);
  put('best', r.best);
  put('attempt', String(r.attempt));
  put('priority', String(r.priority));
  put('datasetId', r.datasetId);
  put('createdAt', r.createdAt);
  put('updatedAt', r.updatedAt);
  put('startedAt', r.startedAt);
  put('finishedAt', r.finishedAt);
  put('error', r.error);
  put('backend', r.backend);
  put('memoryEstimate', r.memoryEstimate);
  put('bodyHash', r.bodyHash);
  return out;
}

function json<T>(v: string | undefined, fallback: T): T {
  if (v === undefined || v === '') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}

export function decodeRecord(h: Record<string, string>): JobRecord | null {
  if (h.id === undefined || h.tenant === undefined || h.status === undefined) return null;
  return {
    id: h.id,
    tenant: h.tenant,
    name: h.name ?? null,
    spec: json(h.spec, {} as JobSpec),
    status: h.status as JobStatus,
    reason: h.reason || null,
    history: json<HistoryEntry[]>(h.history, []),
    progress: json(h.progress, { epoch: 0, epochs: 0 }),
    latest: json<MetricsRecord | null>(h.latest, null),
    best: json<MetricsRecord | null>(h.best, null),
    attempt: Number(h.attempt ?? 0),
    priority: Number(h.priority ?? 0),
    datasetId: h.datasetId ?? null,
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
    startedAt: h.startedAt ?? null,
    finishedAt: h.finishedAt ?? null,
    error: h.error || null,
    backend: h.backend ?? null,
    memoryEstimate: json<JobMemoryEstimate | null>(h.memoryEstimate, null),
    bodyHash: h.bodyHash ?? '',
  };
}
