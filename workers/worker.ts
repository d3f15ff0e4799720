// The BullMQ Worker on the train queue: training runs in sandboxed worker threads (compiled JS),
// so this process's event loop stays free to renew job locks. Used by workers/main.ts and by
// the all-in-one server. Also turns BullMQ-side failures (a job that kept killing its worker)
// into the job record's terminal status.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { TRAIN_QUEUE, type TrainJobData } from '../src/queue/queue.js';
import { getJob, isTerminal, transitionJob } from '../src/store/jobs.js';
import { createRedis, createStore } from '../src/store/redis.js';
import { logConnection, outageLogger } from './connection-log.js';
import { LOCK_LOST_REASON } from './fence.js';
import { settlesWithin } from '../src/settles-within.js';
import { startRetentionSweeper } from './retention-sweeper.js';

/** The abort reason running jobs see on shutdown: stop at the next mini-batch and hand back. */
export const SHUTDOWN_REASON = 'worker shutting down';

/** After the grace period, how long each closing step may wait on Redis before we hang up. */
const CLOSE_STEP_MS = 300;

export interface TrainWorker {
  worker: Worker<TrainJobData>;
  /** Graceful stop: running jobs stop at the next mini-batch and go back to the queue. */
  close(): Promise<void>;
}

/**
 * The compiled processor next to this file; when this file runs from source (tests, tsx), the
 * build's copy: worker threads cannot load TypeScript.
 */
export function processorPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'processor.js');
  const built = path.resolve(path.dirname(here), '../dist/workers/processor.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (worker threads need compiled JS)`);
  return built;
}

export function startTrainWorker(config: Config, logger: Logger): TrainWorker {
  const connection = createRedis(config, { name: `worker-${process.pid}`, maxRetriesPerRequest: null });
  const store = createStore(config, createRedis(config, { name: `worker-store-${process.pid}`, maxRetriesPerRequest: null }));
  logConnection(connection, logger, 'worker');
  logConnection(store.redis, logger, 'worker-store');
  const worker = new Worker<TrainJobData>(TRAIN_QUEUE, processorPath(), {
    connection,
    prefix: config.keyPrefix,
    concurrency: config.workerConcurrency,
    useWorkerThreads: true,
    // A job whose worker died is restarted this many times, then fails ("stalled more than allowable limit").
    maxStalledCount: config.maxRestarts,
    // How long a dead worker's job waits to be requeued: lock expiry, then the next stalled check.
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
  });

  worker.on('active', (job) => logger.info({ jobId: job.id, attempt: job.attemptsStarted }, 'job taken'));
  // Lock renewal failed (Redis was away longer than the lock): the job may already be another
  // worker's, so stop training it here at the next mini-batch without touching its record.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const jobId of jobIds) {
      logger.warn({ jobId }, 'lost the job lock; stopping this copy of the job');
      worker.cancelJob(jobId, LOCK_LOST_REASON);
    }
  });
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled (its worker died): back to the queue'));
  worker.on('failed', (job, err) => {
    if (job) void reconcile(job.data.jobId, err.message);
  });
  worker.on('error', outageLogger(logger, 'worker'));

  // A job failed by the stalled-job check never reaches a processor again, and the check may run
  // in any worker process: listen to the queue's events for final failures too.
  const queue = new Queue(TRAIN_QUEUE, { connection: store.redis, prefix: config.keyPrefix });
  queue.on('error', outageLogger(logger, 'queue'));
  const eventsConnection = createRedis(config, { name: `worker-events-${process.pid}`, maxRetriesPerRequest: null });
  const events = new QueueEvents(TRAIN_QUEUE, { connection: eventsConnection, prefix: config.keyPrefix });
  events.on('failed', ({ jobId, failedReason }) => void reconcile(jobId, failedReason));
  logConnection(eventsConnection, logger, 'queue-events');
  events.on('error', outageLogger(logger, 'queue events'));

  /**
   * Brings the job record in line with BullMQ after a failure the processor may not have recorded
   * itself (its thread crashed, or its worker died too often): failed for good, or queued for a retry.
   */
  async function reconcile(jobId: string, failedReason: string): Promise<void> {
    try {
      const record = await getJob(store, jobId);
      if (record === null || isTerminal(record.status)) return;
      const state = await queue.getJobState(jobId);
      if (state === 'failed') {
        const stalled = /stalled more than allowable limit/.test(failedReason);
        const why = stalled ? `its worker died ${config.maxRestarts + 1} times (MAX_RESTARTS=${config.maxRestarts})` : failedReason;
        const res = await transitionJob(store, jobId, 'failed', { reason: `error: ${why}`, error: why });
        if (res.ok) logger.error({ jobId, attempt: record.attempt, reason: why }, 'job failed');
      } else if (state === 'delayed' || state === 'waiting' || state === 'prioritized') {
        const res = await transitionJob(store, jobId, 'queued', { reason: `retrying after error: ${failedReason}`, from: ['running'] });
        if (res.ok) logger.warn({ jobId, attempt: record.attempt, reason: failedReason }, 'job will be retried');
      }
    } catch (err) {
      logger.error({ err, jobId }, 'could not record a job failure');
    }
  }

  const stopSweeper = startRetentionSweeper(store, logger);

  let closing: Promise<void> | null = null;
  return {
    worker,
    close() {
      closing ??= (async () => {
        stopSweeper();
        const closed = worker.close();
        worker.cancelAllJobs(SHUTDOWN_REASON);
        // A fetch in flight when close() began can still start a job: keep asking until closed.
        const recancel = setInterval(() => worker.cancelAllJobs(SHUTDOWN_REASON), 100);
        const stopRecancel = () => clearInterval(recancel);
        closed.then(stopRecancel, stopRecancel);
        if (!(await settlesWithin(closed, config.shutdownGraceMs))) {
          // Redis is away or a job is slow to stop: exit anyway. Nothing acknowledged is lost (the
          // resume state is on disk before an epoch is recorded); the job's lock expires and the
          // stalled-job check requeues it, which resumes it from that state.
          stopRecancel();
          logger.warn({ graceMs: config.shutdownGraceMs }, 'jobs did not hand back in time; stopping anyway (they resume after the stalled-job check)');
          await settlesWithin(worker.close(true), CLOSE_STEP_MS);
        }
        await settlesWithin(events.close(), CLOSE_STEP_MS);
        await settlesWithin(queue.close(), CLOSE_STEP_MS);
        if (store.redis.status === 'ready') await settlesWithin(store.redis.quit(), CLOSE_STEP_MS);
        // Whatever is still waiting on an unreachable Redis: hang up rather than wait for it.
        for (const redis of [connection, eventsConnection, store.redis]) redis.disconnect();
      })();
      return closing;
    },
  };
}
