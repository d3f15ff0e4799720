// GET /v1/jobs/:id/events: server-sent events. Each metrics record (event: metrics) and status
// change (event: status) as it happens, `id:` = the stream id so Last-Event-ID resumes exactly;
// the response ends after the terminal status. Past entries are read with XRANGE on the shared
// connection; a live job then gets one blocking reader (XREAD BLOCK) per client connection.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { duplicateForBlocking } from '../../store/redis.js';
import { getJob, isTerminal, type JobStatus } from '../../store/jobs.js';
import { lastStreamId, readStreamBlocking, readStreamPage, STREAM_ID_PATTERN, type StreamEntry } from '../../store/stream.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { EventsQuery, JobIdParams } from '../schemas.js';
import { z } from 'zod';

/** How long one XREAD blocks; between reads the job's state is re-checked and a comment keeps proxies from timing out. */
const BLOCK_MS = 10_000;
const CATCH_UP_PAGE = 500;

function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

function frame(e: StreamEntry): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
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
            '`id:` is the stream cursor, so reconnecting with Last-Event-ID misses nothing. Ends after the terminal status.',
          tags: ['jobs'],
          params: JobIdParams,
          querystring: EventsQuery,
          response: {
            200: { description: 'an event stream', content: { 'text/event-stream': { schema: z.string() } } },
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
        const header = request.headers['last-event-id'];
        const lastEventId = Array.isArray(header) ? header[0] : header;
        if (lastEventId !== undefined && !STREAM_ID_PATTERN.test(lastEventId)) {
          throw new ApiError('invalid_request', 'Last-Event-ID is not an id this stream sent', { path: 'headers.last-event-id' });
        }
        let cursor = lastEventId ?? request.query.after ?? '0';

        const raw = reply.raw;
        reply.hijack();
        raw.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache, no-transform',
          Connection: 'keep-alive',
          'X-Accel-Buffering': 'no',
          'X-Request-Id': request.id,
        });
        raw.write('retry: 2000\n\n');

        // The blocking reader is opened only once the client has caught up on a live job.
        let conn: Redis | null = null;
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          ctx.openStreams.delete(close);
          conn?.disconnect();
          if (!raw.writableEnded) raw.end();
        };
        ctx.openStreams.add(close);
        request.raw.on('close', close);
        raw.on('error', close);

        const write = async (text: string) => {
          if (!raw.write(text)) await new Promise<void>((resolve) => raw.once('drain', resolve).once('close', resolve));
        };
        /** Writes entries; true when one was the terminal status. */
        const send = async (items: StreamEntry[]): Promise<boolean> => {
          let ended = false;
          for (const e of items) {
            await write(frame(e));
            if (e.type === 'status' && typeof e.data.status === 'string' && isTerminal(e.data.status as JobStatus)) ended = true;
          }
          return ended;
        };
        /** True when the job is gone, or finished and its last event is at or before the cursor. */
        const finished = async (): Promise<boolean> => {
          const now = await getJob(s, id, request.tenant);
          if (now === null) return true;
          if (!isTerminal(now.status)) return false;
          const last = await lastStreamId(s, id);
          return last === null || compareIds(cursor, last) >= 0;
        };

        try {
          // Catch up with plain XRANGE pages on the shared connection.
          let ended = false;
          while (!closed && !ended) {
            const page = await readStreamPage(s, id, cursor === '0' ? null : cursor, CATCH_UP_PAGE);
            if (page.nextCursor !== null) cursor = page.nextCursor;
            ended = await send(page.items);
            if (page.items.length < CATCH_UP_PAGE) break;
          }
          if (!ended && !closed && !(await finished())) {
            conn = duplicateForBlocking(ctx.redis);
            while (!closed) {
              const { items, lastId } = await readStreamBlocking(conn, s, id, cursor, 100, BLOCK_MS);
              cursor = lastId;
              if (await send(items)) break;
              if (items.length === 0) {
                if (await finished()) break;
                await write(': keep-alive\n\n');
              }
            }
          }
        } catch (err) {
          if (!closed) request.log.warn({ err, jobId: id }, 'event stream ended by an error');
        } finally {
          close();
        }
      },
    );
  };
}
