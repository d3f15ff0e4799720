// traind_queue_jobs{state} and traind_redis_up, collected at scrape time from BullMQ's public
// getJobCounts and a PING, each bounded by a short timeout so that a Redis outage cannot hang a
// scrape: then redis_up is 0 and the queue gauge has no samples (unknown, rather than stale).
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { metricsRegistry } from './registry.js';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized'] as const;
/** How long a scrape waits for Redis. */
export const SCRAPE_REDIS_TIMEOUT_MS = 1000;

interface QueueSource {
  /** null: only redis_up (an app built without a queue). */
  queue: Pick<Queue, 'getJobCounts'> | null;
  redis: Redis;
}

/** Whoever in this process has a queue and a connection (the API, a worker); the first one is used. */
const sources: QueueSource[] = [];

/** Makes this queue and connection the source of the queue gauge and redis_up; returns the undo. */
export function watchQueue(queue: Pick<Queue, 'getJobCounts'> | null, redis: Redis): () => void {
  const source = { queue, redis };
  sources.push(source);
  return () => {
    const i = sources.indexOf(source);
    if (i >= 0) sources.splice(i, 1);
  };
}

/** The value, or null when it failed or took longer than ms. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A connection that is not ready would only queue the command until it reconnects: don't ask it. */
function ready(source: QueueSource | undefined): source is QueueSource {
  return source !== undefined && source.redis.status === 'ready';
}

new Gauge({
  name: 'traind_queue_jobs',
  help: 'Training jobs in the BullMQ queue by state, read at scrape time (no samples while Redis is unreachable)',
  labelNames: ['state'] as const,
  registers: [metricsRegistry()],
  async collect() {
    this.reset();
    const source = sources[0];
    if (!ready(source) || source.queue === null) return;
    const counts = await within(source.queue.getJobCounts(...QUEUE_STATES), SCRAPE_REDIS_TIMEOUT_MS);
    if (counts === null) return;
    for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
  },
});

new Gauge({
  name: 'traind_redis_up',
  help: `1 when this process's Redis connection answered a PING within ${SCRAPE_REDIS_TIMEOUT_MS} ms at scrape time, else 0`,
  registers: [metricsRegistry()],
  async collect() {
    const source = sources[0];
    const pong = ready(source) ? await within(source.redis.ping(), SCRAPE_REDIS_TIMEOUT_MS) : null;
    this.set(pong === 'PONG' ? 1 : 0);
  },
});
