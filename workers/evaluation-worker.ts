// Evaluations in a worker process: a BullMQ Worker on the `evaluations` queue. Each evaluation's
// CPU work (hashing, decoding, the forward passes) runs in a thread of its own
// (workers/evaluation-thread.ts), so this event loop stays free to renew locks and to serve the
// process's other queues; this side reads the store and records the outcome. An evaluation starts
// only when its memory estimate fits in WORKER_MEMORY_BYTES beside the process's training jobs
// (the same admission as theirs), and its thread's V8 heap is capped by that estimate.
import type { Worker as Thread } from 'node:worker_threads';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { EVALUATION_QUEUE, type EvaluationJobData } from '../src/queue/evaluation-queue.js';
import { settlesWithin } from '../src/settles-within.js';
import { getCheckpoint } from '../src/store/checkpoints.js';
import { builtinInfo, isBuiltinName } from '../src/data/index.js';
import { getDatasetMeta } from '../src/store/datasets.js';
import { readStoredCheckpointMetadata } from '../src/store/init-checkpoint.js';
import { checkpointKey, datasetKey } from '../src/store/object-keys.js';
import { getEvaluation, isFinished, updateEvaluation, type EvaluationRecord } from '../src/store/evaluations.js';
import { createRedis, createStore, type Store } from '../src/store/redis.js';
import { DEFAULT_JOB_MEMORY_BYTES, JobTooBigError, type MemoryAdmission } from './admission.js';
import { logConnection, outageLogger } from './connection-log.js';
import { evaluationMemoryEstimate, type EvaluatedData, type EvaluationMemoryParts } from './evaluation-memory.js';
import type { EvaluationOutcome, EvaluationTask } from './evaluation-task.js';
import { runInThread } from './evaluation-thread-run.js';
import { heapCapMiB } from './trainer-process.js';

const CLOSE_STEP_MS = 300;
const MIB = 1024 * 1024;

/** Why waiting evaluations stop waiting: the worker is closing (they go back to the queue). */
const SHUTDOWN_REASON = 'evaluation worker closing';

export interface EvaluationWorker {
  close(): Promise<void>;
}

function mib(bytes: number): string {
  return `${Math.ceil(bytes / MIB)} MiB`;
}

/** What the thread needs and how much memory it will take, from the store; a string says why the evaluation cannot run. */
async function taskOf(store: Store, r: EvaluationRecord): Promise<{ task: EvaluationTask; memory: { bytes: number; parts: EvaluationMemoryParts | null } } | string> {
  const meta = await getCheckpoint(store, r.jobId, r.checkpoint.epoch);
  if (meta === null || meta.sha256 !== r.checkpoint.sha256) {
    return `the checkpoint of ${r.jobId} at epoch ${r.checkpoint.epoch} is no longer kept (evicted by a better one, or expired with its job)`;
  }
  const checkpoint = { key: checkpointKey(r.jobId, meta.epoch), jobId: r.jobId, epoch: meta.epoch, size: meta.size, sha256: meta.sha256 };
  const storage = store.config.storage;
  let task: EvaluationTask;
  let data: EvaluatedData | null = null;
  if (typeof r.dataset !== 'string') {
    task = { storage, checkpoint, dataset: r.dataset };
    if (isBuiltinName(r.dataset.builtin)) data = { ...builtinInfo(r.dataset.builtin), fileBytes: null };
  } else {
    const ds = await getDatasetMeta(store, r.dataset, r.tenant);
    if (ds === null) return `dataset: ${r.dataset} no longer exists (deleted or expired)`;
    task = { storage, checkpoint, dataset: { key: datasetKey(r.dataset) } };
    data = { ...ds, fileBytes: ds.size };
  }
  // The header alone (ranged reads). One that cannot be read or describes no model is charged the
  // default: the thread then fails at once, saying why.
  const header = await readStoredCheckpointMetadata(store, checkpoint.key).catch(() => null);
  const estimate = header === null || data === null ? null : evaluationMemoryEstimate(header, meta.size, data);
  return { task, memory: estimate ?? { bytes: DEFAULT_JOB_MEMORY_BYTES, parts: null } };
}

/**
 * `admission` is the worker process's memory budget, shared with its training jobs (workers/main.ts);
 * `makeRoom` frees memory held only for speed (a spare trainer's preloaded datasets) when an evaluation needs it.
 */
export function startEvaluationWorker(config: Config, logger: Logger, admission: MemoryAdmission, makeRoom: (bytes: number) => void = () => undefined): EvaluationWorker {
  const store = createStore(config, createRedis(config, { name: `evaluations-${process.pid}`, maxRetriesPerRequest: null }));
  const connection = createRedis(config, { name: `evaluations-worker-${process.pid}`, maxRetriesPerRequest: null });
  logConnection(store.redis, logger, 'evaluations');
  logConnection(connection, logger, 'evaluations-worker');
  const threads = new Set<Thread>();
  const stopping = new AbortController();

  /** Waits (queued) until the evaluation's memory fits; null when it never can, after recording it failed. */
  async function admitted(job: Job<EvaluationJobData, string, string>, token: string | undefined, record: EvaluationRecord, memory: { bytes: number; parts: EvaluationMemoryParts | null }, log: Logger): Promise<(() => void) | null> {
    const { bytes, parts } = memory;
    makeRoom(bytes);
    const waits = !admission.fits(bytes);
    if (waits) log.info({ memoryBytes: bytes, inUse: admission.inUse, waiting: admission.waiting }, 'evaluation waits for memory');
    try {
      return await admission.admit(bytes, stopping.signal);
    } catch (err) {
      if (!(err instanceof JobTooBigError)) {
        // Closing while it waited, before it began: back to the queue for another worker.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const of = parts === null ? '' : ` (dataset ${mib(parts.dataset)}, checkpoint ${mib(parts.checkpoint)}, model buffers ${mib(parts.model)}, thread ${mib(parts.thread)})`;
      const error = `the evaluation needs about ${mib(bytes)} of memory${of}, more than this worker's WORKER_MEMORY_BYTES=${config.workerMemoryBytes} (${mib(config.workerMemoryBytes)})`;
      const now = new Date().toISOString();
      await updateEvaluation(store, { ...record, status: 'failed', error, startedAt: now, finishedAt: now });
      log.warn({ memoryBytes: bytes }, 'evaluation larger than the worker\'s memory budget: failed');
      return null;
    }
  }

  async function evaluate(job: Job<EvaluationJobData, string, string>, token?: string): Promise<string> {
    const id = job.data.evaluationId;
    const record = await getEvaluation(store, id);
    if (record === null || isFinished(record.status)) return 'gone';
    const log = logger.child({ evaluationId: id, jobId: record.jobId, epoch: record.checkpoint.epoch });
    const prepared = await taskOf(store, record);
    const release = typeof prepared === 'string' ? () => undefined : await admitted(job, token, record, prepared.memory, log);
    if (release === null) return 'failed';
    try {
      const running: EvaluationRecord = { ...record, status: 'running', startedAt: new Date().toISOString() };
      if (!(await updateEvaluation(store, running))) return 'gone';
      const started = performance.now();
      const outcome: EvaluationOutcome =
        typeof prepared === 'string' ? { ok: false, failure: { kind: 'input', message: prepared } } : await runInThread(prepared.task, heapCapMiB(prepared.memory.bytes), threads);
      return await finish(running, outcome, started, log);
    } finally {
      release();
    }
  }

  async function finish(running: EvaluationRecord, outcome: EvaluationOutcome, started: number, log: Logger): Promise<string> {
    const finishedAt = new Date().toISOString();
    if (outcome.ok) {
      await updateEvaluation(store, { ...running, status: 'completed', result: outcome.result, finishedAt });
      log.info({ rows: outcome.result.rows, ms: Math.round(performance.now() - started) }, 'evaluation completed');
      return 'completed';
    }
    const { kind, message } = outcome.failure;
    await updateEvaluation(store, { ...running, status: 'failed', error: message, finishedAt });
    log[kind === 'input' ? 'info' : 'error']({ kind, error: message }, 'evaluation failed');
    return 'failed';
  }

  const worker = new Worker<EvaluationJobData, string, string>(EVALUATION_QUEUE, evaluate, {
    connection,
    prefix: config.keyPrefix,
    concurrency: config.evaluations.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: 1,
  });
  worker.on('error', outageLogger(logger, 'evaluation worker'));
  // A final failure of ours (Redis, the disk) after the retry, or a job whose worker died twice (the
  // stalled-job check fails it): the record says so rather than staying 'running' until it expires.
  worker.on('failed', (job, err) => {
    if (job === undefined || !job.finishedOn) return;
    void getEvaluation(store, job.data.evaluationId)
      .then((r) => (r === null || isFinished(r.status) ? false : updateEvaluation(store, { ...r, status: 'failed', error: `internal error: ${err.message}`, finishedAt: new Date().toISOString() })))
      .catch((e: unknown) => logger.error({ err: e, evaluationId: job.data.evaluationId }, 'could not record an evaluation failure'));
  });

  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= (async () => {
        stopping.abort(SHUTDOWN_REASON);
        // Evaluations in flight get the grace period; past it their threads stop and BullMQ runs them again elsewhere.
        if (!(await settlesWithin(worker.close(), config.shutdownGraceMs))) {
          await Promise.all([...threads].map((t) => t.terminate()));
          await settlesWithin(worker.close(true), CLOSE_STEP_MS);
        }
        if (store.redis.status === 'ready') await settlesWithin(store.redis.quit(), CLOSE_STEP_MS);
        for (const redis of [connection, store.redis]) redis.disconnect();
      })();
      return closing;
    },
  };
}
