// /v1/sweeps: submit a hyperparameter sweep (checked so that a space that can only produce
// invalid specs is refused, naming the path), list, get (leaderboard, best trial, ASHA
// decisions), cancel, and its events as SSE. Trials are ordinary jobs; the sweep is driven by
// src/sweep/driver.ts from here and from every worker.
import { randomInt } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { resolveSweepSpec, SweepSpecSchema } from '../../spec/sweep-spec.js';
import { newSweepId } from '../../store/ids.js';
import { countQueuedJobs } from '../../store/jobs.js';
import {
  createSweep,
  getSweep,
  isSweepFinished,
  listSweeps,
  markSweepCancelling,
  readDecisions,
  readSweepEvents,
  sweepIdempotencyKey,
  type SweepRecord,
} from '../../store/sweeps.js';
import { checkSweep } from '../../sweep/check.js';
import { createSweepDriver, type SweepDriver } from '../../sweep/driver.js';
import { sweepView } from '../../sweep/leaderboard.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema, issuesError, notFound } from '../errors.js';
import { bodyHash, idemKey } from '../idempotency.js';
import { EventsQuery, IdempotencyHeaders } from '../schemas.js';
import { lastEventId, nothingMore, openEventStream, writeEvent } from '../sse.js';
import { SweepIdParams, SweepListQuery, SweepListSchema, SweepSchema } from '../sweep-schemas.js';

const errors = { 400: ErrorBodySchema };
/** How often an SSE client's loop looks for new sweep events, and how often it sends a keep-alive. */
const EVENTS_PAGE = 500;

function summary(r: SweepRecord, view: Awaited<ReturnType<typeof sweepView>>) {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    reason: r.reason,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    counts: view.counts,
    best: view.best,
    totalEpochs: view.totalEpochs,
  };
}

export function sweepRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  async function full(r: SweepRecord) {
    const view = await sweepView(s, r);
    return { ...summary(r, view), spec: r.spec as unknown as Record<string, unknown>, leaderboard: view.leaderboard, decisions: await readDecisions(s, r.id) };
  }

  return async (app) => {
    const driver: SweepDriver | null = ctx.queue === null ? null : createSweepDriver({ store: s, queue: ctx.queue, logger: app.log });
    const drive = async (id: string) => {
      if (driver === null) throw new ApiError('unavailable', 'this app instance has no job queue');
      // The workers' tick picks the sweep up if this fails (a Redis blip): the answer does not depend on it.
      await driver.drive(id).catch((err: unknown) => app.log.warn({ err, sweepId: id }, 'could not drive sweep'));
    };

    app.post(
      '/v1/sweeps',
      {
        schema: {
          summary: 'Submit a hyperparameter sweep',
          description:
            'Trials are the base job spec with the space\'s paths set to sampled values; each is an ordinary job (GET /v1/jobs?sweep=…). ' +
            'A space that can only produce specs that cannot run is refused (400 naming the path: space.<path> or base.<path>); a trial whose sampled spec cannot run is recorded as invalid. ' +
            'With an Idempotency-Key header a retry returns the same sweep (200); the same key with a different body is 409.',
          tags: ['sweeps'],
          body: SweepSpecSchema,
          headers: IdempotencyHeaders,
          response: { 200: SweepSchema, 201: SweepSchema, 409: ErrorBodySchema, 429: ErrorBodySchema, ...errors },
        },
      },
      async (request, reply) => {
        const tenant = request.tenant;
        const body = request.body;
        const hash = bodyHash(body);
        const rawKey = request.headers['idempotency-key'];
        const key = rawKey === undefined ? null : idemKey(rawKey);
        /** The earlier sweep of this key (200), 409 for another body, null when it expired. */
        const replay = async (sweepId: string, priorHash: string) => {
          if (priorHash !== hash) {
            throw new ApiError('idempotency_conflict', 'this Idempotency-Key was used with a different request body', { path: 'headers.idempotency-key', sweepId });
          }
          const prior = await getSweep(s, sweepId, tenant);
          if (prior === null) await s.redis.del(sweepIdempotencyKey(s, tenant, key ?? ''));
          return prior === null ? null : reply.code(200).send(await full(prior));
        };
        if (key !== null) {
          const seen = await s.redis.get(sweepIdempotencyKey(s, tenant, key));
          if (seen !== null) {
            const [sweepId = '', priorHash = ''] = seen.split(' ');
            const replayed = await replay(sweepId, priorHash);
            if (replayed !== null) return replayed;
          }
        }
        const max = s.config.limits.sweepTrials;
        const spec = resolveSweepSpec(body, () => randomInt(0, 2 ** 31));
        if (spec.maxTrials > max) {
          const path = body.maxTrials === undefined ? 'space' : 'maxTrials';
          throw issuesError('invalid_sweep', [{ path, message: `${spec.maxTrials} trials is more than MAX_SWEEP_TRIALS (${max})${body.maxTrials === undefined ? ' (the grid size)' : ''}`, in: 'body' }]);
        }
        const issues = await checkSweep(s, tenant, spec, body.name ?? 'sweep');
        if (issues.length > 0) throw issuesError('invalid_sweep', issues);
        if ((await countQueuedJobs(s, tenant)) >= s.config.limits.queuedJobsPerTenant) {
          throw new ApiError('too_many_queued_jobs', `this tenant already has ${s.config.limits.queuedJobsPerTenant} queued jobs; wait for some to start or cancel some`, {
            limit: s.config.limits.queuedJobsPerTenant,
          });
        }
        const id = newSweepId();
        const created = await createSweep(s, { id, tenant, name: body.name ?? null, spec, ...(key !== null ? { idempotency: { key, bodyHash: hash } } : {}) });
        if (created.kind === 'exists') {
          // A concurrent request with the same key won the race.
          const replayed = await replay(created.sweepId, created.bodyHash);
          if (replayed === null) throw new ApiError('unavailable', 'the earlier sweep for this Idempotency-Key expired; retry');
          return replayed;
        }
        const r = created.sweep;
        request.log.info({ sweepId: id, tenant, maxTrials: spec.maxTrials, parallelism: spec.parallelism }, 'sweep submitted');
        await drive(id);
        return reply.code(201).header('Location', `/v1/sweeps/${id}`).send(await full((await getSweep(s, id)) ?? r));
      },
    );

    app.get(
      '/v1/sweeps',
      { schema: { summary: 'List sweeps, newest first', tags: ['sweeps'], querystring: SweepListQuery, response: { 200: SweepListSchema, ...errors } } },
      async (request) => {
        const page = await listSweeps(s, request.tenant, request.query);
        const items = [];
        for (const r of page.items) items.push(summary(r, await sweepView(s, r)));
        return { items, nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/v1/sweeps/:id',
      {
        schema: {
          summary: 'Get a sweep: counts, leaderboard, best trial, ASHA decisions',
          tags: ['sweeps'],
          params: SweepIdParams,
          response: { 200: SweepSchema, ...errors },
        },
      },
      async (request) => {
        const r = await getSweep(s, request.params.id, request.tenant);
        if (r === null) throw notFound('sweep');
        return full(r);
      },
    );

    app.post(
      '/v1/sweeps/:id/cancel',
      {
        schema: {
          summary: 'Cancel a sweep',
          description: 'No more trials start; queued trials are cancelled at once and running ones stop within a mini-batch. 409 when the sweep has finished.',
          tags: ['sweeps'],
          params: SweepIdParams,
          response: { 202: SweepSchema, 409: ErrorBodySchema, ...errors },
        },
      },
      async (request, reply) => {
        const id = request.params.id;
        const r = await getSweep(s, id, request.tenant);
        if (r === null) throw notFound('sweep');
        if (isSweepFinished(r.status)) throw new ApiError('sweep_finished', `the sweep has already ${r.status === 'completed' ? 'completed' : 'been cancelled'}`, { status: r.status });
        await markSweepCancelling(s, id);
        request.log.info({ sweepId: id }, 'sweep cancel requested');
        await drive(id);
        return reply.code(202).send(await full((await getSweep(s, id)) ?? r));
      },
    );

    app.get(
      '/v1/sweeps/:id/events',
      {
        exposeHeadRoute: false,
        schema: {
          summary: "A sweep's live events (SSE)",
          description:
            'text/event-stream: `trial_started` {trial, jobId, params}, `trial_reported` {trial, jobId, epoch, value}, `trial_pruned` (an ASHA decision), ' +
            '`trial_finished` {trial, jobId, outcome, status, reason}, and `sweep_finished` {status, at}, after which the stream ends. `id:` is the cursor for Last-Event-ID.',
          tags: ['sweeps'],
          params: SweepIdParams,
          querystring: EventsQuery,
          response: {
            200: { description: 'an event stream', content: { 'text/event-stream': { schema: z.string() } } },
            204: z.undefined().describe('the sweep has finished and Last-Event-ID is its last event'),
            400: ErrorBodySchema,
            404: ErrorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const sweep = await getSweep(s, id, request.tenant);
        if (sweep === null) throw notFound('sweep');
        let cursor: string | null = lastEventId(request) ?? request.query.after ?? null;
        if (isSweepFinished(sweep.status) && (await readSweepEvents(s, id, cursor, 1)).length === 0) return nothingMore(reply);

        const raw = openEventStream(request, reply);
        let closed = false;
        let unsubscribe: (() => void) | null = null;
        /** The hub said the stream moved (or went quiet) while this handler was not waiting: read again at once. */
        let nudged = false;
        let quiet = false;
        let wake: (() => void) | null = null;
        const nudge = () => {
          nudged = true;
          wake?.();
        };
        const close = () => {
          if (closed) return;
          closed = true;
          ctx.openStreams.delete(close);
          unsubscribe?.();
          wake?.();
          if (!raw.writableEnded) raw.end();
        };
        ctx.openStreams.add(close);
        request.raw.on('close', close);
        raw.on('error', close);
        const nextNudge = async () => {
          if (!nudged && !closed) await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          nudged = false;
        };
        // Event-driven like job events: the process's event hub follows the sweep's stream on its
        // shared blocking connections and nudges this handler when entries come (or after BLOCK_MS
        // of quiet, for the keep-alive); the handler then reads from its cursor with XRANGE.
        try {
          unsubscribe = ctx.events.subscribeSweep(id, cursor ?? '0', {
            push: nudge,
            idle: () => {
              quiet = true;
              nudge();
            },
            fail: (err) => {
              request.log.warn({ err, sweepId: id }, 'sweep event feed failed');
              close();
            },
          });
          while (!closed) {
            const events = await readSweepEvents(s, id, cursor, EVENTS_PAGE);
            for (const e of events) {
              if (closed) break;
              await writeEvent(raw, `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
              cursor = e.id;
              if (e.type === 'sweep_finished') close();
            }
            if (events.length === EVENTS_PAGE) continue;
            if (quiet) {
              quiet = false;
              // Still there? A sweep that expired ends the stream.
              if ((await getSweep(s, id)) === null) break;
              await writeEvent(raw, ': keep-alive\n\n');
            }
            await nextNudge();
          }
        } catch (err) {
          if (!closed) request.log.warn({ err, sweepId: id }, 'sweep event stream ended by an error');
        }
        close();
      },
    );
  };
}
