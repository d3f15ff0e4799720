// Evaluations in a worker process: a BullMQ Worker on the `evaluations` queue. Each evaluation's
// CPU work (hashing, decoding, the forward passes) runs in a thread of its own
// (workers/evaluation-thread.ts), so this event loop stays free to renew locks and to serve the
// process's other queues; this side reads the store and records the outcome.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { EVALUATION_QUEUE, type EvaluationJobData } from '../src/queue/evaluation-queue.js';
import { settlesWithin } from '../src/settles-within.js';
import { getCheckpoint } from '../src/store/checkpoints.js';
import { getDatasetMeta } from '../src/store/datasets.js';
import { checkpointKey, datasetKey } from '../src/store/object-keys.js';
import { getEvaluation, isFinished, updateEvaluation, type EvaluationRecord } from '../src/store/evaluations.js';
import { createRedis, createStore, type Store } from '../src/store/redis.js';
import { logConnection, outageLogger } from './connection-log.js';
import type { EvaluationOutcome, EvaluationTask } from './evaluation-task.js';

const CLOSE_STEP_MS = 300;

export interface EvaluationWorker {
  close(): Promise<void>;
}

/** The compiled thread entry next to this file; from source (tests), the build's copy. */
function threadEntryPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'evaluation-thread.js');
  const built = path.resolve(path.dirname(here), '../dist/workers/evaluation-thread.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first (evaluation threads run compiled JS)`);
  return built;
}

/** Runs the task in a new thread; a thread that dies (out of memory) fails its evaluation alone. */
function runInThread(task: EvaluationTask, threads: Set<Thread>): Promise<EvaluationOutcome> {
  return new Promise((resolve) => {
    const thread = new Thread(threadEntryPath(), { workerData: task });
    threads.add(thread);
    let outcome: EvaluationOutcome | null = null;
    thread.once('message', (m: EvaluationOutcome) => (outcome = m));
    thread.once('error', (err) => (outcome ??= { ok: false, failure: { kind: 'internal', message: `the evaluation thread failed: ${err.message}` } }));
    thread.once('exit', (code) => {
      threads.delete(thread);
      resolve(outcome ?? { ok: false, failure: { kind: 'internal', message: `the evaluation thread exited with code ${code}` } });
    });
  });
}

/** What the thread needs, from the store; a string says why the evaluation cannot run. */
async function taskOf(store: Store, r: EvaluationRecord): Promise<EvaluationTask | string> {
  const meta = await getCheckpoint(store, r.jobId, r.checkpoint.epoch);
  if (meta === null || meta.sha256 !== r.checkpoint.sha256) {
    return `the checkpoint of ${r.jobId} at epoch ${r.checkpoint.epoch} is no longer kept (evicted by a better one, or expired with its job)`;
  }
  const checkpoint = { key: checkpointKey(r.jobId, meta.epoch), jobId: r.jobId, epoch: meta.epoch, size: meta.size, sha256: meta.sha256 };
  const storage = store.config.storage;
  if (typeof r.dataset !== 'string') return { storage, checkpoint, dataset: r.dataset };
  if ((await getDatasetMeta(store, r.dataset, r.tenant)) === null) return `dataset: ${r.dataset} no longer exists (deleted or expired)`;
  return { storage, checkpoint, dataset: { key: datasetKey(r.dataset) } };
}

export function startEvaluationWorker(config: Config, logger: Logger): EvaluationWorker {
  const store = createStore(config, createRedis(config, { name: `evaluations-${process.pid}`, maxRetriesPerRequest: null }));
  const connection = createRedis(config, { name: `evaluations-worker-${process.pid}`, maxRetriesPerRequest: null });
  logConnection(store.redis, logger, 'evaluations');
  logConnection(connection, logger, 'evaluations-worker');
  const threads = new Set<Thread>();

  async function evaluate(job: Job<EvaluationJobData, string, string>): Promise<string> {
    const id = job.data.evaluationId;
    const record = await getEvaluation(store, id);
    if (record === null || isFinished(record.status)) return 'gone';
    const running: EvaluationRecord = { ...record, status: 'running', startedAt: new Date().toISOString() };
    if (!(await updateEvaluation(store, running))) return 'gone';
    const log = logger.child({ evaluationId: id, jobId: record.jobId, epoch: record.checkpoint.epoch });
    const started = performance.now();
    const task = await taskOf(store, record);
    const outcome: EvaluationOutcome = typeof task === 'string' ? { ok: false, failure: { kind: 'input', message: task } } : await runInThread(task, threads);
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
