// Drives sweeps forward: finishes trials whose jobs ended, launches trials while the sweep has
// room (parallelism) and trials left, cancels trials of a sweep being cancelled, and ends the
// sweep. Holds no state between calls: every step reads Redis and changes it through an atomic,
// idempotent script, so any API or worker process may drive any sweep at any time, and a process
// killed mid-step leaves nothing the next drive does not pick up (a launched trial whose job was
// not yet created is created then; a created job not yet queued is queued then).
import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import { pinParentCheckpoint } from '../api/init-from.js';
import { admitJobStorage } from '../api/job-quota.js';
import { enqueueTrainJob, removeQueuedJob, type TrainJobData, type TrainQueue } from '../queue/queue.js';
import { requestCancel } from '../store/cancel.js';
import { newJobId } from '../store/ids.js';
import { dropInitCheckpoint } from '../store/init-checkpoint.js';
import { createJob, getJob, isTerminal, transitionJob, type JobParent, type JobRecord } from '../store/jobs.js';
import type { Store } from '../store/redis.js';
import {
  activeSweepIds,
  claimTrial,
  finishSweep,
  finishTrial,
  getSweep,
  indexTrialJob,
  isSweepFinished,
  liveTrials,
  type SweepRecord,
  type TrialDone,
} from '../store/sweeps.js';
import { QuotaExceededError } from '../store/usage.js';
import { buildTrial, type BuiltTrial } from './trial.js';

export interface SweepDriverDeps {
  store: Store;
  queue: TrainQueue;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface SweepDriver {
  /** Drives one sweep now; calls for a sweep already being driven here run once more after it. */
  drive(sweepId: string): Promise<void>;
  /** Drives every active sweep (the periodic tick). */
  tick(): Promise<void>;
  /** Starts the periodic tick; returns its stop. */
  start(intervalMs: number): () => void;
}

const label = (sweep: SweepRecord) => sweep.name ?? sweep.id;

/**
 * Trials one drive proposes at most. Invalid trials take no slot, so a space that is mostly
 * invalid would otherwise be walked to its end in one call (an API request, say); the next drive
 * (a trial ending, or the tick) goes on.
 */
const LAUNCHES_PER_DRIVE = 32;

/** A finished trial job's outcome as the sweep counts it. */
function outcomeOf(job: JobRecord): TrialDone {
  const outcome = job.status === 'completed' && job.reason === 'pruned' ? 'pruned' : (job.status as 'completed' | 'failed' | 'cancelled');
  return { outcome, status: job.status, reason: job.reason, ...(job.error !== null ? { error: job.error } : {}) };
}

export function createSweepDriver(d: SweepDriverDeps): SweepDriver {
  const { store, queue, logger } = d;
  const running = new Map<string, { again: boolean; done: Promise<void> }>();

  async function enqueue(sweep: SweepRecord, job: JobRecord): Promise<void> {
    const data: TrainJobData = { jobId: job.id, tenant: job.tenant, sweep: sweep.id };
    if (job.memoryEstimate !== null) data.memoryBytes = job.memoryEstimate.bytes;
    await enqueueTrainJob(queue, store.config, data, job.priority);
  }

  /** Creates the trial's job (once, whoever asks: the Idempotency-Key is the sweep and trial) and queues it. */
  async function createTrialJob(sweep: SweepRecord, trial: number, jobId: string, built: BuiltTrial): Promise<void> {
    if (built.spec === null) return;
    try {
      await admitJobStorage(store, sweep.tenant, built.spec);
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) throw err;
      await finishTrial(store, sweep.id, trial, jobId, { outcome: 'failed', status: 'failed', reason: 'error: quota_exceeded', error: err.message });
      return;
    }
    // A fine-tuning sweep: each trial pins the parent's checkpoint for itself, as a submitted job does.
    let spec = built.spec;
    let initFrom: JobParent | null = null;
    if (spec.initFrom !== undefined) {
      try {
        const parent = await pinParentCheckpoint(store, sweep.tenant, jobId, spec, spec.initFrom, built.features ?? 0);
        spec = { ...spec, initFrom: parent };
        initFrom = { job: parent.job, epoch: parent.checkpoint, sha256: parent.sha256 };
      } catch (err) {
        if (!(err instanceof ApiError || err instanceof QuotaExceededError)) throw err;
        await finishTrial(store, sweep.id, trial, jobId, { outcome: 'failed', status: 'failed', reason: 'error: initFrom', error: err.message });
        return;
      }
    }
    const res = await createJob(store, {
      id: jobId,
      tenant: sweep.tenant,
      spec,
      initFrom,
      priority: built.spec.priority ?? 50,
      datasetId: built.datasetId,
      bodyHash: `sweep ${sweep.id} ${trial}`,
      idempotencyKey: `sweep-${sweep.id}-${trial}`,
      memoryEstimate: built.memoryEstimate,
      sweep: { id: sweep.id, trial, params: built.params },
    });
    if (res.kind === 'limit') {
      if (initFrom !== null) await dropInitCheckpoint(store, sweep.tenant, jobId);
      // The tenant's queued-job limit: the trial keeps its slot and is created on a later drive.
      logger.info({ sweepId: sweep.id, trial }, 'trial waits: the tenant has too many queued jobs');
      return;
    }
    const job = res.kind === 'created' ? res.job : await getJob(store, jobId);
    if (job === null) {
      await finishTrial(store, sweep.id, trial, jobId, { outcome: 'failed', status: 'failed', reason: 'error: trial job expired' });
      return;
    }
    await indexTrialJob(store, sweep.id, job.id);
    // A cancel that came while we were creating the job may already have finished this trial
    // (it found no job): then the job is cancelled here, not left to run outside its sweep.
    if ((await store.redis.hget(store.keys.sweep(sweep.id), 'status')) !== 'running') {
      if (!isTerminal(job.status)) await cancelTrialJob(job);
      return;
    }
    if (job.status === 'queued') await enqueue(sweep, job);
    if (res.kind === 'created') logger.info({ sweepId: sweep.id, trial, jobId }, 'trial launched');
  }

  /** Cancels a trial's job: a queued one at once (true), a running one at its next mini-batch. */
  async function cancelTrialJob(job: JobRecord): Promise<boolean> {
    await requestCancel(store, job.id);
    if (job.status !== 'queued') return false;
    const t = await transitionJob(store, job.id, 'cancelled', { from: ['queued'], reason: 'cancelled_by_user' });
    if (t.ok) await removeQueuedJob(queue, job.id);
    return t.ok;
  }

  /** Brings every live trial up to date with its job. */
  async function settleLive(sweep: SweepRecord): Promise<void> {
    for (const { trial, entry } of await liveTrials(store, sweep.id)) {
      if (entry === null || entry.jobId === null) continue;
      let job: JobRecord | null;
      try {
        job = await getJob(store, entry.jobId);
      } catch (err) {
        await finishTrial(store, sweep.id, trial, entry.jobId, { outcome: 'failed', status: 'failed', reason: `error: ${(err as Error).message}` });
        continue;
      }
      if (job === null) {
        if (sweep.status === 'cancelling') {
          await finishTrial(store, sweep.id, trial, entry.jobId, { outcome: 'cancelled', status: 'cancelled', reason: 'cancelled_by_user' });
          continue;
        }
        // Launched, but whoever launched it died before creating its job (or the job was created
        // by a process racing us: createJob's Idempotency-Key makes that the same job).
        const built = await buildTrial(store, sweep.tenant, sweep.spec, label(sweep), trial);
        if (built.spec === null) {
          const error = built.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
          await finishTrial(store, sweep.id, trial, entry.jobId, { outcome: 'failed', status: 'failed', reason: 'error: invalid spec', error });
        } else {
          await createTrialJob(sweep, trial, entry.jobId, built);
        }
        continue;
      }
      if (isTerminal(job.status)) {
        if (await finishTrial(store, sweep.id, trial, job.id, outcomeOf(job))) logger.info({ sweepId: sweep.id, trial, jobId: job.id, status: job.status, reason: job.reason }, 'trial finished');
        continue;
      }
      if (sweep.status === 'cancelling') {
        if (await cancelTrialJob(job)) await finishTrial(store, sweep.id, trial, job.id, { outcome: 'cancelled', status: 'cancelled', reason: 'cancelled_by_user' });
        continue;
      }
      // Created but maybe never queued (its creator died in between): BullMQ ignores a second add of the same id.
      if (job.status === 'queued' && (await queue.getJob(job.id)) === undefined) await enqueue(sweep, job);
    }
  }

  /** Launches trials while the sweep has room and trials left (at most LAUNCHES_PER_DRIVE, so one drive's cost is bounded). */
  async function launch(sweep: SweepRecord): Promise<void> {
    const k = store.keys;
    for (let n = 0; n < LAUNCHES_PER_DRIVE; n++) {
      const [status, next, maxTrials, parallelism] = await store.redis.hmget(k.sweep(sweep.id), 'status', 'next', 'maxTrials', 'parallelism');
      const live = await store.redis.scard(k.sweepLive(sweep.id));
      if (status !== 'running' || Number(next) >= Number(maxTrials) || live >= Number(parallelism)) return;
      const trial = Number(next);
      const built = await buildTrial(store, sweep.tenant, sweep.spec, label(sweep), trial);
      const invalid = built.spec === null;
      const jobId = invalid ? null : newJobId();
      const done: TrialDone | null = invalid
        ? { outcome: 'invalid', status: 'invalid', reason: 'invalid spec', error: built.issues.map((i) => `${i.path}: ${i.message}`).join('; ') }
        : null;
      const res = await claimTrial(store, sweep.id, trial, { jobId, params: built.params }, done);
      if (res === 'race') continue;
      if (res !== 'ok') return;
      if (invalid) logger.warn({ sweepId: sweep.id, trial, error: done?.error }, 'trial spec invalid; recorded, not run');
      else await createTrialJob(sweep, trial, jobId as string, built);
    }
  }

  async function driveOnce(sweepId: string): Promise<void> {
    const sweep = await getSweep(store, sweepId);
    if (sweep === null || isSweepFinished(sweep.status)) {
      // Expired, or finished by a step whose last command did not land.
      await store.redis.srem(store.keys.activeSweeps(), sweepId);
      return;
    }
    await settleLive(sweep);
    if (sweep.status === 'running') await launch(sweep);
    const end = await finishSweep(store, sweepId);
    if (end === 'completed' || end === 'cancelled') logger.info({ sweepId, status: end }, 'sweep finished');
  }

  async function drive(sweepId: string): Promise<void> {
    const current = running.get(sweepId);
    if (current !== undefined) {
      current.again = true;
      return current.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = (async () => {
      try {
        do {
          state.again = false;
          await driveOnce(sweepId);
        } while (state.again);
      } finally {
        running.delete(sweepId);
      }
    })();
    running.set(sweepId, state);
    return state.done;
  }

  async function tick(): Promise<void> {
    for (const id of await activeSweepIds(store)) {
      await drive(id).catch((err: unknown) => logger.error({ err, sweepId: id }, 'could not drive sweep'));
    }
  }

  return {
    drive,
    tick,
    start(intervalMs) {
      let ticking = false;
      const timer = setInterval(() => {
        if (ticking) return;
        ticking = true;
        tick()
          .catch((err: unknown) => logger.warn({ err }, 'sweep tick failed'))
          .finally(() => {
            ticking = false;
          });
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
