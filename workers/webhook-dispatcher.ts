// Turns webhook outbox entries (written by the job scripts in the same step as the change they
// report) into deliveries: a consumer group over the one outbox stream, an entry acknowledged only
// after its deliveries are logged and enqueued. A dispatcher that dies before XACK leaves the
// entry pending; another one claims it after `claimIdleMs` and enqueues it again, which the
// deliveries' deterministic job ids make a no-op. Acknowledged entries are deleted.
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { deliveryJobOptions, type WebhookQueue } from '../src/queue/webhook-queue.js';
import { duplicateForBlocking, type Store } from '../src/store/redis.js';
import { addDelivery, getWebhook, listWebhooks, type WebhookRecord } from '../src/store/webhooks.js';
import { eventIdOf, fieldsOf, outboxEvent } from '../src/webhooks/event-body.js';

export const DISPATCH_GROUP = 'dispatch';
const BATCH = 100;
const BLOCK_MS = 2000;

type Entry = [id: string, fields: string[] | null];

export interface Dispatcher {
  close(): Promise<void>;
}

export function startWebhookDispatcher(store: Store, queue: WebhookQueue, logger: Logger, opts: { claimIdleMs: number }): Dispatcher {
  const conn: Redis = duplicateForBlocking(store.redis, 'webhook-dispatch');
  conn.on('error', () => undefined);
  const stream = store.keys.webhookEvents();
  const consumer = `${os.hostname()}-${process.pid}`;
  let stopped = false;

  async function ensureGroup(): Promise<void> {
    try {
      // From the stream's start: entries written before any dispatcher ran are delivered too.
      await conn.xgroup('CREATE', stream, DISPATCH_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('BUSYGROUP')) throw err;
    }
  }

  async function dispatch(entryId: string, flat: string[] | null): Promise<void> {
    const event = flat === null ? null : outboxEvent(fieldsOf(flat));
    if (event === null) {
      logger.warn({ entryId }, 'unreadable webhook outbox entry skipped');
      return;
    }
    let hooks: WebhookRecord[];
    if (event.webhookId !== null) {
      const w = await getWebhook(store, event.webhookId, event.tenant);
      hooks = w === null ? [] : [w];
    } else {
      hooks = (await listWebhooks(store, event.tenant)).filter((w) => (w.events as string[]).includes(event.type));
    }
    const eventId = eventIdOf(entryId);
    const createdAt = new Date(Number(entryId.split('-')[0])).toISOString();
    for (const w of hooks) {
      await addDelivery(store, w.id, {
        id: eventId,
        type: event.type,
        jobId: event.jobId,
        status: 'pending',
        attempts: 0,
        lastStatusCode: null,
        lastError: null,
        lastResponse: null,
        nextRetryAt: null,
        createdAt,
        updatedAt: createdAt,
      });
    }
    if (hooks.length > 0) {
      await queue.addBulk(
        hooks.map((w) => ({
          name: event.type,
          data: { webhookId: w.id, eventId, type: event.type, jobId: event.jobId, body: event.body },
          opts: deliveryJobOptions(store.config, eventId, w.id),
        })),
      );
    }
  }

  async function handle(entries: Entry[]): Promise<void> {
    for (const [id, fields] of entries) {
      await dispatch(id, fields);
      // Acknowledged means enqueued: the entry is not needed any more (one group reads the stream),
      // so the outbox holds only what is not dispatched yet.
      await conn.multi().xack(stream, DISPATCH_GROUP, id).xdel(stream, id).exec();
    }
  }

  async function loop(): Promise<void> {
    let grouped = false;
    let claimCursor = '0-0';
    let lastClaim = 0;
    while (!stopped) {
      try {
        if (!grouped) {
          await ensureGroup();
          grouped = true;
        }
        // Entries another dispatcher read and never acknowledged (it died): take them over.
        if (Date.now() - lastClaim >= opts.claimIdleMs / 2) {
          lastClaim = Date.now();
          const claimed = (await conn.xautoclaim(stream, DISPATCH_GROUP, consumer, opts.claimIdleMs, claimCursor, 'COUNT', BATCH)) as [string, Entry[], string[]?];
          claimCursor = claimed[0];
          await handle(claimed[1]);
          // Entries trimmed from the stream while pending: nothing to deliver, just drop them.
          for (const gone of claimed[2] ?? []) await conn.xack(stream, DISPATCH_GROUP, gone);
        }
        const res = (await conn.xreadgroup('GROUP', DISPATCH_GROUP, consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', stream, '>')) as [string, Entry[]][] | null;
        if (res === null) continue;
        for (const [, entries] of res) await handle(entries);
      } catch (err) {
        if (stopped) break;
        if (err instanceof Error && err.message.includes('NOGROUP')) grouped = false;
        logger.warn({ err }, 'webhook dispatcher: retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  const running = loop();
  return {
    async close() {
      stopped = true;
      conn.disconnect();
      await running;
    },
  };
}
