// Webhook registrations (one hash per webhook plus a per-tenant index) and each webhook's delivery
// log (the newest DELIVERY_LOG_SIZE deliveries: attempts, last status or error, next retry).
import { randomBytes } from 'node:crypto';
import type { Store } from './redis.js';
import { runScript } from './scripts.js';

export const WEBHOOK_EVENTS = ['job.queued', 'job.running', 'job.completed', 'job.failed', 'job.cancelled', 'job.checkpoint'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['job.completed', 'job.failed', 'job.cancelled'];

/** Deliveries kept per webhook (older ones are dropped from the log, not from the queue). */
export const DELIVERY_LOG_SIZE = 200;

export interface WebhookRecord {
  id: string;
  tenant: string;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  /** `whsec_` + base64 of 24 random bytes: the Standard Webhooks signing key. */
  secret: string;
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface DeliveryRecord {
  /** The event id, sent as `webhook-id` on every attempt. */
  id: string;
  type: string;
  jobId: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** The first bytes of the receiver's last answer. */
  lastResponse: string | null;
  nextRetryAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

function encode(w: WebhookRecord): string[] {
  return ['id', w.id, 'tenant', w.tenant, 'url', w.url, 'events', JSON.stringify(w.events), 'description', w.description ?? '', 'secret', w.secret, 'createdAt', w.createdAt];
}

function decode(h: Record<string, string>): WebhookRecord | null {
  if (!h.id || !h.tenant || !h.url || !h.secret) return null;
  return {
    id: h.id,
    tenant: h.tenant,
    url: h.url,
    events: JSON.parse(h.events ?? '[]') as WebhookEvent[],
    description: h.description ? h.description : null,
    secret: h.secret,
    createdAt: h.createdAt ?? '',
  };
}

/** Stores a new webhook, or returns 'limit' when the tenant has MAX_WEBHOOKS_PER_TENANT already. */
export async function createWebhook(s: Store, w: WebhookRecord): Promise<'ok' | 'limit'> {
  const res = await runScript(s.redis, 'createWebhook', [s.keys.webhook(w.id), s.keys.tenantWebhooks(w.tenant)], [w.id, String(s.config.webhooks.maxPerTenant), ...encode(w)]);
  return res === 'limit' ? 'limit' : 'ok';
}

/** The webhook, or null when it does not exist or (given a tenant) belongs to another tenant. */
export async function getWebhook(s: Store, id: string, tenant: string | null = null): Promise<WebhookRecord | null> {
  const w = decode(await s.redis.hgetall(s.keys.webhook(id)));
  if (w === null || (tenant !== null && w.tenant !== tenant)) return null;
  return w;
}

/** A tenant's webhooks, oldest first (a tenant has at most MAX_WEBHOOKS_PER_TENANT). */
export async function listWebhooks(s: Store, tenant: string): Promise<WebhookRecord[]> {
  const ids = await s.redis.zrange(s.keys.tenantWebhooks(tenant), 0, -1);
  if (ids.length === 0) return [];
  const pipe = s.redis.pipeline();
  for (const id of ids) pipe.hgetall(s.keys.webhook(id));
  const rows = (await pipe.exec()) ?? [];
  const out: WebhookRecord[] = [];
  rows.forEach((row) => {
    const w = decode((row[1] ?? {}) as Record<string, string>);
    if (w !== null && w.tenant === tenant) out.push(w);
  });
  return out;
}

/** Deletes the webhook and its delivery log; deliveries still queued are dropped when they run. */
export async function deleteWebhook(s: Store, w: WebhookRecord): Promise<void> {
  await s.redis
    .multi()
    .del(s.keys.webhook(w.id), s.keys.webhookDeliveries(w.id), s.keys.webhookDeliveryOrder(w.id))
    .zrem(s.keys.tenantWebhooks(w.tenant), w.id)
    .exec();
}

/** Replaces the signing secret (only if the webhook still exists); the next attempt signs with it. */
export async function rotateWebhookSecret(s: Store, id: string): Promise<string | null> {
  const secret = newWebhookSecret();
  const ok = await runScript(s.redis, 'hsetIfExists', [s.keys.webhook(id)], ['secret', secret]);
  return ok === 1 ? secret : null;
}

export async function addDelivery(s: Store, webhookId: string, d: DeliveryRecord): Promise<void> {
  const k = s.keys;
  await runScript(s.redis, 'addDelivery', [k.webhook(webhookId), k.webhookDeliveries(webhookId), k.webhookDeliveryOrder(webhookId)], [d.id, String(Date.parse(d.createdAt)), JSON.stringify(d), String(DELIVERY_LOG_SIZE)]);
}

export async function getDelivery(s: Store, webhookId: string, eventId: string): Promise<DeliveryRecord | null> {
  const raw = await s.redis.hget(s.keys.webhookDeliveries(webhookId), eventId);
  return raw === null ? null : (JSON.parse(raw) as DeliveryRecord);
}

export async function updateDelivery(s: Store, webhookId: string, d: DeliveryRecord): Promise<void> {
  await runScript(s.redis, 'updateDelivery', [s.keys.webhookDeliveries(webhookId)], [d.id, JSON.stringify(d)]);
}

/** A webhook's deliveries, newest first. */
export async function listDeliveries(s: Store, webhookId: string, limit: number): Promise<DeliveryRecord[]> {
  const ids = await s.redis.zrevrange(s.keys.webhookDeliveryOrder(webhookId), 0, limit - 1);
  if (ids.length === 0) return [];
  const raws = await s.redis.hmget(s.keys.webhookDeliveries(webhookId), ...ids);
  return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DeliveryRecord);
}
