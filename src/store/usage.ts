// Per-tenant usage: stored bytes (datasets and checkpoints) checked against MAX_TENANT_BYTES, and
// training seconds. Every byte count changes in the same Lua step as the index entry it accounts
// for, so concurrent uploads, checkpoints and deletions can neither overshoot the quota nor
// count a file twice or not at all.
import { JOB_STATUSES, type JobStatus } from './job-record.js';
import type { Store } from './redis.js';
import { runScript } from './scripts.js';

/** An upload, a job or a checkpoint that would take the tenant past MAX_TENANT_BYTES. */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
  constructor(
    readonly used: number,
    readonly requested: number,
    readonly limit: number,
    what: string,
  ) {
    const need = requested > 1 ? `${what} needs ${requested} bytes` : `no room for ${what}`;
    super(`storage quota exceeded: ${need}; this tenant stores ${used} of MAX_TENANT_BYTES=${limit}`);
  }
}

export interface TenantUsage {
  bytes: { datasets: number; checkpoints: number; total: number; limit: number };
  datasets: number;
  jobs: Record<JobStatus, number>;
  trainingSeconds: number;
}

/** Stores a dataset's metadata and index entry and charges its bytes, or throws QuotaExceededError. */
export async function addDatasetRecord(s: Store, tenant: string, id: string, size: number, meta: string[]): Promise<void> {
  const k = s.keys;
  const limit = s.config.limits.tenantBytes;
  const res = (await runScript(s.redis, 'addDataset', [k.dataset(id), k.tenantDatasets(tenant), k.tenantUsage(tenant)], [String(limit), String(size), id, ...meta])) as [string, string];
  if (res[0] === 'quota') throw new QuotaExceededError(Number(res[1]), size, limit, 'this dataset');
}

/** Removes a dataset's metadata and index entry and frees its bytes; null when the tenant has no such dataset. */
export async function removeDatasetRecord(s: Store, tenant: string, id: string): Promise<number | null> {
  const k = s.keys;
  const res = Number(await runScript(s.redis, 'removeDataset', [k.dataset(id), k.tenantDatasets(tenant), k.tenantUsage(tenant)], [id, tenant]));
  return res < 0 ? null : res;
}

export type ExpireResult = { removed: true; bytes: number } | { removed: false; why: 'missing' | 'fresh' | 'in_use' };

/** Removes the dataset if it was last used before `cutoff` and no queued or running job uses it. */
export async function expireDatasetRecord(s: Store, tenant: string, id: string, cutoff: Date): Promise<ExpireResult> {
  const k = s.keys;
  const res = Number(
    await runScript(
      s.redis,
      'removeDataset',
      [
        k.dataset(id),
        k.tenantDatasets(tenant),
        k.tenantUsage(tenant),
      ],
      [
        id,
        tenant,
        cutoff.toISOString(),
        `${k.prefix}:job:`,
        k.tenantJobsByStatus(tenant, 'queued'),
        k.tenantJobsByStatus(tenant, 'running'),
      ],
    ),
  );
  if (res >= 0) return { removed: true, bytes: res };
  return { removed: false, why: res === -1 ? 'missing' : res === -2 ? 'fresh' : 'in_use' };
}

/** Indexes one checkpoint and charges its bytes to the tenant, or throws QuotaExceededError. */
export async function addCheckpointRecord(
  s: Store,
  tenant: string,
  jobId: string,
  field: string,
  meta: string,
  size: number,
  freeingFields: readonly string[] = [],
): Promise<void> {
  const k = s.keys;
  const limit = s.config.limits.tenantBytes;
  const keys = [k.checkpoints(jobId), k.tenantUsage(tenant), k.tenantCheckpointBytes(tenant)];
  const res = (await runScript(s.redis, 'addCheckpoint', keys, [field, meta, String(size), jobId, String(limit), ...freeingFields])) as [string, string];
  if (res[0] === 'quota') throw new QuotaExceededError(Number(res[1]), size, limit, `the checkpoint of job ${jobId}`);
}

/** Un-indexes one checkpoint and frees its bytes. */
export async function removeCheckpointRecord(s: Store, tenant: string, jobId: string, field: string): Promise<number> {
  const k = s.keys;
  return Number(await runScript(s.redis, 'removeCheckpoint', [k.checkpoints(jobId), k.tenantUsage(tenant), k.tenantCheckpointBytes(tenant)], [field, jobId]));
}

/** Frees the checkpoint bytes of the tenant's jobs whose records have expired; returns those job ids. */
export async function releaseExpiredJobBytes(s: Store, tenant: string): Promise<string[]> {
  const k = s.keys;
  const released: string[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await s.redis.hscan(k.tenantCheckpointBytes(tenant), cursor, 'COUNT', 500);
    cursor = next;
    const jobIds = flat.filter((_, i) => i % 2 === 0);
    // One batch in flight at a time: sent back to back, not one round trip each.
    const freed = await Promise.all(
      jobIds.map(async (jobId) => Number(await runScript(s.redis, 'releaseExpiredJob', [k.job(jobId), k.tenantUsage(tenant), k.tenantCheckpointBytes(tenant)], [jobId]))),
    );
    jobIds.forEach((jobId, i) => {
      if ((freed[i] ?? -1) >= 0) released.push(jobId);
    });
  } while (cursor !== '0');
  return released;
}

/**
 * Refuses with QuotaExceededError when the tenant already stores MAX_TENANT_BYTES or more: no
 * upload can fit, so its body need not be read or parsed.
 */
export async function refuseWhenFull(s: Store, tenant: string, what: string): Promise<void> {
  await checkQuotaRoom(s, tenant, 1, what);
}

/** Refuses with QuotaExceededError when `bytes` more would take the tenant past the limit (a check, not a reservation). */
export async function checkQuotaRoom(s: Store, tenant: string, bytes: number, what: string): Promise<void> {
  const [datasets, checkpoints] = await s.redis.hmget(s.keys.tenantUsage(tenant), 'datasets', 'checkpoints');
  const used = Number(datasets ?? 0) + Number(checkpoints ?? 0);
  const limit = s.config.limits.tenantBytes;
  if (used + bytes > limit) throw new QuotaExceededError(used, bytes, limit, what);
}

export async function addTrainingSeconds(s: Store, tenant: string, seconds: number): Promise<void> {
  if (Number.isFinite(seconds) && seconds > 0) await s.redis.hincrbyfloat(s.keys.tenantUsage(tenant), 'trainingSeconds', seconds);
}

export async function readUsage(s: Store, tenant: string): Promise<TenantUsage> {
  const k = s.keys;
  const pipe = s.redis.pipeline();
  pipe.hmget(k.tenantUsage(tenant), 'datasets', 'checkpoints', 'trainingSeconds');
  pipe.zcard(k.tenantDatasets(tenant));
  for (const status of JOB_STATUSES) pipe.zcard(k.tenantJobsByStatus(tenant, status));
  const rows = (await pipe.exec()) ?? [];
  const [datasets, checkpoints, seconds] = (rows[0]?.[1] ?? []) as (string | null)[];
  const d = Number(datasets ?? 0);
  const c = Number(checkpoints ?? 0);
  const jobs = Object.fromEntries(JOB_STATUSES.map((st, i) => [st, Number(rows[i + 2]?.[1] ?? 0)])) as Record<JobStatus, number>;
  return {
    bytes: { datasets: d, checkpoints: c, total: d + c, limit: s.config.limits.tenantBytes },
    datasets: Number(rows[1]?.[1] ?? 0),
    jobs,
    trainingSeconds: Math.round(Number(seconds ?? 0) * 1000) / 1000,
  };
}
