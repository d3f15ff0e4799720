// The training of one queue job, run in its trainer process (workers/trainer-main.ts): thin glue
// from the job to core.train. Loads the job record, spec and data, resumes from the latest
// resume state, trains with hooks that write to the store, and ends the job with a status and a
// reason. Three ways out besides finishing: the user cancels (cancelled), the worker shuts down
// (resume state stays, job handed back to the queue), or the input is bad (failed, no retry).

import type { Logger } from 'pino';
import { CoreError, train, type StepProgress, type TrainResult } from '../src/core/index.js';
import type { TrainJobData } from '../src/queue/queue.js';
import { checkpointIndex, deleteResumeState, readResumeState } from '../src/store/checkpoints.js';
import { CorruptJobRecordError, getJob, isTerminal, setBestMetrics, setJobFields, transitionJob, type JobRecord } from '../src/store/jobs.js';
import { publishProgress } from '../src/store/progress.js';
import { isTrialPruned } from '../src/store/sweeps.js';
import { QuotaExceededError } from '../src/store/usage.js';
import { trainingKernels } from './backend.js';
import { trainerContext, type TrainerContext } from './context.js';
import { LOCK_LOST_REASON, superseded } from './fence.js';
import type { EpochReport } from '../src/metrics/training-metrics.js';
import { createJobHooks } from './hooks.js';
import { JobInputError, loadJobInputs, type JobInputs } from './inputs.js';
import { dropPreloaded } from './preload.js';
import { resumePoint } from './resume-point.js';
import { samplesPerEpoch } from './samples-per-epoch.js';
import { terminalFor } from './stop-reasons.js';
import { startTrainingClock } from './training-clock.js';
import { isAllocationFailure } from '../src/allocation-failure.js';
import { HandBackError, UnrecoverableError, WaitingError } from './trainer-errors.js';

export interface ProcessorResult {
  status: string;
  reason: string | null;
}

/** What the trainer is told about its BullMQ job (the fields of BullMQ's Job it reads). */
export interface TrainerJob {
  data: TrainJobData;
  /** BullMQ's count of starts, restarts and hand-backs included. */
  attemptsStarted: number;
  attemptsMade: number;
  opts: { attempts?: number };
  /** GEMM threads to train on (workers/core-shares.ts); 1 when not given. */
  threads?: number;
}

type Terminal = 'completed' | 'failed' | 'cancelled';

export default async function processTrainJob(
  job: TrainerJob,
  signal?: AbortSignal,
  /** Hears of every epoch trained, for the worker's metrics (workers/trainer-main.ts sends it over IPC). */
  reportEpoch: (report: EpochReport) => void = () => undefined,
  /** Hears which uploaded datasets the job loaded, for the worker's recently-used list. */
  reportLoaded: (datasetIds: string[]) => void = () => undefined,
): Promise<ProcessorResult> {
  const ctx = await trainerContext();
  const { store } = ctx;
  const jobId = job.data.jobId;
  // BullMQ counts every start, including restarts after a crash and hand-backs after a shutdown.
  const attempt = Math.max(1, job.attemptsStarted);
  const log = ctx.logger.child({ jobId, attempt });
  const finish = (status: Terminal, reason: string, error?: string) => finishJob(ctx, log, jobId, attempt, status, reason, error);

  const record = await getJob(store, jobId).catch((err: unknown) => {
    // A damaged record cannot be trained from, and a retry would read the same bytes.
    if (err instanceof CorruptJobRecordError) {
      log.error({ err: err.message }, 'job record corrupt');
      throw new UnrecoverableError(err.message);
    }
    throw err;
  });
  if (record === null) throw new UnrecoverableError(`job record ${jobId} is gone (expired or deleted)`);
  if (isTerminal(record.status)) {
    log.info({ status: record.status }, 'job already finished; skipping');
    return { status: record.status, reason: record.reason };
  }

  const watch = await ctx.cancels.watch(jobId);
  try {
    if (watch.cancelled) return await finish('cancelled', 'cancelled_by_user');
    // A trial its sweep stopped, whose worker died before ending it.
    if (record.sweep !== null && record.trial !== null && (await isTrialPruned(store, record.sweep, record.trial))) return await finish('completed', 'pruned');
    const index = await checkpointIndex(store, jobId);
    const point = resumePoint(await readResumeState(store, jobId), { recordedEpoch: record.latest?.epoch ?? 0, indexed: index.epochs, best: index.best });
    let resume = point.resume;
    if (point.lost !== null) log.warn({ lost: point.lost }, 'Redis lost writes the resume state assumes; training again from epoch 0');
    const restarted = record.status === 'running' || record.attempt > 0;
    const why = restarted
      ? resume
        ? 'resumed from resume state'
        : point.lost !== null
          ? `restarted from epoch 0 (${point.lost})`
          : 'restarted from epoch 0'
      : undefined;
    // From here to the first mini-batch is the job's start-up, logged as `first mini-batch` (startMs).
    const runningAt = performance.now();
    const started = await transitionJob(store, jobId, 'running', { attempt, reason: why });
    if (!started.ok && started.why !== 'same') {
      // Cancelled (or expired) between our read and the transition.
      log.info({ why: started.why }, 'job no longer runnable; skipping');
      return { status: started.status ?? 'gone', reason: null };
    }
    // Visible while it runs, not only at the end: which kernels this host trains with, on how many threads.
    const kernels = trainingKernels(job.threads ?? 1);
    await setJobFields(store, jobId, { backend: kernels.name, threads: kernels.threads });
    log.info({ resume: resume !== null, reason: why }, 'job running');

    let inputs: JobInputs;
    try {
      inputs = await loadJobInputs(store, record);
    } catch (err) {
      if (!(err instanceof JobInputError)) throw err;
      await finish('failed', `error: ${err.message}`, err.message);
      throw new UnrecoverableError(`${err.path}: ${err.message}`);
    }

    const samples = samplesPerEpoch(inputs.train.n, inputs.config.batchSize, inputs.config.dropLast);
    // From epoch 0 on a job that recorded epochs (no usable resume state): those before the last
    // recorded one are replays (a crash loses only a tail of Redis' writes, so theirs are all there).
    const replayBefore = () => (resume === null ? (record.latest?.epoch ?? 0) : 0);
    const hooks = createJobHooks(ctx, record, attempt, inputs.config.epochs, watch.signal, (m) => reportEpoch({ seconds: m.seconds, samples }), replayBefore);
    const loadedAt = performance.now();
    // Datasets a spare loaded for other jobs: this process now holds only this job's data.
    dropPreloaded();
    reportLoaded(uploadedDatasets(record.spec));
    // The core asks before every mini-batch, so its first question is the first mini-batch's start.
    let firstBatch = true;
    const shouldStop = () => {
      if (firstBatch) {
        firstBatch = false;
        log.info({ startMs: Math.round(performance.now() - runningAt), loadMs: Math.round(loadedAt - runningAt), threads: kernels.threads }, 'first mini-batch');
      }
      return watch.cancelled || signal?.aborted === true || hooks.recordGone || hooks.pruned;
    };
    // Within-epoch progress for SSE clients (at most 4 a second): published, never stored.
    const onProgress = (p: StepProgress) => {
      if (!hooks.recordGone) publishProgress(store, jobId, p);
    };
    // What training took, and how much of it the per-epoch hooks (logged as `training ended`).
    const clock = startTrainingClock();
    const epochHooks = { onEpoch: clock.timed(hooks.onEpoch), onBest: clock.timed(hooks.onBest), onLatest: clock.timed(hooks.onLatest) };
    const run = (from: Uint8Array | null) =>
      train(inputs.config, { train: inputs.train, validation: inputs.validation }, { ...epochHooks, shouldStop, onProgress }, {
        resume: from,
        kernels,
        metadata: inputs.checkpointMetadata,
        initial: inputs.initial,
      });

    let result: TrainResult;
    try {
      try {
        result = await run(resume);
      } catch (err) {
        // A resume state this code cannot use (written by another version): start over rather than fail.
        if (!(err instanceof CoreError && err.path === 'resume' && resume !== null)) throw err;
        log.warn({ err: err.message }, 'resume state unusable; restarting from epoch 0');
        await deleteResumeState(store, jobId);
        resume = null;
        result = await run(null);
      }
    } catch (err) {
      if (isAllocationFailure(err)) {
        // Retrying on the same budget would fail the same way.
        const message = `out of memory (${(err as Error).message})`;
        await finish('failed', `error: ${message}`, message);
        throw new UnrecoverableError(message);
      }
      if (err instanceof QuotaExceededError) {
        // Failing is the honest outcome: training on without saving would report a best epoch
        // whose checkpoint does not exist. The checkpoints kept so far stay downloadable.
        await finish('failed', 'error: quota_exceeded', err.message);
        throw new UnrecoverableError(err.message);
      }
      if (!(err instanceof CoreError)) throw err;
      const message = `${err.path}: ${err.message}`;
      await finish('failed', `error: ${message}`, message);
      throw new UnrecoverableError(message);
    }
    log.info({ epochs: result.epochs, steps: result.step, ...clock.read() }, 'training ended');
    if (hooks.takenOver || signal?.reason === LOCK_LOST_REASON || (await superseded(store, jobId, attempt))) {
      // Not ours any more: another attempt owns the record, and BullMQ's job is not ours to move.
      log.warn({ epoch: result.epochs }, 'job taken over elsewhere; this copy stopped');
      throw new WaitingError();
    }
    if (hooks.recordGone) return { status: 'gone', reason: null };
    if (result.reason === 'cancelled') {
      if (watch.seen !== null) {
        // From the cancel reaching this process to training stopped: at most a mini-batch, or an epoch's end.
        log.info({ via: watch.seen.via, stopMs: Math.round(performance.now() - watch.seen.at), epoch: result.epochs }, 'cancel seen; training stopped');
        return await finish('cancelled', 'cancelled_by_user');
      }
      // Stopped early by its sweep (ASHA): a normal end, checkpoints kept.
      if (hooks.pruned) return await finish('completed', 'pruned');
      // The worker is shutting down: the resume state of the last finished epoch stays, and the
      // job goes back to the front of the queue for another worker.
      await transitionJob(store, jobId, 'queued', { attempt, reason: 'handed back: worker shutting down' });
      log.info({ epoch: result.epochs }, 'job handed back');
      throw new HandBackError();
    }
    if (result.best) await setBestMetrics(store, jobId, { ...result.best, attempt });
    const end = terminalFor(result.reason);
    const error = result.reason === 'diverged' ? `training diverged at epoch ${result.epochs + 1}: the loss or weights became NaN or infinite` : undefined;
    return await finish(end.status, end.reason, error);
  } catch (err) {
    if (err instanceof UnrecoverableError || err instanceof WaitingError || err instanceof HandBackError) throw err;
    await noteFailedAttempt(ctx, log, job, attempt, err as Error);
    throw err;
  } finally {
    watch.stop();
  }
}

async function finishJob(
  ctx: TrainerContext,
  log: Logger,
  jobId: string,
  attempt: number,
  status: Terminal,
  reason: string,
  error?: string,
): Promise<ProcessorResult> {
  await transitionJob(ctx.store, jobId, status, { attempt, reason, ...(error !== undefined ? { error } : {}) });
  // The resume state is only for restarts; checkpoints stay until retention removes the job.
  await deleteResumeState(ctx.store, jobId);
  log[status === 'failed' ? 'warn' : 'info']({ status, reason }, `job ${status}`);
  return { status, reason };
}

/** An unexpected error (Redis gone for good, disk full…): BullMQ retries while attempts remain. */
async function noteFailedAttempt(ctx: TrainerContext, log: Logger, job: TrainerJob, attempt: number, err: Error): Promise<void> {
  const jobId = job.data.jobId;
  const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  log.error({ err, last }, 'job attempt failed');
  try {
    if (last) await finishJob(ctx, log, jobId, attempt, 'failed', `error: ${err.message}`, err.message);
    else await transitionJob(ctx.store, jobId, 'queued', { attempt, reason: `retrying after error: ${err.message}` });
  } catch {
    // The store is unreachable: the worker's failed-event handler records the outcome later.
  }
}

/** The uploaded datasets a spec trains and validates on (built-ins are made, not loaded). */
function uploadedDatasets(spec: JobRecord['spec']): string[] {
  const ids: string[] = [];
  if (typeof spec.dataset === 'string') ids.push(spec.dataset);
  if (spec.validation !== null && 'dataset' in spec.validation) ids.push(spec.validation.dataset);
  return ids;
}
