// /v1/webhooks: register (URL checked against SSRF after DNS resolution), list, get, delete,
// rotate the signing secret, the delivery log, and a test ping. Deliveries happen in the workers.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OUTBOX_MAXLEN } from '../../store/scripts.js';
import { newWebhookId } from '../../store/ids.js';
import { createWebhook, DEFAULT_WEBHOOK_EVENTS, deleteWebhook, getWebhook, listDeliveries, listWebhooks, newWebhookSecret, rotateWebhookSecret, type WebhookRecord } from '../../store/webhooks.js';
import { resolveWebhookTarget, UrlRefusedError } from '../../webhooks/address-policy.js';
import { eventIdOf } from '../../webhooks/event-body.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { DeliveryListQuery, DeliveryListSchema, PingSchema, WebhookCreateSchema, WebhookIdParams, WebhookListSchema, WebhookSchema, WebhookSecretSchema, WebhookWithSecretSchema } from '../webhook-schemas.js';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };

function present(w: WebhookRecord) {
  return { id: w.id, url: w.url, events: w.events, description: w.description, createdAt: w.createdAt };
}

export function webhookRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;

  async function owned(id: string, tenant: string): Promise<WebhookRecord> {
    const w = await getWebhook(s, id, tenant);
    if (w === null) throw notFound('webhook');
    return w;
  }

  return async (app) => {
    app.post(
      '/v1/webhooks',
      {
        schema: {
          summary: 'Register a webhook',
          description:
            'Events are POSTed to the URL signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). The URL must be http(s) and resolve to public addresses only (unless WEBHOOK_ALLOW_PRIVATE=true). The secret is shown only in this answer and by rotate-secret.',
          tags: ['webhooks'],
          body: WebhookCreateSchema,
          response: { 201: WebhookWithSecretSchema, ...errors, 409: ErrorBodySchema },
        },
      },
      async (request, reply) => {
        const body = request.body;
        let url: string;
        try {
          url = (await resolveWebhookTarget(body.url, s.config.webhooks.allowPrivate)).url.href;
        } catch (err) {
          if (!(err instanceof UrlRefusedError)) throw err;
          throw new ApiError('invalid_url', `url: ${err.message}`, { path: 'url', issues: [{ path: 'url', message: err.message, in: 'body' }] });
        }
        const w: WebhookRecord = {
          id: newWebhookId(),
          tenant: request.tenant,
          url,
          events: [...new Set(body.events ?? DEFAULT_WEBHOOK_EVENTS)],
          description: body.description ?? null,
          secret: newWebhookSecret(),
          createdAt: new Date().toISOString(),
        };
        if ((await createWebhook(s, w)) === 'limit') {
          const limit = s.config.webhooks.maxPerTenant;
          throw new ApiError('too_many_webhooks', `this tenant already has ${limit} webhooks (MAX_WEBHOOKS_PER_TENANT); delete one first`, { limit });
        }
        request.log.info({ webhookId: w.id, tenant: w.tenant, events: w.events }, 'webhook registered');
        return reply.code(201).header('Location', `/v1/webhooks/${w.id}`).send({ ...present(w), secret: w.secret });
      },
    );

    app.get(
      '/v1/webhooks',
      { schema: { summary: "List the tenant's webhooks", tags: ['webhooks'], response: { 200: WebhookListSchema, 401: ErrorBodySchema, 429: ErrorBodySchema } } },
      async (request) => ({ items: (await listWebhooks(s, request.tenant)).map(present) }),
    );

    app.get(
      '/v1/webhooks/:id',
      { schema: { summary: 'Get a webhook (without its secret)', tags: ['webhooks'], params: WebhookIdParams, response: { 200: WebhookSchema, ...errors } } },
      async (request) => present(await owned(request.params.id, request.tenant)),
    );

    app.delete(
      '/v1/webhooks/:id',
      { schema: { summary: 'Delete a webhook and its delivery log', tags: ['webhooks'], params: WebhookIdParams, response: { 204: z.undefined(), ...errors } } },
      async (request, reply) => {
        await deleteWebhook(s, await owned(request.params.id, request.tenant));
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/webhooks/:id/rotate-secret',
      {
        schema: {
          summary: 'Replace the signing secret',
          description: 'Every delivery attempt from now on, retries of earlier events included, is signed with the new secret.',
          tags: ['webhooks'],
          params: WebhookIdParams,
          response: { 200: WebhookSecretSchema, ...errors },
        },
      },
      async (request) => {
        const w = await owned(request.params.id, request.tenant);
        const secret = await rotateWebhookSecret(s, w.id);
        if (secret === null) throw notFound('webhook');
        request.log.info({ webhookId: w.id }, 'webhook secret rotated');
        return { id: w.id, secret };
      },
    );

    app.get(
      '/v1/webhooks/:id/deliveries',
      {
        schema: {
          summary: "The webhook's deliveries, newest first",
          tags: ['webhooks'],
          params: WebhookIdParams,
          querystring: DeliveryListQuery,
          response: { 200: DeliveryListSchema, ...errors },
        },
      },
      async (request) => {
        const w = await owned(request.params.id, request.tenant);
        return { items: await listDeliveries(s, w.id, request.query.limit) };
      },
    );

    app.post(
      '/v1/webhooks/:id/ping',
      {
        schema: {
          summary: 'Send a webhook.ping event to this webhook',
          description: 'Delivered like any event (signed, retried); follow it under deliveries by its eventId.',
          tags: ['webhooks'],
          params: WebhookIdParams,
          response: { 202: PingSchema, ...errors },
        },
      },
      async (request, reply) => {
        const w = await owned(request.params.id, request.tenant);
        const at = new Date().toISOString();
        const entryId = await s.redis.xadd(s.keys.webhookEvents(), 'MAXLEN', '~', OUTBOX_MAXLEN, '*', 'type', 'webhook.ping', 'at', at, 'tenant', w.tenant, 'webhook', w.id);
        return reply.code(202).send({ eventId: eventIdOf(entryId ?? '') });
      },
    );
  };
}
