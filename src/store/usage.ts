// Per-tenant usage: stored bytes (datasets and checkpoints) checked against MAX_TENANT_BYTES, and
// training seconds. Every byte count changes in the same Lua step as the index entry it accounts
// for, so concurrent uploads, checkpoints and deletions can neither overshoot the quota nor
// count a file twice or not at all.
import { JOB_STATUSES, type JobStatus } from './job-record.js';
import type { Store } from './redis.js';
import { runScript } from './script.js';

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

// The tenant's stored bytes, as a Lua expression over the usage hash KEYS[n].
const USED = (n: number) =>
  `(tonumber(redis.call('HGET', KEYS[${n}], 'datasets') or '0') + tonumber(redis.call('HGET', KEYS[${n}], 'checkpoints') or '0'))`;

/**
 * KEYS: dataset hash, tenant's dataset index, usage. ARGV: limit, size, id, then the metadata's
 * field/value pairs. Returns {'ok'|'quota', bytes used before}.
 */
const ADD_DATASET = `
local used = ${USED(3)}
local size = tonumber(ARGV[2])
if used + size > tonumber(ARGV[1]) then return {'quota', tostring(used)} end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], 0, ARGV[3])
redis.call('HINCRBY', KEYS[3], 'datasets', size)
return {'ok', tostring(used)}
`;

/**
 * KEYS: dataset hash, tenant's dataset index, usage. ARGV: id, tenant, and optionally an expiry
 * cutoff (ISO time) with the job-key prefix and the tenant's queued and running index keys: then the
 * dataset goes only if last used before the cutoff and no queued or running job's spec names it.
 * Returns the bytes freed, or -1 (no such dataset for the tenant), -2 (not expired), -3 (in use).
 */
const REMOVE_DATASET = `
local h = redis.call('HMGET', KEYS[1], 'tenant', 'size', 'createdAt', 'lastUsedAt')
if h[1] ~= ARGV[2] then return -1 end
if ARGV[3] then
  local last = h[3] or ''
  if h[4] and h[4] > last then last = h[4] end
  if last >= ARGV[3] then return -2 end
  local quoted = '"' .. ARGV[1] .. '"'
  for i = 5, 6 do
    for _, id in ipairs(redis.call('ZRANGE', ARGV[i], 0, -1)) do
      local spec = redis.call('HGET', ARGV[4] .. id, 'spec')
      if spec and string.find(spec, quoted, 1, true) then return -3 end
    end
  end
end
local size = tonumber(h[2] or '0') or 0
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if size ~= 0 then redis.call('HINCRBY', KEYS[3], 'datasets', -size) end
return size
`;

/**
 * KEYS: checkpoint index, usage, checkpoint-bytes. ARGV: field, meta JSON (with size), size, jobId,
 * limit, then the fields of checkpoints about to be deleted (not counted against the limit). A
 * re-written epoch (a restarted attempt) is charged only its difference.
 * Returns {'ok'|'quota', bytes used before}.
 */
const ADD_CHECKPOINT = `
local function sizeOf(field)
  local m = redis.call('HGET', KEYS[1], field)
  if not m then return 0 end
  return tonumber(cjson.decode(m).size) or 0
end
local delta = tonumber(ARGV[3]) - sizeOf(ARGV[1])
local used = ${USED(2)}
local freeing = 0
for i = 6, #ARGV do freeing = freeing + sizeOf(ARGV[i]) end
if delta > 0 and used - freeing + delta > tonumber(ARGV[5]) then return {'quota', tostring(used - freeing)} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if delta ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'checkpoints', delta)
  redis.call('HINCRBY', KEYS[3], ARGV[4], delta)
end
return {'ok', tostring(used)}
`;

/** KEYS: checkpoint index, usage, checkpoint-bytes. ARGV: field, jobId. Returns the bytes freed. */
const REMOVE_CHECKPOINT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local size = tonumber(cjson.decode(old).size) or 0
if size ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'checkpoints', -size)
  if redis.call('HINCRBY', KEYS[3], ARGV[2], -size) <= 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
end
return size
`;

/**
 * KEYS: job hash, usage, checkpoint-bytes. ARGV: jobId. Gives back the checkpoint bytes of a job
 * whose record has expired. Returns the bytes freed, or -1 while the record exists.
 */
const RELEASE_EXPIRED_JOB = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local b = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0') or 0
redis.call('HDEL', KEYS[3], ARGV[1])
if b ~= 0 then redis.call('HINCRBY', KEYS[2], 'checkpoints', -b) end
return b
`;

/** Stores a dataset's metadata and index entry and charges its bytes, or throws QuotaExceededError. */
export async function addDatasetRecord(s: Store, tenant: string, id: string, size: number, meta: string[]): Promise<void> {
  const k = s.keys;
  const limit = s.config.limits.tenantBytes;
  const res = (await runScript(s.redis, ADD_DATASET, 3, k.dataset(id), k.tenantDatasets(tenant), k.tenantUsage(tenant), String(limit), String(size), id, ...meta)) as [string, string];
  if (res[0] === 'quota') throw new QuotaExceededError(Number(res[1]), size, limit, 'this dataset');
}

/** Removes a dataset's metadata and index entry and frees its bytes; null when the tenant has no such dataset. */
export async function removeDatasetRecord(s: Store, tenant: string, id: string): Promise<number | null> {
  const k = s.keys;
  const res = Number(await runScript(s.redis, REMOVE_DATASET, 3, k.dataset(id), k.tenantDatasets(tenant), k.tenantUsage(tenant), id, tenant));
  return res < 0 ? null : res;
}

export type ExpireResult = { removed: true; bytes: number } | { removed: false; why: 'missing' | 'fresh' | 'in_use' };

/** Removes the dataset if it was last used before `cutoff` and no queued or running job uses it. */
export async function expireDatasetRecord(s: Store, tenant: string, id: string, cutoff: Date): Promise<ExpireResult> {
  const k = s.keys;
  const res = Number(
    await runScript(
      s.redis,
      REMOVE_DATASET,
      3,
      k.dataset(id),
      k.tenantDatasets(tenant),
      k.tenantUsage(tenant),
      id,
      tenant,
      cutoff.toISOString(),
      `${k.prefix}:job:`,
      k.tenantJobsByStatus(tenant, 'queued'),
      k.tenantJobsByStatus(tenant, 'running'),
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
  const res = (await runScript(s.redis, ADD_CHECKPOINT, 3, ...keys, field, meta, String(size), jobId, String(limit), ...freeingFields)) as [string, string];
  if (res[0] === 'quota') throw new QuotaExceededError(Number(res[1]), size, limit, `the checkpoint of job ${jobId}`);
}

/** Un-indexes one checkpoint and frees its bytes. */
export async function removeCheckpointRecord(s: Store, tenant: string, jobId: string, field: string): Promise<number> {
  const k = s.keys;
  return Number(await runScript(s.redis, REMOVE_CHECKPOINT, 3, k.checkpoints(jobId), k.tenantUsage(tenant), k.tenantCheckpointBytes(tenant), field, jobId));
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
      jobIds.map(async (jobId) => Number(await runScript(s.redis, RELEASE_EXPIRED_JOB, 3, k.job(jobId), k.tenantUsage(tenant), k.tenantCheckpointBytes(tenant), jobId))),
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
