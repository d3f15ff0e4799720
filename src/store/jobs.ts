// Job records: one Redis hash per job plus per-tenant indexes (all jobs, and one per status).
// Creation and status transitions are Lua scripts, so the record, the indexes and the job's stream
// change together: a transition appends to `history` AND writes a status event to the stream.
import type { EpochMetrics } from '../core/types.js';
import type { JobSpec } from '../spec/job-spec.js';
import type { Store } from './redis.js';
import { runScript } from './script.js';

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
  bodyHash: string;
}

const CREATE = `
if ARGV[7] == '1' then
  local v = redis.call('GET', KEYS[5])
  if v then return {'exists', v} end
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'limit', ''} end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'type', 'status', 'data', ARGV[6])
if ARGV[7] == '1' then redis.call('SET', KEYS[5], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[4]) end
return {'created', ARGV[1]}
`;

const TRANSITION = `
local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'tenant', 'history')
if not cur[1] then return {'missing', ''} end
local status = cur[1]
local function terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end
if terminal(status) then return {'terminal', status} end
if ARGV[3] ~= '' then
  local ok = false
  for s in string.gmatch(ARGV[3], '[^,]+') do if s == status then ok = true end end
  if not ok then return {'refused', status} end
end
if status == ARGV[1] and cur[2] == ARGV[5] then return {'same', status} end
local h = cur[4]
if (not h) or h == '' or h == '[]' then h = '[' .. ARGV[2] .. ']' else h = string.sub(h, 1, -2) .. ',' .. ARGV[2] .. ']' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'history', h, 'attempt', ARGV[5], 'updatedAt', ARGV[4], unpack(ARGV, 11))
local base = ARGV[8] .. cur[3] .. ':jobs:'
redis.call('ZREM', base .. status, ARGV[9])
redis.call('ZADD', base .. ARGV[1], 0, ARGV[9])
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'type', 'status', 'data', ARGV[10])
if terminal(ARGV[1]) and tonumber(ARGV[7]) > 0 then
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[7]) end
end
return {'ok', sid}
`;

const RECORD_EPOCH = `
local st = redis.call('HMGET', KEYS[1], 'status', 'lastMetrics')
if not st[1] then return {'missing', ''} end
if st[1] == 'completed' or st[1] == 'failed' or st[1] == 'cancelled' then return {'terminal', st[1]} end
if st[2] then
  local a, e = string.match(st[2], '^(%d+):(%d+)$')
  if a and tonumber(a) == tonumber(ARGV[1]) and tonumber(ARGV[2]) <= tonumber(e) then return {'duplicate', ''} end
end
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'metrics', 'data', ARGV[3])
redis.call('HSET', KEYS[1], 'latest', ARGV[3], 'progress', ARGV[4], 'lastMetrics', ARGV[1] .. ':' .. ARGV[2], 'updatedAt', ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'best', ARGV[7]) end
return {'ok', sid}
`;

export interface NewJob {
  id: string;
  tenant: string;
  spec: JobSpec;
  priority: number;
  datasetId: string | null;
  /** sha256 of the canonical submitted body, compared on Idempotency-Key retries. */
  bodyHash: string;
  idempotencyKey: string | null;
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
    bodyHash: j.bodyHash,
  };
  const k = s.keys;
  const idemKey = j.idempotencyKey === null ? k.idempotency(j.tenant, '-') : k.idempotency(j.tenant, j.idempotencyKey);
  const res = (await runScript(
    s.redis,
    CREATE,
    5,
    k.job(j.id),
    k.tenantJobs(j.tenant),
    k.tenantJobsByStatus(j.tenant, 'queued'),
    k.stream(j.id),
    idemKey,
    j.id,
    j.bodyHash,
    String(s.config.limits.queuedJobsPerTenant),
    String(s.config.idempotencyTtlSeconds),
    String(s.config.metricsMaxLen),
    JSON.stringify(entry),
    j.idempotencyKey === null ? '0' : '1',
    ...encodeRecord(record),
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

function encodeRecord(r: JobRecord): string[] {
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
    bodyHash: h.bodyHash ?? '',
  };
}

/** The job, or null when it does not exist or (given a tenant) belongs to another tenant. */
export async function getJob(s: Store, jobId: string, tenant: string | null = null): Promise<JobRecord | null> {
  const h = await s.redis.hgetall(s.keys.job(jobId));
  const r = decodeRecord(h);
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
  opts: { status?: JobStatus | undefined; limit: number; cursor?: string | null | undefined },
): Promise<JobPage> {
  const index = opts.status === undefined ? s.keys.tenantJobs(tenant) : s.keys.tenantJobsByStatus(tenant, opts.status);
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
      const r = decodeRecord((rows[i]?.[1] ?? {}) as Record<string, string>);
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
    TRANSITION,
    4,
    k.job(jobId),
    k.stream(jobId),
    k.checkpoints(jobId),
    k.cancel(jobId),
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
  )) as [string, string];
  if (res[0] === 'ok') return { ok: true, streamId: res[1] };
  return { ok: false, why: res[0] as 'missing' | 'terminal' | 'refused' | 'same', status: (res[1] || null) as JobStatus | null };
}

export type RecordEpochResult = { ok: true; streamId: string } | { ok: false; why: 'missing' | 'terminal' | 'duplicate' };

/**
 * Appends one epoch's metrics record to the stream and sets `latest` and `progress` (and `best`
 * when given) in one step. A record for an epoch this attempt already recorded is dropped, so a
 * retried call after a lost reply never duplicates a stream entry.
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
    RECORD_EPOCH,
    2,
    s.keys.job(jobId),
    s.keys.stream(jobId),
    String(metrics.attempt),
    String(metrics.epoch),
    JSON.stringify(metrics),
    JSON.stringify({ epoch: metrics.epoch, epochs }),
    String(s.config.metricsMaxLen),
    nowIso(),
    best === null ? '' : JSON.stringify(best),
  )) as [string, string];
  if (res[0] === 'ok') return { ok: true, streamId: res[1] };
  return { ok: false, why: res[0] as 'missing' | 'terminal' | 'duplicate' };
}

// HSET only on a record that still exists: an expired job must not come back as a fragment.
const HSET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** Sets the job's best metrics record (the one its best checkpoint was taken at). */
export async function setBestMetrics(s: Store, jobId: string, best: MetricsRecord): Promise<boolean> {
  return (await runScript(s.redis, HSET_IF_EXISTS, 1, s.keys.job(jobId), 'best', JSON.stringify(best))) === 1;
}

/** Sets fields the worker learns while running (backend name, last error). */
export async function setJobFields(s: Store, jobId: string, fields: { backend?: string; error?: string }): Promise<boolean> {
  const pairs: string[] = [];
  if (fields.backend !== undefined) pairs.push('backend', fields.backend);
  if (fields.error !== undefined) pairs.push('error', fields.error);
  if (pairs.length === 0) return true;
  return (await runScript(s.redis, HSET_IF_EXISTS, 1, s.keys.job(jobId), ...pairs)) === 1;
}
