// Pruning the per-tenant job indexes: Redis expires a finished job's record after
// RETENTION_SECONDS, but not its id in the tenant's sorted sets. The sweeper drops those ids on its
// own schedule, so the indexes (and the job counts of GET /v1/usage) stay the size of what exists.
import { JOB_STATUSES } from './job-record.js';
import type { Store } from './redis.js';

const BATCH = 500;

/**
 * The tenants that have a key ending in each of `suffixes` (e.g. 'jobs', 'datasets'), found with
 * one SCAN over the tenant keys.
 */
export async function tenantsWith<S extends string>(s: Store, suffixes: readonly S[]): Promise<Record<S, string[]>> {
  const head = `${s.keys.prefix}:tenant:`;
  const found = new Map<S, Set<string>>(suffixes.map((x) => [x, new Set<string>()]));
  let cursor = '0';
  do {
    const [next, keys] = await s.redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      // Tenant names have no ':', so `<head><tenant>:<suffix>` is exactly one tenant's key.
      const rest = key.slice(head.length);
      const colon = rest.indexOf(':');
      if (colon <= 0) continue;
      found.get(rest.slice(colon + 1) as S)?.add(rest.slice(0, colon));
    }
  } while (cursor !== '0');
  return Object.fromEntries([...found].map(([x, set]) => [x, [...set]])) as Record<S, string[]>;
}

async function pruneIndex(s: Store, index: string): Promise<string[]> {
  const pruned: string[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await s.redis.zscan(index, cursor, 'COUNT', BATCH);
    cursor = next;
    const ids = flat.filter((_, i) => i % 2 === 0);
    if (ids.length === 0) continue;
    const pipe = s.redis.pipeline();
    for (const id of ids) pipe.exists(s.keys.job(id));
    const rows = (await pipe.exec()) ?? [];
    // A job id is never reused, so an id whose record is gone can go without a race.
    const stale = ids.filter((_, i) => rows[i]?.[0] === null && rows[i]?.[1] === 0);
    if (stale.length > 0) {
      await s.redis.zrem(index, ...stale);
      pruned.push(...stale);
    }
  } while (cursor !== '0');
  return pruned;
}

/** Drops the ids of expired jobs from the tenant's job index and status indexes; returns the distinct ids dropped. */
export async function pruneJobIndex(s: Store, tenant: string): Promise<string[]> {
  const pruned = new Set<string>();
  for (const index of [s.keys.tenantJobs(tenant), ...JOB_STATUSES.map((st) => s.keys.tenantJobsByStatus(tenant, st))]) {
    for (const id of await pruneIndex(s, index)) pruned.add(id);
  }
  return [...pruned];
}
