// Fencing for a trainer that lost its job: after a long Redis outage or a paused process, BullMQ
// may have given the job to another worker (a later attempt). The older trainer must then stop
// writing, or two attempts would interleave in the job's stream.

import type { Store } from '../src/store/redis.js';

/** The abort reason the worker gives a job whose lock it could not renew. */
export const LOCK_LOST_REASON = 'job lock lost';

/** True when a later attempt has taken the job over. */
export async function superseded(store: Store, jobId: string, attempt: number): Promise<boolean> {
  const current = Number((await store.redis.hget(store.keys.job(jobId), 'attempt')) ?? 0);
  return current > attempt;
}
