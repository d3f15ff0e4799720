// The only file that listens. `npm start` runs the API and the training workers in one process
// (each job training in a process of its own), starting a private Redis when none answers and
// redis-server is installed; TRAIND_ROLE=api runs the API alone, TRAIND_ROLE=worker the workers.
// SIGTERM/SIGINT: stop accepting requests, hand running jobs back to the queue, stop, exit.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { logComputeBackend } from '../workers/backend.js';
import { logConnection } from '../workers/connection-log.js';
import { createMemoryAdmission } from '../workers/admission.js';
import { startEvaluationWorker } from '../workers/evaluation-worker.js';
import { serveWorkerMetrics } from '../workers/metrics-endpoint.js';
import { startWebhookWorker } from '../workers/webhook-worker.js';
import { startTrainWorker, type TrainWorker } from '../workers/worker.js';
import { buildApp } from './api/app.js';
import { removeStaleSpooled } from './api/spool.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createTrainQueue } from './queue/queue.js';
import { settlesWithin } from './settles-within.js';
import { createRedis, redactedUrl, redisAnswers } from './store/redis.js';
import { storageDescription } from './storage/create-storage.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Beyond the jobs' hand-back grace, how long the rest of shutdown may take before we exit anyway. */
const SHUTDOWN_MARGIN_MS = 1500;
/** How long each API closing step may wait (in-flight requests, Redis goodbyes). */
const CLOSE_STEP_MS = 500;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { role: config.role, pid: process.pid } });
  // The API and the workers close side by side (each bounded: see settlesWithin); the private
  // Redis, if any, goes last so that jobs can hand back to it.
  const closers: (() => Promise<unknown>)[] = [];

  let redisServer: ChildProcess | null = null;
  if (!(await redisAnswers(config.redisUrl))) {
    redisServer = await startPrivateRedis(config, logger);
  }

  if (config.role !== 'api') {
    // Split mode only: in the all-in-one process the API's GET /metrics shows the workers' metrics.
    // Before taking jobs: a metrics port that cannot be bound stops the process at once.
    const metrics = config.role === 'worker' ? await serveWorkerMetrics(config, logger) : null;
    if (metrics !== null) closers.push(() => metrics.close());
    // Training jobs and evaluations share one memory budget (WORKER_MEMORY_BYTES).
    const admission = createMemoryAdmission(config.workerMemoryBytes);
    const worker: TrainWorker = startTrainWorker(config, logger, admission);
    closers.push(() => worker.close());
    const webhooks = startWebhookWorker(config, logger);
    closers.push(() => webhooks.close());
    const evaluations = startEvaluationWorker(config, logger, admission, (bytes) => worker.makeRoom(bytes));
    closers.push(() => evaluations.close());
    logger.info({ concurrency: config.workerConcurrency, backend: logComputeBackend(logger) }, 'training workers started');
  }

  if (config.role !== 'worker') {
    const redis = createRedis(config, { name: `api-${process.pid}` });
    logConnection(redis, logger, 'api');
    const queue = createTrainQueue(config, redis);
    const app = await buildApp(config, { redis, queue, logger });
    const host = listenHost(config, logger);
    const address = await app.listen({ port: config.port, host });
    logger.info({ address, docs: `${address}/docs`, storage: storageDescription(config.storage) }, 'API listening');
    void removeStaleSpooled(config.dataDir).then(
      (removed) => {
        if (removed > 0) logger.info({ removed }, 'removed request bodies spooled by an earlier API process');
      },
      (err: unknown) => logger.warn({ err }, 'could not clean DATA_DIR/tmp'),
    );
    closers.push(async () => {
      await settlesWithin(app.close(), CLOSE_STEP_MS);
      await settlesWithin(queue.close(), CLOSE_STEP_MS);
      if (redis.status === 'ready') await settlesWithin(redis.quit(), CLOSE_STEP_MS);
      // Redis unreachable: hang up instead of waiting for a reconnect that may never come.
      redis.disconnect();
    });
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + SHUTDOWN_MARGIN_MS).unref();
    await Promise.all(closers.map((close) => close().catch((err: unknown) => logger.error({ err }, 'error during shutdown'))));
    if (redisServer !== null) await stopChild(redisServer);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Started by a parent over IPC (tests, supervisors): never outlive it.
  if (process.send) process.on('disconnect', () => void stop('parent gone'));
}

/** Without API keys anyone who can connect is in: refuse to listen beyond loopback. */
function listenHost(config: Config, logger: Logger): string {
  if (config.apiKeys.length > 0) return config.host;
  if (!LOOPBACK.has(config.host)) {
    logger.warn({ requested: config.host }, 'no API_KEYS configured: ignoring HOST and listening on 127.0.0.1 only');
    return '127.0.0.1';
  }
  logger.warn('no API_KEYS configured: the API is open to anyone on this machine, so it listens on loopback only');
  return config.host;
}

/** A redis-server of our own at REDIS_URL's port, append-only persistence under DATA_DIR/redis. */
async function startPrivateRedis(config: Config, logger: Logger): Promise<ChildProcess> {
  const url = new URL(config.redisUrl);
  const howTo =
    'Start one (`redis-server`, `apt-get install redis-server`, `brew install redis`, or ' +
    '`docker run -p 6379:6379 redis:7`) or point REDIS_URL at one.';
  if (config.role !== 'all' || !config.embeddedRedis || !LOOPBACK.has(url.hostname)) {
    fail(`no Redis answers at ${redactedUrl(config.redisUrl)}. ${howTo}`);
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    fail(`no Redis answers at ${redactedUrl(config.redisUrl)} and redis-server is not on the PATH. ${howTo}`);
  }
  const dir = path.resolve(config.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = url.port || '6379';
  const args = ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'];
  // A shell holds redis-server and stops it when our end of its stdin closes: on a clean stop, and
  // also when this process is killed outright, so no Redis is left behind either way. Its own
  // process group: a terminal's Ctrl-C must not stop Redis while workers hand jobs back.
  const child = spawn('sh', ['-c', 'redis-server "$@" & pid=$!; read _; kill -TERM $pid; wait $pid', 'sh', ...args], {
    stdio: ['pipe', 'ignore', 'inherit'],
    detached: true,
  });
  child.on('exit', (code, signal) => logger.warn({ code, signal }, 'private redis-server exited'));
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers(config.redisUrl)) {
      logger.info({ port, dir, pid: child.pid }, `started a private redis-server on 127.0.0.1:${port} (append-only persistence in ${dir})`);
      return child;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.stdin?.end();
  fail(`redis-server did not start on 127.0.0.1:${port}. ${howTo}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // EOF on its stdin: the holder shell sends redis-server SIGTERM (it fsyncs the AOF and exits).
  child.stdin?.end();
  await exited;
}

function fail(message: string): never {
  process.stderr.write(`traind: ${message}\n`);
  process.exit(1);
}


main().catch((err: unknown) => {
  process.stderr.write(`traind: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
