// The BullMQ queue `evaluations`: one job per evaluation (BullMQ id = the evaluation id), consumed
// by the worker processes (workers/evaluation-worker.ts). The record and result live in the store
// (src/store/evaluations.ts); BullMQ's copy is kept only briefly.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';

export const EVALUATION_QUEUE = 'evaluations';

export interface EvaluationJobData {
  evaluationId: string;
}

export type EvaluationQueue = Queue<EvaluationJobData, string, string>;

export function createEvaluationQueue(config: Config, connection: Redis): EvaluationQueue {
  const queue = new Queue<EvaluationJobData, string, string>(EVALUATION_QUEUE, { connection, prefix: config.keyPrefix });
  // Connection errors reject the commands that hit them; an unheard 'error' event would crash.
  queue.on('error', () => undefined);
  return queue;
}

export function evaluationJobOptions(config: Config, evaluationId: string): JobsOptions {
  const keep = { age: config.evaluations.ttlSeconds, count: 10_000 };
  return {
    jobId: evaluationId,
    // A second attempt only for errors of ours (Redis, the disk); the evaluation's own failures
    // (a bad dataset) are final and recorded by the processor.
    attempts: 2,
    backoff: { type: 'fixed', delay: config.backoffMs },
    removeOnComplete: keep,
    removeOnFail: keep,
  };
}

export async function enqueueEvaluation(queue: EvaluationQueue, config: Config, evaluationId: string): Promise<void> {
  await queue.add('evaluate', { evaluationId }, evaluationJobOptions(config, evaluationId));
}
