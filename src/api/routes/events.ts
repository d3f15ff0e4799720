// GET /v1/jobs/:id/events: server-sent events. Each metrics record (event: metrics) and status
// change (event: status) as it happens, `id:` = the stream id so Last-Event-ID resumes exactly;
// the response ends after the terminal status. Past entries are read with XRANGE on the shared
// connection; live ones from the process's event hub (a few shared blocking readers, event-hub.ts).
// While live, within-epoch `progress` events (pub/sub, not stored) go out without an `id:`, so
// they never move the client's resume point. Between live entries a keep-alive comment every
// BLOCK_MS keeps proxies from timing out.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getJob, isTerminal, type JobStatus } from '../../store/jobs.js';
import { compareStreamIds, lastStreamId, readStreamPage, type StreamEntry } from '../../store/stream.js';
import type { Subscriber } from '../event-hub.js';
import type { RouteContext } from '../context.js';
import { ErrorBodySchema, notFound } from '../errors.js';
import { EventsQuery, JobIdParams, type ProgressEventSchema } from '../schemas.js';
import { lastEventId, nothingMore, openEventStream, writeEvent } from '../sse.js';
import { z } from 'zod';

const CATCH_UP_PAGE = 500;
/** Live batches a client may have waiting to be written. */
const MAX_BACKLOG = 1000;

function frame(e: StreamEntry): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/** No `id:` line: an ephemeral event must not become the cursor a reconnect resumes from. */
function progressFrame(p: z.infer<typeof ProgressEventSchema>): string {
  return `event: progress\ndata: ${JSON.stringify(p)}\n\n`;
}

export function eventRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  return async (app) => {
    app.get(
      '/v1/jobs/:id/events',
      {
        // A HEAD would otherwise run this handler and hold a stream open.
        exposeHeadRoute: false,
        schema: {
          summary: "A job's live events (SSE)",
          description:
            'text/event-stream: `event: metrics` with a metrics record and `event: status` with {status, at, reason?, attempt}; ' +
            '`id:` is the stream cursor, so reconnecting with Last-Event-ID misses nothing. Ends after the terminal status. ' +
            'While a job trains, `event: progress` with a ProgressEvent {epoch, step, stepsPerEpoch, loss, samplesPerSec, eta} ' +
            'at most about 4 times a second: ephemeral (not a metrics record, not in the metrics pages, not replayed on reconnect) ' +
            'and sent without an `id:` line, so it never changes where Last-Event-ID resumes.',
          tags: ['jobs'],
          params: JobIdParams,
          querystring: EventsQuery,
          response: {
            200: { description: 'an event stream', content: { 'text/event-stream': { schema: z.string() } } },
            204: z.undefined().describe('the job has finished and Last-Event-ID is its last event: nothing more will come'),
            400: ErrorBodySchema,
            401: ErrorBodySchema,
            404: ErrorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const job = await getJob(s, id, request.tenant);
        if (job === null) throw notFound('job');
        let cursor = lastEventId(request) ?? request.query.after ?? '0';
        if (isTerminal(job.status)) {
          const last = await lastStreamId(s, id);
          if (last === null || compareStreamIds(cursor, last) >= 0) return nothingMore(reply);
        }

        const raw = openEventStream(request, reply);

        let closed = false;
        let unsubscribe: (() => void) | null = null;
        let unsubscribeProgress: (() => void) | null = null;
        const close = () => {
          if (closed) return;
          closed = true;
          ctx.openStreams.delete(close);
          unsubscribe?.();
          unsubscribeProgress?.();
          if (!raw.writableEnded) raw.end();
        };
        ctx.openStreams.add(close);
        request.raw.on('close', close);
        raw.on('error', close);

        const write = (text: string) => writeEvent(raw, text);
        /** The last epoch whose record went out: progress of it or earlier arrived late (pub/sub and the stream race). */
        let lastEpochSent = 0;
        /** Writes the entries after the cursor (dropping any already sent); true once the terminal status went out. */
        const send = async (items: StreamEntry[]): Promise<boolean> => {
          for (const e of items) {
            if (closed) return true;
            if (compareStreamIds(e.id, cursor) <= 0) continue;
            await write(frame(e));
            cursor = e.id;
            if (e.type === 'metrics' && typeof e.data.epoch === 'number') lastEpochSent = e.data.epoch;
            if (e.type === 'status' && typeof e.data.status === 'string' && isTerminal(e.data.status as JobStatus)) return true;
          }
          return false;
        };
        /** XRANGE pages on the shared connection up to the stream's end; true once the terminal status went out. */
        const catchUp = async (): Promise<boolean> => {
          while (!closed) {
            const page = await readStreamPage(s, id, cursor === '0' ? null : cursor, CATCH_UP_PAGE);
            if (await send(page.items)) return true;
            if (page.nextCursor !== null && compareStreamIds(page.nextCursor, cursor) > 0) cursor = page.nextCursor;
            if (page.items.length < CATCH_UP_PAGE) return false;
          }
          return true;
        };
        /** True when the job is gone, or finished and its last event is at or before the cursor. */
        const finished = async (): Promise<boolean> => {
          const now = await getJob(s, id, request.tenant);
          if (now === null) return true;
          if (!isTerminal(now.status)) return false;
          const last = await lastStreamId(s, id);
          return last === null || compareStreamIds(cursor, last) >= 0;
        };

        // Live entries are written in order, one batch after another, after the catch-up.
        let live = false;
        const buffered: StreamEntry[] = [];
        let chain = Promise.resolve();
        let backlog = 0;
        const enqueue = (job: () => Promise<boolean | void>) => {
          // A client too slow to keep up is dropped; it reconnects with Last-Event-ID and catches up from Redis.
          if (++backlog > MAX_BACKLOG) {
            close();
            return;
          }
          chain = chain
            .then(async () => {
              backlog -= 1;
              if (!closed && (await job()) === true) close();
            })
            .catch((err: unknown) => {
              if (!closed) request.log.warn({ err, jobId: id }, 'event stream ended by an error');
              close();
            });
        };
        const subscriber: Subscriber = {
          push: (items) => {
            if (live) enqueue(() => send(items));
            else buffered.push(...items);
          },
          idle: () =>
            enqueue(async () => {
              if (await finished()) return true;
              await write(': keep-alive\n\n');
              return false;
            }),
          fail: (err) => {
            request.log.warn({ err, jobId: id }, 'event feed failed');
            close();
          },
        };

        try {
          if ((await catchUp()) || closed || (await finished())) {
            close();
            return;
          }
          unsubscribe = ctx.events.subscribe(id, cursor, subscriber);
          // The client may have left while we caught up: close() ran before there was anything to unsubscribe.
          if (closed) {
            unsubscribe();
            return;
          }
          // Anything the feed delivered before we joined is still in the stream: read it, then
          // the buffered live entries (send drops what the catch-up already wrote).
          if (await catchUp()) {
            close();
            return;
          }
          live = true;
          const pending = buffered.splice(0);
          enqueue(() => send(pending));
          if (closed) return;
          unsubscribeProgress = ctx.events.subscribeProgress(id, (p) => {
            // Best-effort: dropped for a client with writes pending, and when the epoch's record already went out.
            if (closed || backlog > 0 || p.epoch <= lastEpochSent) return;
            enqueue(async () => {
              await write(progressFrame(p));
            });
          });
        } catch (err) {
          if (!closed) request.log.warn({ err, jobId: id }, 'event stream ended by an error');
          close();
        }
      },
    );
  };
}
