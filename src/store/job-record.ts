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

/** A fine-tuned job's parent: the checkpoint it started from (see src/api/init-from.ts). */
export interface JobParent {
  job: string;
  epoch: number;
  sha256: string;
}

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
  /** Threads the job's GEMMs ran on (TRAIN_THREADS, the cores its worker's other jobs left); null until it runs. */
  threads: number | null;
  /** Estimated peak bytes of training, by part, from submission; null for jobs submitted before estimates. */
  memoryEstimate: JobMemoryEstimate | null;
  /** Fine-tuning: the checkpoint the job started from; null for a job trained from a random init. */
  initFrom: JobParent | null;
  bodyHash: string;
  /** The sweep this job is a trial of (sw_…), its trial number and sampled parameters; null otherwise. */
  sweep: string | null;
  trial: number | null;
  params: Record<string, unknown> | null;
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
  put('threads', r.threads === null ? null : String(r.threads));
  put('memoryEstimate', r.memoryEstimate);
  put('initFrom', r.initFrom);
  put('bodyHash', r.bodyHash);
  put('sweep', r.sweep);
  put('trial', r.trial === null ? null : String(r.trial));
  put('params', r.params);
  return out;
}

/** A stored record that cannot be read back: our data is damaged, never the client's mistake. */
export class CorruptJobRecordError extends Error {
  override readonly name = 'CorruptJobRecordError';
  constructor(
    readonly jobId: string,
    readonly tenant: string,
    readonly field: string,
    reason: string,
  ) {
    super(`the stored record of ${jobId} is corrupt: field "${field}" ${reason}`);
  }
}

export function decodeRecord(h: Record<string, string>): JobRecord | null {
  if (h.id === undefined || h.tenant === undefined || h.status === undefined) return null;
  const { id, tenant } = h;
  // An absent optional field takes its default; a present one that does not parse is corruption.
  const json = <T>(field: string, fallback: T): T => {
    const v = h[field];
    if (v === undefined || v === '') return fallback;
    try {
      return JSON.parse(v) as T;
    } catch (err) {
      throw new CorruptJobRecordError(id, tenant, field, `is not valid JSON (${(err as Error).message})`);
    }
  };
  if (!(JOB_STATUSES as readonly string[]).includes(h.status)) throw new CorruptJobRecordError(id, tenant, 'status', `is ${JSON.stringify(h.status.slice(0, 40))}, not a job status`);
  const spec = json<JobSpec | null>('spec', null);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new CorruptJobRecordError(id, tenant, 'spec', 'is missing or not an object');
  return {
    id,
    tenant,
    name: h.name ?? null,
    spec,
    status: h.status as JobStatus,
    reason: h.reason || null,
    history: json<HistoryEntry[]>('history', []),
    progress: json('progress', { epoch: 0, epochs: 0 }),
    latest: json<MetricsRecord | null>('latest', null),
    best: json<MetricsRecord | null>('best', null),
    attempt: Number(h.attempt ?? 0),
    priority: Number(h.priority ?? 0),
    datasetId: h.datasetId ?? null,
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
    startedAt: h.startedAt ?? null,
    finishedAt: h.finishedAt ?? null,
    error: h.error || null,
    backend: h.backend ?? null,
    threads: h.threads ? Number(h.threads) : null,
    memoryEstimate: json<JobMemoryEstimate | null>('memoryEstimate', null),
    initFrom: json<JobParent | null>('initFrom', null),
    bodyHash: h.bodyHash ?? '',
    sweep: h.sweep ?? null,
    trial: h.trial === undefined ? null : Number(h.trial),
    params: json<Record<string, unknown> | null>('params', null),
  };
}
