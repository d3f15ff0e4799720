// What a training thread keeps between jobs: config, its own Redis connections (a sandboxed
// processor cannot use the parent's), the cancel watcher and a logger. Made on the first job.

import { threadId } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../src/config.js';
import { createRedis, createStore, type Store } from '../src/store/redis.js';
import { createCancelWatcher, type CancelWatcher } from './cancel-watch.js';
import { logConnection } from './connection-log.js';

export interface ThreadContext {
  config: Config;
  store: Store;
  cancels: CancelWatcher;
  logger: Logger;
}

let context: Promise<ThreadContext> | null = null;

export function threadContext(): Promise<ThreadContext> {
  if (context === null) {
    context = create();
    // A failed start (Redis down) must not be cached: the next job tries again.
    context.catch(() => {
      context = null;
    });
  }
  return context;
}

async function create(): Promise<ThreadContext> {
  const config = loadConfig();
  // Retry forever: hook writes wait through a Redis restart instead of failing the job.
  const redis = createRedis(config, { name: `trainer-${process.pid}-${threadId}`, maxRetriesPerRequest: null });
  const subscriber = createRedis(config, { name: `trainer-cancel-${process.pid}-${threadId}`, maxRetriesPerRequest: null });
  const logger = pino({ level: config.logLevel, base: { role: 'trainer', pid: process.pid, thread: threadId } });
  logConnection(redis, logger, 'trainer');
  logConnection(subscriber, logger, 'trainer-cancel');
  const store = createStore(config, redis);
  const cancels = await createCancelWatcher(store, subscriber);
  return { config, store, cancels, logger };
}
