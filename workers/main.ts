// Worker process entry (`npm run worker`): a BullMQ Worker on the train queue, each job training
// in a trainer process of its own, plus the webhook deliveries and the evaluations (each in a
// thread of its own). SIGTERM/SIGINT: running jobs stop at the next mini-batch, keep their
// resume state and go back to the queue; then the process exits.

import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { redactedUrl } from '../src/store/redis.js';
import { createMemoryAdmission } from './admission.js';
import { logComputeBackend } from './backend.js';
import { startEvaluationWorker } from './evaluation-worker.js';
import { serveWorkerMetrics } from './metrics-endpoint.js';
import { startWebhookWorker } from './webhook-worker.js';
import { startTrainWorker } from './worker.js';
import { storageDescription } from '../src/storage/create-storage.js';

const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { role: 'worker', pid: process.pid } });
// Before taking jobs: a metrics port that cannot be bound stops the worker at once.
const metrics = await serveWorkerMetrics(config, logger).catch((err: unknown) => {
  logger.fatal({ err, port: config.workerMetricsPort }, 'cannot serve metrics on WORKER_METRICS_PORT');
  process.exit(1);
});
// Training jobs and evaluations share one memory budget (WORKER_MEMORY_BYTES).
const admission = createMemoryAdmission(config.workerMemoryBytes);
const worker = startTrainWorker(config, logger, admission);
const webhooks = startWebhookWorker(config, logger);
const evaluations = startEvaluationWorker(config, logger, admission, (bytes) => worker.makeRoom(bytes));
logger.info(
  {
    queue: `${config.keyPrefix}:train`,
    concurrency: config.workerConcurrency,
    backend: logComputeBackend(logger),
    redis: redactedUrl(config.redisUrl),
    storage: storageDescription(config.storage),
    metrics: metrics === null ? null : `${metrics.url}/metrics`,
  },
  'worker started',
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: handing running jobs back');
  // A safety net: close() bounds every step, so this fires only on a bug.
  setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, config.shutdownGraceMs + 1500).unref();
  await Promise.all([
    worker.close().catch((err: unknown) => logger.error({ err }, 'error while stopping')),
    webhooks.close().catch((err: unknown) => logger.error({ err }, 'error while stopping webhooks')),
    evaluations.close().catch((err: unknown) => logger.error({ err }, 'error while stopping evaluations')),
    metrics?.close(),
  ]);
  logger.info('worker stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
// Started by a parent over IPC (e.g. the all-in-one server): never outlive it.
if (process.send) process.on('disconnect', () => void stop('parent gone'));

