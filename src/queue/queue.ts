// The BullMQ training queue: its name, job options (attempts, backoff, retention, priority) and
// the queue position of a waiting job. BullMQ shares the configured key prefix.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';

export const TRAIN_QUEUE = 'train';

/** What a BullMQ job carries: the rest lives in the job record (src/store/jobs.ts). */
export interface TrainJobData {
  jobId: string;
  tenant: string;
}

export type TrainQueue = Queue<TrainJobData, void, 'train'>;

/**
 * BullMQ runs jobs without a priority before all prioritized ones and lower numbers first, so
 * every job gets one: API priority p maps to 101 − p (1 = most urgent). FIFO within a priority.
 */
export function bullPriority(priority: number): number {
  return 101 - Math.min(100, Math.max(0, Math.round(priority)));
}

export function createTrainQueue(config: Config, connection: Redis): TrainQueue {
  const queue = new Queue<TrainJobData, void, 'train'>(TRAIN_QUEUE, {
    connection,
    prefix: config.keyPrefix,
    defaultJobOptions: trainJobOptions(config),
  });
  // Connection errors also reject the commands that hit them (and become 503s); an 'error' event
  // without a listener would instead crash the process during a Redis restart.
  queue.on('error', () => undefined);
  return queue;
}

/** `priority` is the API's 0–100 (higher runs sooner, see src/spec/to-train-config.ts resolveSpec). */
export function trainJobOptions(config: Config, priority?: number, jobId?: string): JobsOptions {
  const keep = { age: Math.max(1, config.retentionSeconds || 86400), count: 10_000 };
  const opts: JobsOptions = {
    attempts: config.maxAttempts,
    backoff: { type: 'exponential', delay: config.backoffMs },
    removeOnComplete: keep,
    removeOnFail: keep,
  };
  if (priority !== undefined) opts.priority = bullPriority(priority);
  if (jobId !== undefined) opts.jobId = jobId;
  return opts;
}

/** Enqueues a job record's id; the BullMQ job id is the traind job id. */
export async function enqueueTrainJob(queue: TrainQueue, config: Config, data: TrainJobData, priority: number): Promise<void> {
  await queue.add('train', data, trainJobOptions(config, priority, data.jobId));
}

/**
 * 0-based position among jobs waiting to start (unprioritized 'wait' list first, then the
 * 'prioritized' set in score order), or null when BullMQ no longer holds it as waiting.
 * `client` is any connection to the queue's Redis.
 */
export async function queuePosition(queue: TrainQueue, client: Redis, jobId: string): Promise<number | null> {
  const [rank, waiting] = await Promise.all([
    client.zrank(queue.toKey('prioritized'), jobId),
    client.llen(queue.toKey('wait')),
  ]);
  if (rank !== null) return waiting + rank;
  const listPos = await client.lpos(queue.toKey('wait'), jobId);
  // BullMQ pushes new jobs on the left and takes from the right.
  return listPos === null ? null : waiting - 1 - listPos;
}

/** Removes a waiting job from the queue (used when a queued job is cancelled). False if it is locked/running or gone. */
export async function removeQueuedJob(queue: TrainQueue, jobId: string): Promise<boolean> {
  try {
    return (await queue.remove(jobId)) === 1;
  } catch {
    return false;
  }
}
