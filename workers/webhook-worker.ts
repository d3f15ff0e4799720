// Webhooks in a worker process: the outbox dispatcher plus a BullMQ Worker on the `webhooks` queue
// that makes the deliveries (I/O only, so on this event loop). Each attempt signs the stored body
// afresh with the webhook's current secret under the same `webhook-id`; a failure throws, and
// BullMQ retries with exponential backoff. A worker killed mid-delivery loses its job lock and
// another worker runs the delivery again (at least once).
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { createWebhookQueue, nextRetryAt, WEBHOOK_QUEUE, type DeliveryJobData } from '../src/queue/webhook-queue.js';
import { countWebhookDelivery } from '../src/metrics/webhook-metrics.js';
import { settlesWithin } from '../src/settles-within.js';
import { createRedis, createStore } from '../src/store/redis.js';
import { getDelivery, getWebhook, updateDelivery } from '../src/store/webhooks.js';
import { sendWebhook } from '../src/webhooks/send.js';
import { logConnection, outageLogger } from './connection-log.js';
import { startWebhookDispatcher } from './webhook-dispatcher.js';

const CLOSE_STEP_MS = 300;
/** A delivery whose worker died is run again this many times before BullMQ fails it. */
const MAX_STALLED = 10;

export interface WebhookWorker {
  close(): Promise<void>;
}

export function startWebhookWorker(config: Config, logger: Logger): WebhookWorker {
  const store = createStore(config, createRedis(config, { name: `webhooks-${process.pid}`, maxRetriesPerRequest: null }));
  logConnection(store.redis, logger, 'webhooks');
  const connection = createRedis(config, { name: `webhooks-worker-${process.pid}`, maxRetriesPerRequest: null });
  logConnection(connection, logger, 'webhooks-worker');
  const queue = createWebhookQueue(config, store.redis);
  const dispatcher = startWebhookDispatcher(store, queue, logger, { claimIdleMs: Math.max(1000, config.lockDurationMs) });

  async function deliver(job: Job<DeliveryJobData, string, string>): Promise<string> {
    const { webhookId, eventId, body } = job.data;
    const hook = await getWebhook(store, webhookId);
    if (hook === null) return 'webhook deleted';
    const attempt = job.attemptsMade + 1;
    const r = await sendWebhook({ url: hook.url, secret: hook.secret }, { id: eventId, body }, config.webhooks);
    const now = Date.now();
    const logged = await getDelivery(store, webhookId, eventId);
    if (logged !== null) {
      await updateDelivery(store, webhookId, {
        ...logged,
        status: r.ok ? 'succeeded' : attempt >= config.webhooks.maxAttempts ? 'failed' : 'pending',
        attempts: Math.max(logged.attempts + 1, attempt),
        lastStatusCode: r.statusCode,
        lastError: r.error,
        lastResponse: r.response,
        nextRetryAt: r.ok ? null : nextRetryAt(config, attempt, now),
        updatedAt: new Date(now).toISOString(),
      });
    }
    countWebhookDelivery(r.ok ? 'delivered' : attempt >= config.webhooks.maxAttempts ? 'failed' : 'retrying');
    logger.info({ webhookId, eventId, type: job.data.type, attempt, status: r.statusCode, error: r.error ?? undefined }, r.ok ? 'webhook delivered' : 'webhook delivery failed');
    if (!r.ok) throw new Error(r.error ?? 'delivery failed');
    return String(r.statusCode);
  }

  const worker = new Worker<DeliveryJobData, string, string>(WEBHOOK_QUEUE, deliver, {
    connection,
    prefix: config.keyPrefix,
    concurrency: config.webhooks.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: MAX_STALLED,
  });
  worker.on('error', outageLogger(logger, 'webhook worker'));

  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= (async () => {
        // Deliveries in flight get the grace period; past it they run again elsewhere once their lock expires.
        const stopWorker = async () => {
          if (!(await settlesWithin(worker.close(), config.shutdownGraceMs))) await settlesWithin(worker.close(true), CLOSE_STEP_MS);
        };
        await Promise.all([settlesWithin(dispatcher.close(), CLOSE_STEP_MS), stopWorker()]);
        await settlesWithin(queue.close(), CLOSE_STEP_MS);
        if (store.redis.status === 'ready') await settlesWithin(store.redis.quit(), CLOSE_STEP_MS);
        for (const redis of [connection, store.redis]) redis.disconnect();
      })();
      return closing;
    },
  };
}
