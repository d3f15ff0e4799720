// Everything traind does with BullMQ's private Redis layout, in one place. BullMQ has no public
// call for either: a job's rank among waiting jobs (an O(n) page through getWaiting() is the only
// public way), and waking idle workers after Job.moveToWait on a prioritized job (its script
// re-adds the job without the marker that its own enqueue path adds, so idle workers notice only
// at their next drainDelay poll). The layout is BullMQ's, not ours: package.json pins BullMQ
// exactly, and test/queue/bullmq-internals.test.ts checks both against a real Worker, so an
// upgrade that changes the layout fails that test instead of silently breaking these.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * 0-based position among jobs waiting to start, in the order BullMQ's workers take them (the
 * unprioritized 'wait' list first, then the 'prioritized' sorted set by score), or null when
 * BullMQ no longer holds the job as waiting. `client` is any connection to the queue's Redis.
 */
export async function waitingPosition(queue: Pick<Queue, 'toKey'>, client: Redis, jobId: string): Promise<number | null> {
  const [rank, waiting] = await Promise.all([client.zrank(queue.toKey('prioritized'), jobId), client.llen(queue.toKey('wait'))]);
  if (rank !== null) return waiting + rank;
  const listPos = await client.lpos(queue.toKey('wait'), jobId);
  // BullMQ pushes new jobs on the left and takes from the right.
  return listPos === null ? null : waiting - 1 - listPos;
}

/** Wakes workers blocked waiting for work (the marker BullMQ's enqueue adds), unless the queue is paused. */
export async function wakeIdleWorkers(queue: Pick<Queue, 'toKey' | 'isPaused'>, client: Redis): Promise<void> {
  if (!(await queue.isPaused())) await client.zadd(queue.toKey('marker'), 0, '0');
}
