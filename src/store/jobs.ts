// Job records: one Redis hash per job plus per-tenant indexes (all jobs, and one per status).
// Creation and status transitions are Lua scripts, so the record, the indexes and the job's stream
// change together: a transition appends to `history` AND writes a status event to the stream.
import type { JobSpec } from '../spec/job-spec.js';
import type { JobMemoryEstimate } from '../spec/memory-estimate.js';
import { CorruptJobRecordError, decodeRecord, encodeRecord, isTerminal, type HistoryEntry, type JobParent, type JobRecord, type JobStatus, type MetricsRecord } from './job-record.js';
import type { Store } from './redis.js';
import { runScript } from './scripts.js';

export { CorruptJobRecordError, JOB_STATUSES, TERMINAL_STATUSES, decodeRecord, isTerminal } from './job-record.js';
export type { HistoryEntry, JobParent, JobRecord, JobStatus, MetricsRecord } from './job-record.js';

export interface NewJob {
  id: string;
  tenant: string;
  spec: JobSpec;
  priority: number;
  datasetId: string | null;
  /** sha256 of the canonical submitted body, compared on Idempotency-Key retries. */
  bodyHash: string;
  idempotencyKey: string | null;
  memoryEstimate?: JobMemoryEstimate | null;
  initFrom?: JobParent | null;
  /** Set on a sweep's trials. */
  sweep?: { id: string; trial: number; params: Record<string, unknown> };
}

export type CreateJobResult =
  | { kind: 'created'; job: JobRecord }
  | { kind: 'exists'; jobId: string; bodyHash: string }
  | { kind: 'limit' };

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Writes a new queued job (record, indexes, first history entry and status event) unless the
 * tenant already has `limits.queuedJobsPerTenant` queued jobs, or the Idempotency-Key was seen.
 */
export async function createJob(s: Store, j: NewJob): Promise<CreateJobResult> {
  const at = nowIso();
  const entry: HistoryEntry = { status: 'queued', at, attempt: 0 };
  const record: JobRecord = {
    id: j.id,
    tenant: j.tenant,
    name: j.spec.name ?? null,
    spec: j.spec,
    status: 'queued',
    reason: null,
    history: [entry],
    progress: { epoch: 0, epochs: j.spec.epochs },
    latest: null,
    best: null,
    attempt: 0,
    priority: j.priority,
    datasetId: j.datasetId,
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    finishedAt: null,
    error: null,
    backend: null,
    threads: null,
    memoryEstimate: j.memoryEstimate ?? null,
    initFrom: j.initFrom ?? null,
    bodyHash: j.bodyHash,
    sweep: j.sweep?.id ?? null,
    trial: j.sweep?.trial ?? null,
    params: j.sweep?.params ?? null,
  };
  const k = s.keys;
  const idemKey = j.idempotencyKey === null ? k.idempotency(j.tenant, '-') : k.idempotency(j.tenant, j.idempotencyKey);
  const res = (await runScript(
    s.redis,
    'createJob',
    [
      k.job(j.id),
      k.tenantJobs(j.tenant),
      k.tenantJobsByStatus(j.tenant, 'queued'),
      k.stream(j.id),
      idemKey,
      k.tenantWebhooks(j.tenant),
      k.webhookEvents(),
    ],
    [
      j.id,
      j.bodyHash,
      String(s.config.limits.queuedJobsPerTenant),
      String(s.config.idempotencyTtlSeconds),
      String(s.config.metricsMaxLen),
      JSON.stringify(entry),
      j.idempotencyKey === null ? '0' : '1',
      ...encodeRecord(record),
    ],
  )) as [string, string];
  if (res[0] === 'exists') {
    const [jobId = '', bodyHash = ''] = res[1].split(' ');
    return { kind: 'exists', jobId, bodyHash };
  }
  if (res[0] === 'limit') return { kind: 'limit' };
  return { kind: 'created', job: record };
}

/** Forgets an Idempotency-Key (used when its job has expired). */
export async function forgetIdempotencyKey(s: Store, tenant: string, key: string): Promise<void> {
  await s.redis.del(s.keys.idempotency(tenant, key));
}

/** The job, or null when it does not exist or (given a tenant) belongs to another tenant. */
export async function getJob(s: Store, jobId: string, tenant: string | null = null): Promise<JobRecord | null> {
  const h = await s.redis.hgetall(s.keys.job(jobId));
  let r: JobRecord | null;
  try {
    r = decodeRecord(h);
  } catch (err) {
    // Another tenant's damaged record is not found, like any of its jobs.
    if (err instanceof CorruptJobRecordError && tenant !== null && err.tenant !== tenant) return null;
    throw err;
  }
  if (r === null || (tenant !== null && r.tenant !== tenant)) return null;
  return r;
}

export interface JobPage {
  items: JobRecord[];
  nextCursor: string | null;
}

/** A tenant's jobs, newest first. `cursor` is the last id of the previous page (exclusive). */
export async function listJobs(
  s: Store,
  tenant: string,
  opts: { status?: JobStatus | undefined; sweep?: string | undefined; limit: number; cursor?: string | null | undefined },
): Promise<JobPage> {
  // A sweep's trials have an index of their own; the status is then filtered here.
  const index =
    opts.sweep !== undefined ? s.keys.sweepJobs(opts.sweep) : opts.status === undefined ? s.keys.tenantJobs(tenant) : s.keys.tenantJobsByStatus(tenant, opts.status);
  const found: JobRecord[] = [];
  let max = opts.cursor ? `(${opts.cursor}` : '+';
  while (found.length <= opts.limit) {
    const want = opts.limit + 1 - found.length;
    const ids = await s.redis.zrevrangebylex(index, max, '-', 'LIMIT', 0, want);
    if (ids.length === 0) break;
    const pipe = s.redis.pipeline();
    for (const id of ids) pipe.hgetall(s.keys.job(id));
    const rows = (await pipe.exec()) ?? [];
    const stale: string[] = [];
    ids.forEach((id, i) => {
      let r: JobRecord | null;
      try {
        r = decodeRecord((rows[i]?.[1] ?? {}) as Record<string, string>);
      } catch (err) {
        if (err instanceof CorruptJobRecordError && err.tenant !== tenant) return;
        throw err;
      }
      if (r === null) stale.push(id);
      else if (r.tenant === tenant && (opts.status === undefined || r.status === opts.status)) found.push(r);
    });
    // Records expire after the retention period; their index entries are dropped here, lazily.
    if (stale.length > 0) await s.redis.zrem(index, ...stale);
    max = `(${ids[ids.length - 1]}`;
    if (ids.length < want) break;
  }
  const items = found.slice(0, opts.limit);
  const last = items[items.length - 1];
  return { items, nextCursor: found.length > opts.limit && last !== undefined ? last.id : null };
}

export async function countQueuedJobs(s: Store, tenant: string): Promise<number> {
  return s.redis.zcard(s.keys.tenantJobsByStatus(tenant, 'queued'));
}

export interface TransitionOptions {
  reason?: string | undefined;
  attempt?: number | undefined;
  /** Only transition from these statuses; default any non-terminal one. */
  from?: readonly JobStatus[] | undefined;
  error?: string | undefined;
  backend?: string | undefined;
}

export type TransitionResult =
  | { ok: true; streamId: string }
  | { ok: false; why: 'missing' | 'terminal' | 'refused' | 'same'; status: JobStatus | null };

/**
 * Moves a job to `status`: appends `{status, at, reason?, attempt}` to its history, writes the
 * same object as a status event to its stream, moves it between status indexes, sets startedAt /
 * finishedAt, and on a terminal status starts the retention clock. Terminal jobs never move again;
 * repeating the current status with the same attempt is a no-op ('same').
 */
export async function transitionJob(s: Store, jobId: string, status: JobStatus, opts: TransitionOptions = {}): Promise<TransitionResult> {
  const at = nowIso();
  let attempt = opts.attempt;
  if (attempt === undefined) attempt = Number((await s.redis.hget(s.keys.job(jobId), 'attempt')) ?? 0);
  const entry: HistoryEntry = { status, at, attempt };
  if (opts.reason !== undefined) entry.reason = opts.reason;
  const event: Record<string, unknown> = { ...entry };
  if (opts.error !== undefined) event.error = opts.error;
  const extra: string[] = ['reason', opts.reason ?? ''];
  if (status === 'running') extra.push('startedAt', at);
  if (isTerminal(status)) extra.push('finishedAt', at);
  if (opts.error !== undefined) extra.push('error', opts.error);
  if (opts.backend !== undefined) extra.push('backend', opts.backend);
  const k = s.keys;
  const res = (await runScript(
    s.redis,
    'transition',
    [
      k.job(jobId),
      k.stream(jobId),
      k.checkpoints(jobId),
      k.cancel(jobId),
      k.webhookEvents(),
    ],
    [
      status,
      JSON.stringify(entry),
      (opts.from ?? []).join(','),
      at,
      String(attempt),
      String(s.config.metricsMaxLen),
      String(s.config.retentionSeconds),
      `${k.prefix}:tenant:`,
      jobId,
      JSON.stringify(event),
      ...extra,
    ],
  )) as [string, string];
  if (res[0] === 'ok') return { ok: true, streamId: res[1] };
  return { ok: false, why: res[0] as 'missing' | 'terminal' | 'refused' | 'same', status: (res[1] || null) as JobStatus | null };
}

export type RecordEpochResult = { ok: true; streamId: string } | { ok: false; why: 'missing' | 'terminal' | 'duplicate' | 'superseded' };

/**
 * Appends one epoch's metrics record to the stream and sets `latest` and `progress` (and `best`
 * when given) in one step. A record for an epoch already recorded (by this attempt after a lost
 * reply, or by an earlier attempt that died before writing that epoch's resume state) is dropped:
 * clients see each epoch exactly once.
 */
export async function recordEpoch(
  s: Store,
  jobId: string,
  metrics: MetricsRecord,
  epochs: number,
  best: MetricsRecord | null = null,
): Promise<RecordEpochResult> {
  const res = (await runScript(
    s.redis,
    'recordEpoch',
    [
      s.keys.job(jobId),
      s.keys.stream(jobId),
    ],
    [
      String(metrics.attempt),
      String(metrics.epoch),
      JSON.stringify(metrics),
      JSON.stringify({ epoch: metrics.epoch, epochs }),
      String(s.config.metricsMaxLen),
      nowIso(),
      best === null ? '' : JSON.stringify(best),
    ],
  )) as [string, string];
  if (res[0] === 'ok') return { ok: true, streamId: res[1] };
  return { ok: false, why: res[0] as 'missing' | 'terminal' | 'duplicate' | 'superseded' };
}

/**
 * Sets the job's best metrics record (the one its best checkpoint was taken at); a new best epoch
 * is a job.checkpoint webhook event (written in the same step).
 */
export async function setBestMetrics(s: Store, jobId: string, best: MetricsRecord): Promise<boolean> {
  const tenant = await s.redis.hget(s.keys.job(jobId), 'tenant');
  if (tenant === null) return false;
  const k = s.keys;
  return (await runScript(s.redis, 'setBest', [k.job(jobId), k.webhookEvents()], [JSON.stringify(best), nowIso(), k.tenantWebhooks(tenant)])) === 1;
}

/** Sets fields the worker learns while running (backend name, last error). */
export async function setJobFields(s: Store, jobId: string, fields: { backend?: string; threads?: number; error?: string }): Promise<boolean> {
  const pairs: string[] = [];
  if (fields.backend !== undefined) pairs.push('backend', fields.backend);
  if (fields.threads !== undefined) pairs.push('threads', String(fields.threads));
  if (fields.error !== undefined) pairs.push('error', fields.error);
  if (pairs.length === 0) return true;
  return (await runScript(s.redis, 'hsetIfExists', [s.keys.job(jobId)], [...pairs])) === 1;
}
