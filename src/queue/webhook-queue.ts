// The BullMQ queue `webhooks`: one job per (event, webhook), id `${eventId}-${webhookId}` so an
// event dispatched twice is enqueued once; exponential backoff from WEBHOOK_BACKOFF_MS over
// WEBHOOK_MAX_ATTEMPTS attempts (13 from 20 s: the last about 23 h after the first).
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';

export const WEBHOOK_QUEUE = 'webhooks';

export interface DeliveryJobData {
  webhookId: string;
  /** The event id, sent as `webhook-id` on every attempt. */
  eventId: string;
  type: string;
  jobId: string | null;
  /** The exact body to send (signed at each attempt). */
  body: string;
}

export type WebhookQueue = Queue<DeliveryJobData, string, string>;

export function createWebhookQueue(config: Config, connection: Redis): WebhookQueue {
  const queue = new Queue<DeliveryJobData, string, string>(WEBHOOK_QUEUE, { connection, prefix: config.keyPrefix });
  queue.on('error', () => undefined);
  return queue;
}

export function deliveryJobId(eventId: string, webhookId: string): string {
  return `${eventId}-${webhookId}`;
}

export function deliveryJobOptions(config: Config, eventId: string, webhookId: string): JobsOptions {
  return {
    jobId: deliveryJobId(eventId, webhookId),
    attempts: config.webhooks.maxAttempts,
    backoff: { type: 'exponential', delay: config.webhooks.backoffMs },
    // Kept a day after success (a re-dispatched event within it is not sent again), a week after giving up.
    removeOnComplete: { age: 86400 },
    removeOnFail: { age: 7 * 86400 },
  };
}

/** When the next attempt runs after `attempt` (1-based) failed, or null when it was the last. */
export function nextRetryAt(config: Config, attempt: number, now = Date.now()): string | null {
  if (attempt >= config.webhooks.maxAttempts) return null;
  return new Date(now + config.webhooks.backoffMs * 2 ** (attempt - 1)).toISOString();
}
