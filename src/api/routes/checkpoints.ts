// /v1/jobs/:id/checkpoints: the kept checkpoints' index and their safetensors files
// (ETag = sha256, If-None-Match → 304), checked against that sha256 before a byte is sent.
// Files stay downloadable after a cancel, until retention.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getCheckpoint, listCheckpoints } from '../../store/checkpoints.js';
import { getJob } from '../../store/jobs.js';
import { openVerifiedCheckpoint } from '../../store/verified-checkpoint.js';
import type { RouteContext } from '../context.js';
import { ErrorBodySchema, notFound } from '../errors.js';
import { CheckpointListSchema, EpochParams, JobIdParams } from '../schemas.js';
import { z } from 'zod';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 500: ErrorBodySchema };
const fileResponse = {
  200: { description: 'the safetensors file', content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } },
  304: { description: 'not modified (If-None-Match matched the ETag)', content: { 'application/octet-stream': { schema: z.string() } } },
  ...errors,
};

/** True when an If-None-Match header lists this ETag (or *). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || v === etag;
  });
}

export function checkpointRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;

  async function download(request: FastifyRequest, reply: FastifyReply, jobId: string, which: number | 'best') {
    if ((await getJob(s, jobId, request.tenant)) === null) throw notFound('job');
    const meta = await getCheckpoint(s, jobId, which);
    if (meta === null) throw notFound(which === 'best' ? 'best checkpoint' : `checkpoint for epoch ${which}`);
    const etag = `"${meta.sha256}"`;
    reply.header('ETag', etag).header('Cache-Control', 'private, max-age=0, must-revalidate');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    // A corrupt file is an error (checkpoint_corrupt) before any header of the file is sent.
    const handle = await openVerifiedCheckpoint(s, jobId, meta);
    if (handle === null) throw notFound(`checkpoint for epoch ${meta.epoch}`); // evicted meanwhile
    return reply
      .code(200)
      .type('application/octet-stream')
      .header('Content-Length', String(meta.size))
      .header('Content-Disposition', `attachment; filename="${jobId}-epoch-${meta.epoch}.safetensors"`)
      .header('X-Checkpoint-Epoch', String(meta.epoch))
      .send(handle.createReadStream({ start: 0 }));
  }

  return async (app) => {
    app.get(
      '/v1/jobs/:id/checkpoints',
      { schema: { summary: "A job's kept checkpoints", tags: ['checkpoints'], params: JobIdParams, response: { 200: CheckpointListSchema, ...errors } } },
      async (request) => {
        if ((await getJob(s, request.params.id, request.tenant)) === null) throw notFound('job');
        return { items: await listCheckpoints(s, request.params.id) };
      },
    );

    app.get(
      '/v1/jobs/:id/checkpoints/best',
      { schema: { summary: 'Download the best checkpoint (safetensors)', tags: ['checkpoints'], params: JobIdParams, response: fileResponse } },
      async (request, reply) => download(request, reply, request.params.id, 'best'),
    );

    app.get(
      '/v1/jobs/:id/checkpoints/:epoch',
      { schema: { summary: "Download one epoch's checkpoint (safetensors)", tags: ['checkpoints'], params: EpochParams, response: fileResponse } },
      async (request, reply) => download(request, reply, request.params.id, request.params.epoch),
    );
  };
}
