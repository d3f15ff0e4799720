// Puts an active job back in the queue for another worker (a stopping worker's job), releasing
// the lock held with `token`: after its trainer stopped at a mini-batch, or while it still waited
// for memory when shutdown began.

import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { wakeIdleWorkers } from '../src/queue/bullmq-internals.js';

export async function handBack(queue: Queue, redis: Redis, jobId: string, token: string | undefined): Promise<void> {
  const job = await Job.fromId(queue, jobId);
  if (job === null || job === undefined) return;
  await job.moveToWait(token);
  // BullMQ puts a prioritized job back without waking idle workers (they would notice only at
  // their next poll, ~5 s later).
  await wakeIdleWorkers(queue, redis);
}
