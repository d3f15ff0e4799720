// Request and response schemas of /v1/webhooks (zod → validation, responses, OpenAPI components).
import { z } from 'zod';
import { WEBHOOK_ID_PATTERN } from '../store/ids.js';
import { WEBHOOK_EVENTS } from '../store/webhooks.js';

export const WebhookIdParams = z.object({ id: z.string().regex(WEBHOOK_ID_PATTERN, 'a webhook id (wh_ followed by 26 characters)') });

export const WebhookEventSchema = z.enum(WEBHOOK_EVENTS).meta({ id: 'WebhookEvent' });

export const WebhookCreateSchema = z
  .strictObject({
    url: z.string().min(1).max(2048).describe('http(s) URL receiving POSTs; must resolve to public addresses unless WEBHOOK_ALLOW_PRIVATE=true'),
    events: z
      .array(WebhookEventSchema)
      .min(1)
      .max(WEBHOOK_EVENTS.length * 4)
      .optional()
      .describe('default: job.completed, job.failed, job.cancelled'),
    description: z.string().max(500).optional(),
  })
  .meta({ id: 'WebhookCreate' });

const webhookFields = {
  id: z.string(),
  url: z.string(),
  events: z.array(WebhookEventSchema),
  description: z.string().nullable(),
  createdAt: z.string(),
};

export const WebhookSchema = z.object(webhookFields).meta({ id: 'Webhook' });

export const WebhookWithSecretSchema = z
  .object({ ...webhookFields, secret: z.string().describe('whsec_…: the Standard Webhooks signing secret, shown only here and by rotate-secret') })
  .meta({ id: 'WebhookWithSecret' });

export const WebhookListSchema = z.object({ items: z.array(WebhookSchema) }).meta({ id: 'WebhookList' });

export const WebhookSecretSchema = z.object({ id: z.string(), secret: z.string() }).meta({ id: 'WebhookSecret' });

export const DeliverySchema = z
  .object({
    id: z.string().describe('the event id, sent as webhook-id on every attempt'),
    type: z.string(),
    jobId: z.string().nullable(),
    status: z.enum(['pending', 'succeeded', 'failed']).describe('failed: every attempt failed (WEBHOOK_MAX_ATTEMPTS)'),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastResponse: z.string().nullable().describe('the first bytes of the last answer'),
    nextRetryAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });

export const DeliveryListQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export const DeliveryListSchema = z.object({ items: z.array(DeliverySchema) }).meta({ id: 'WebhookDeliveryList' });

export const PingSchema = z.object({ eventId: z.string().describe('the ping delivery, listed under deliveries') }).meta({ id: 'WebhookPing' });
