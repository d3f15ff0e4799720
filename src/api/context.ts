// What every route plugin gets: the config, the store, the queue and a Redis connection to
// duplicate for blocking reads. Built once in buildApp.
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { EvaluationQueue } from '../queue/evaluation-queue.js';
import type { TrainQueue } from '../queue/queue.js';
import type { Store } from '../store/redis.js';
import type { CpuPool } from './cpu/pool.js';
import type { EventHub } from './event-hub.js';

export interface RouteContext {
  config: Config;
  store: Store;
  /** Null only when the app is built to describe itself (OpenAPI generation): no handler runs then. */
  queue: TrainQueue | null;
  /** The evaluations queue; null exactly when `queue` is. */
  evaluations: EvaluationQueue | null;
  redis: Redis;
  /** Live job streams, one Redis reader per watched job. */
  events: EventHub;
  /** The threads that parse uploads and run predict, off the event loop. */
  cpu: CpuPool;
  /** Closers of open long-lived responses (SSE), called when the app closes. */
  openStreams: Set<() => void>;
}
