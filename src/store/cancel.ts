// Cancellation that reaches a job wherever it runs: a flag key (read when a worker starts or
// polls) plus a pub/sub message on one channel (so a running worker learns without polling Redis).
import type { Redis } from 'ioredis';
import type { Store } from './redis.js';

/** Sets the cancel flag and announces it. The flag outlives the job by the retention period. */
export async function requestCancel(s: Store, jobId: string): Promise<void> {
  const ttl = Math.max(s.config.retentionSeconds, 86400);
  await s.redis.multi().set(s.keys.cancel(jobId), '1', 'EX', ttl).publish(s.keys.cancelChannel(), jobId).exec();
}

export async function isCancelRequested(s: Store, jobId: string): Promise<boolean> {
  return (await s.redis.exists(s.keys.cancel(jobId))) === 1;
}

/**
 * Subscribes `subscriber` (a dedicated connection: a subscribed connection can do nothing else)
 * to cancel announcements; `onCancel(jobId)` runs for each. Returns an unsubscribe function.
 * After a reconnect ioredis re-subscribes by itself, but messages sent meanwhile are lost, so a
 * worker should also check isCancelRequested when it (re)starts a job.
 */
export async function subscribeCancels(s: Store, subscriber: Redis, onCancel: (jobId: string) => void): Promise<() => Promise<void>> {
  const channel = s.keys.cancelChannel();
  const listener = (ch: string, message: string) => {
    if (ch === channel) onCancel(message);
  };
  subscriber.on('message', listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', listener);
    await subscriber.unsubscribe(channel);
  };
}
