// The BullMQ training queue: its name and job options (attempts, backoff, retention, priority).
// BullMQ shares the configured key prefix. What needs BullMQ's private keys is in bullmq-internals.ts.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';

export const TRAIN_QUEUE = 'train';

/** What a BullMQ job carries: the rest lives in the job record (src/store/jobs.ts). */
export interface TrainJobData {
  jobId: string;
  tenant: string;
  /** The job's estimated peak memory (its record's memoryEstimate.bytes), so workers can admit by it
   *  without reading the record; absent on jobs enqueued before estimates. */
  memoryBytes?: number;
  /** Set on a sweep's trials: the worker drives the sweep on when the trial ends. */
  sweep?: string;
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

/** Removes a waiting job from the queue (used when a queued job is cancelled). False if it is locked/running or gone. */
export async function removeQueuedJob(queue: TrainQueue, jobId: string): Promise<boolean> {
  try {
    return (await queue.remove(jobId)) === 1;
  } catch {
    return false;
  }
}
