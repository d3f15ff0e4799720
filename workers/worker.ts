// The BullMQ Worker on the train queue. Each job trains in a trainer process of its own
// (workers/trainer-process.ts), so this process's event loop stays free to renew job locks and a
// trainer that runs out of memory or crashes fails its own job at once, charging no other job.
// Jobs start only within the worker's memory budget (workers/admission.ts). Used by
// workers/main.ts and by the all-in-one server. Also turns BullMQ-side failures (a job that kept
// killing its worker) into the job record's terminal status.

import { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { watchQueue } from '../src/metrics/queue-metrics.js';
import { countEpoch, countFinishedJob } from '../src/metrics/training-metrics.js';
import { TRAIN_QUEUE, type TrainJobData, type TrainQueue } from '../src/queue/queue.js';
import { settlesWithin } from '../src/settles-within.js';
import { deleteResumeState } from '../src/store/checkpoints.js';
import { getJob, isTerminal, transitionJob } from '../src/store/jobs.js';
import { createRedis, createStore } from '../src/store/redis.js';
import { createSweepDriver } from '../src/sweep/driver.js';
import { createMemoryAdmission, jobMemoryBytes, JobTooBigError, type MemoryAdmission } from './admission.js';
import { createCoreShares } from './core-shares.js';
import { logConnection, outageLogger } from './connection-log.js';
import { LOCK_LOST_REASON, superseded } from './fence.js';
import { handBack } from './hand-back.js';
import type { ProcessorResult } from './processor.js';
import { startRetentionSweeper } from './retention-sweeper.js';
import { createSpareTrainers } from './spare-trainer.js';
import { heapCapMiB, runTrainer, type TrainerOutcome } from './trainer-process.js';

/** The abort reason running jobs see on shutdown: stop at the next mini-batch and hand back. */
export const SHUTDOWN_REASON = 'worker shutting down';

/** After the grace period, how long each closing step may wait on Redis before we hang up. */
const CLOSE_STEP_MS = 300;

export interface TrainWorker {
  worker: Worker<TrainJobData>;
  /** Graceful stop: running jobs stop at the next mini-batch and go back to the queue. */
  close(): Promise<void>;
  /** Ends a spare trainer holding preloaded datasets' memory when `bytes` do not fit beside it (for evaluations). */
  makeRoom(bytes: number): void;
}

/** `admission` is the process's memory budget, shared with its evaluations (workers/main.ts). */
export function startTrainWorker(config: Config, logger: Logger, admission: MemoryAdmission = createMemoryAdmission(config.workerMemoryBytes)): TrainWorker {
  const connection = createRedis(config, { name: `worker-${process.pid}`, maxRetriesPerRequest: null });
  const store = createStore(config, createRedis(config, { name: `worker-store-${process.pid}`, maxRetriesPerRequest: null }));
  logConnection(connection, logger, 'worker');
  logConnection(store.redis, logger, 'worker-store');
  const queue: TrainQueue = new Queue<TrainJobData, void, 'train'>(TRAIN_QUEUE, { connection: store.redis, prefix: config.keyPrefix });
  queue.on('error', outageLogger(logger, 'queue'));
  // Hyperparameter sweeps: driven on when one of their trials ends here, and on a tick for all.
  const sweeps = createSweepDriver({ store, queue, logger });
  const driveSweepOf = (data: TrainJobData) => {
    if (data.sweep !== undefined) void sweeps.drive(data.sweep).catch((err: unknown) => logger.warn({ err, sweepId: data.sweep }, 'could not drive sweep'));
  };
  const cores = createCoreShares(availableParallelism(), config.trainThreads);
  const spares = config.spareTrainer ? createSpareTrainers(admission, config.datasetCacheBytes, logger) : null;

  async function processJob(job: Job<TrainJobData>, token?: string, signal?: AbortSignal): Promise<ProcessorResult> {
    const jobId = job.data.jobId;
    const bytes = jobMemoryBytes(job.data);
    let release: () => void;
    try {
      // A spare's preloaded datasets give way to a job that needs their room.
      if (!admission.fits(bytes) && spares?.evict() === true) logger.info({ jobId, memoryBytes: bytes }, 'spare trainer ended to free its preloaded datasets\' memory');
      const waits = admission.waiting > 0 || admission.inUse + bytes > config.workerMemoryBytes;
      if (waits) logger.info({ jobId, memoryBytes: bytes, inUse: admission.inUse, waiting: admission.waiting }, 'job waits for memory');
      release = await admission.admit(bytes, signal);
      if (waits) logger.info({ jobId, memoryBytes: bytes, inUse: admission.inUse }, 'job admitted');
    } catch (err) {
      if (err instanceof JobTooBigError) {
        await transitionJob(store, jobId, 'failed', { reason: `error: ${err.message}`, error: err.message });
        logger.warn({ jobId, memoryBytes: bytes }, 'job larger than the worker\'s memory budget: failed');
        throw new UnrecoverableError(err.message);
      }
      // Stopped while waiting, before training began: a shutdown hands it back; a lost lock means
      // it is someone else's already.
      if (signal?.reason === SHUTDOWN_REASON) await handBack(queue, store.redis, jobId, token);
      throw new WaitingError();
    }
    const share = cores.take();
    const cap = heapCapMiB(job.data.memoryBytes);
    try {
      const trainerJob = { data: job.data, attemptsStarted: job.attemptsStarted, attemptsMade: job.attemptsMade, opts: { attempts: job.opts.attempts }, threads: share.threads };
      const spare = (await spares?.take(cap)) ?? null;
      const outcome = await runTrainer({ job: trainerJob, signal, logger, onEpoch: countEpoch, onLoaded: (ids) => spares?.used(ids) }, spare);
      return await settle(job, token, outcome, signal);
    } finally {
      share.release();
      release();
      // Ready for the next job of about this size, unless the worker is stopping.
      if (signal?.reason !== SHUTDOWN_REASON) spares?.replenish(cap);
      driveSweepOf(job.data);
    }
  }

  /** The trainer's outcome as BullMQ expects it; a trainer that died fails its job, and only it. */
  async function settle(job: Job<TrainJobData>, token: string | undefined, outcome: TrainerOutcome, signal: AbortSignal | undefined): Promise<ProcessorResult> {
    if (outcome.kind === 'done') return outcome.result;
    if (outcome.kind === 'error') {
      if (outcome.name === 'HandBackError') {
        // Stopped for our shutdown, resume state written: back to the queue for another worker.
        await handBack(queue, store.redis, job.data.jobId, token);
        throw new WaitingError();
      }
      if (outcome.name === 'UnrecoverableError') throw new UnrecoverableError(outcome.message);
      if (outcome.name === 'WaitingError') throw new WaitingError(outcome.message);
      throw new Error(outcome.message);
    }
    const jobId = job.data.jobId;
    const attempt = Math.max(1, job.attemptsStarted);
    if (signal?.reason === LOCK_LOST_REASON || (await superseded(store, jobId, attempt))) {
      logger.warn({ jobId, attempt, why: outcome.why }, 'trainer of a job taken over elsewhere died');
      throw new WaitingError();
    }
    // Not retried: the same job on the same budget would die the same way.
    const res = await transitionJob(store, jobId, 'failed', { attempt, reason: `error: ${outcome.why}`, error: outcome.why });
    if (!res.ok && res.why === 'terminal') {
      // It died after recording its job's end (e.g. between that and reporting it): the end stands.
      logger.warn({ jobId, attempt, status: res.status, why: outcome.why }, 'trainer died after its job ended');
      return { status: res.status ?? 'gone', reason: null };
    }
    await deleteResumeState(store, jobId);
    logger.error({ jobId, attempt, reason: outcome.why }, 'trainer died; its job failed');
    throw new UnrecoverableError(outcome.why);
  }

  const worker = new Worker<TrainJobData>(TRAIN_QUEUE, processJob, {
    connection,
    prefix: config.keyPrefix,
    concurrency: config.workerConcurrency,
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
  // traind_jobs_finished_total: a processor that returns has set the record's terminal status and
  // reason (or found the job finished already, or gone: not counted); a final failure (no retry
  // left, so finishedOn is set) is failed/error whatever its message.
  worker.on('completed', (_job, result: ProcessorResult | undefined) => {
    if (result) countFinishedJob(result.status, result.reason);
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    if (job.finishedOn) countFinishedJob('failed', 'error');
    void reconcile(job.data.jobId, err.message);
  });
  worker.on('error', outageLogger(logger, 'worker'));

  // A job failed by the stalled-job check never reaches a processor again, and the check may run
  // in any worker process: listen to the queue's events for final failures too.
  const eventsConnection = createRedis(config, { name: `worker-events-${process.pid}`, maxRetriesPerRequest: null });
  const events = new QueueEvents(TRAIN_QUEUE, { connection: eventsConnection, prefix: config.keyPrefix });
  events.on('failed', ({ jobId, failedReason }) => void reconcile(jobId, failedReason));
  logConnection(eventsConnection, logger, 'queue-events');
  events.on('error', outageLogger(logger, 'queue events'));

  /**
   * Brings the job record in line with BullMQ after a failure the processor may not have recorded
   * itself (an error it threw, or its worker died too often): failed for good, or queued for a retry.
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
        // The stalled-job check fails a job without any worker's 'failed' event: the one process
        // whose transition won counts it.
        if (res.ok && stalled) countFinishedJob('failed', 'error');
      } else if (state === 'delayed' || state === 'waiting' || state === 'prioritized') {
        const res = await transitionJob(store, jobId, 'queued', { reason: `retrying after error: ${failedReason}`, from: ['running'] });
        if (res.ok) logger.warn({ jobId, attempt: record.attempt, reason: failedReason }, 'job will be retried');
      }
    } catch (err) {
      logger.error({ err, jobId }, 'could not record a job failure');
    }
  }

  const stopSweeper = startRetentionSweeper(store, logger);
  const stopSweepTick = sweeps.start(config.sweepTickMs);
  const unwatchQueue = watchQueue(queue, store.redis);

  let closing: Promise<void> | null = null;
  return {
    worker,
    makeRoom(bytes) {
      if (!admission.fits(bytes) && spares?.evict() === true) logger.info({ memoryBytes: bytes }, 'spare trainer ended to free its preloaded datasets\' memory for an evaluation');
    },
    close() {
      closing ??= (async () => {
        stopSweeper();
        stopSweepTick();
        spares?.close();
        unwatchQueue();
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
