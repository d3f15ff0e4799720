// The sandboxed BullMQ processor (runs in a worker thread, loaded from compiled JS): thin glue
// from one queue job to core.train. Loads the job record, spec and data, resumes from the latest
// resume state, trains with hooks that write to the store, and ends the job with a status and a
// reason. Three ways out besides finishing: the user cancels (cancelled), the worker shuts down
// (resume state stays, job handed back to the queue), or the input is bad (failed, no retry).

import { Job, Queue, UnrecoverableError, WaitingError, type SandboxedJob } from 'bullmq';
import { CoreError, train } from '../src/core/index.js';
import type { TrainJobData } from '../src/queue/queue.js';
import { TRAIN_QUEUE } from '../src/queue/queue.js';
import { deleteResumeState, readResumeState } from '../src/store/checkpoints.js';
import { getJob, isTerminal, setBestMetrics, setJobFields, transitionJob } from '../src/store/jobs.js';
import { trainingKernels } from './backend.js';
import { threadContext, type ThreadContext } from './context.js';
import { createJobHooks } from './hooks.js';
import { JobInputError, loadJobInputs } from './inputs.js';
import { terminalFor } from './stop-reasons.js';

export interface ProcessorResult {
  status: string;
  reason: string | null;
}

export default async function processTrainJob(
  job: SandboxedJob<TrainJobData>,
  token?: string,
  signal?: AbortSignal,
): Promise<ProcessorResult> {
  const ctx = await threadContext();
  const { store, logger } = ctx;
  const jobId = job.data.jobId;
  // BullMQ counts every start, including restarts after a crash and hand-backs after a shutdown.
  const attempt = Math.max(1, job.attemptsStarted);
  const log = logger.child({ jobId, attempt });

  const record = await getJob(store, jobId);
  if (record === null) throw new UnrecoverableError(`job record ${jobId} is gone (expired or deleted)`);
  if (isTerminal(record.status)) {
    log.info({ status: record.status }, 'job already finished; skipping');
    return { status: record.status, reason: record.reason };
  }

  const watch = await ctx.cancels.watch(jobId);
  try {
    if (watch.cancelled) return await finish(ctx, jobId, attempt, 'cancelled', 'cancelled_by_user');
    const resume = await readResumeState(store, jobId);
    const restarted = record.status === 'running' || record.attempt > 0;
    const reason = restarted ? (resume ? 'resumed from resume state' : 'restarted from epoch 0') : undefined;
    await transitionJob(store, jobId, 'running', { attempt, reason });
    log.info({ resume: resume !== null, reason }, 'job running');

    let inputs;
    try {
      inputs = await loadJobInputs(store, record);
    } catch (err) {
      if (err instanceof JobInputError) {
        await finish(ctx, jobId, attempt, 'failed', `error: ${err.message}`, err.message);
        throw new UnrecoverableError(`${err.path}: ${err.message}`);
      }
      throw err;
    }

    const hooks = createJobHooks(ctx, jobId, attempt, inputs.config.epochs);
    const shouldStop = () => watch.cancelled || signal?.aborted === true || hooks.recordGone;
    let result;
    try {
      result = await train(inputs.config, { train: inputs.train, validation: inputs.validation }, { ...hooks, shouldStop }, {
        resume,
        kernels: trainingKernels(),
        metadata: { job_id: jobId },
      });
    } catch (err: unknown) {
      if (err instanceof CoreError) {
        const message = `${err.path}: ${err.message}`;
        await finish(ctx, jobId, attempt, 'failed', `error: ${message}`, message);
        throw new UnrecoverableError(message);
      }
      throw err;
    }
    await setJobFields(store, jobId, { backend: result.backend });
    if (result.best) await setBestMetrics(store, jobId, { ...result.best, attempt });

    if (result.reason === 'cancelled') {
      if (watch.cancelled) return await finish(ctx, jobId, attempt, 'cancelled', 'cancelled_by_user');
      if (hooks.recordGone) return { status: 'gone', reason: null };
      // The worker is shutting down: the resume state of the last finished epoch stays, and the
      // job goes back to the front of the queue for another worker.
      await transitionJob(store, jobId, 'queued', { attempt, reason: 'handed back: worker shutting down' });
      await handBack(ctx, jobId, token);
      log.info({ epoch: result.epochs }, 'job handed back');
      throw new WaitingError();
    }
    const { status, reason: why } = terminalFor(result.reason);
    log.info({ status, reason: why, epochs: result.epochs, bestEpoch: result.bestEpoch }, 'job finished');
    return await finish(ctx, jobId, attempt, status, why);
  } catch (err) {
    if (err instanceof UnrecoverableError || err instanceof WaitingError) throw err;
    await noteFailedAttempt(ctx, job, attempt, err as Error);
    throw err;
  } finally {
    watch.stop();
  }
}

async function finish(
  ctx: ThreadContext,
  jobId: string,
  attempt: number,
  status: 'completed' | 'failed' | 'cancelled',
  reason: string,
  error?: string,
): Promise<ProcessorResult> {
  await transitionJob(ctx.store, jobId, status, { attempt, reason, ...(error !== undefined ? { error } : {}) });
  // The resume state is only for restarts; checkpoints stay until retention removes the job.
  await deleteResumeState(ctx.store, jobId);
  return { status, reason };
}

/** An unexpected error (Redis gone for good, disk full…): BullMQ retries while attempts remain. */
async function noteFailedAttempt(ctx: ThreadContext, job: SandboxedJob<TrainJobData>, attempt: number, err: Error): Promise<void> {
  const jobId = job.data.jobId;
  const attempts = job.opts.attempts ?? 1;
  const last = job.attemptsMade + 1 >= attempts;
  ctx.logger.error({ jobId, attempt, err, last }, 'job attempt failed');
  try {
    if (last) await finish(ctx, jobId, attempt, 'failed', `error: ${err.message}`, err.message);
    else await transitionJob(ctx.store, jobId, 'queued', { attempt, reason: `retrying after error: ${err.message}` });
  } catch {
    // The store is unreachable: the worker's failed-event handler records the outcome later.
  }
}

let queue: Queue | null = null;

/** Moves the job from active back to waiting, releasing this worker's lock (BullMQ moveToWait). */
async function handBack(ctx: ThreadContext, jobId: string, token: string | undefined): Promise<void> {
  queue ??= new Queue(TRAIN_QUEUE, { connection: ctx.store.redis, prefix: ctx.config.keyPrefix });
  const job = await Job.fromId(queue, jobId);
  if (job) await job.moveToWait(token);
}
