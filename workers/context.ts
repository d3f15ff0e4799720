// What a trainer process (workers/trainer-main.ts) needs for its job: config, its own Redis
// connections, the cancel watcher and a logger. Made once, before the job arrives.

import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../src/config.js';
import { createRedis, createStore, type Store } from '../src/store/redis.js';
import { createCancelWatcher, type CancelWatcher } from './cancel-watch.js';
import { logConnection } from './connection-log.js';

export interface TrainerContext {
  config: Config;
  store: Store;
  cancels: CancelWatcher;
  logger: Logger;
}

let context: Promise<TrainerContext> | null = null;

export function trainerContext(): Promise<TrainerContext> {
  if (context === null) {
    context = create();
    // A failed start (Redis down) must not be cached: the next job tries again.
    context.catch(() => {
      context = null;
    });
  }
  return context;
}

async function create(): Promise<TrainerContext> {
  const config = loadConfig();
  // Retry forever: hook writes wait through a Redis restart instead of failing the job.
  const redis = createRedis(config, { name: `trainer-${process.pid}`, maxRetriesPerRequest: null });
  const subscriber = createRedis(config, { name: `trainer-cancel-${process.pid}`, maxRetriesPerRequest: null });
  const logger = pino({ level: config.logLevel, base: { role: 'trainer', pid: process.pid } });
  logConnection(redis, logger, 'trainer');
  logConnection(subscriber, logger, 'trainer-cancel');
  const store = createStore(config, redis);
  const cancels = await createCancelWatcher(store, subscriber);
  return { config, store, cancels, logger };
}
