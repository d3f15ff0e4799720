// /v1/jobs/:id/checkpoints: the kept checkpoints' index and their safetensors files
// (ETag = sha256, If-None-Match → 304), checked against that sha256 before a byte is sent, or
// with ?format=onnx the same checkpoint exported as ONNX in a CPU thread (ETag from the sha256 and
// the exporter's version, so a 304 costs no export). Files stay downloadable after a cancel, until retention.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ONNX_EXPORT_VERSION } from '../../onnx/export-onnx.js';
import { getCheckpoint, listCheckpoints, type CheckpointMeta } from '../../store/checkpoints.js';
import { getJob } from '../../store/jobs.js';
import { checkpointKey } from '../../store/object-keys.js';
import { CheckpointCorruptError, openVerifiedCheckpoint } from '../../store/verified-checkpoint.js';
import type { RouteContext } from '../context.js';
import { CheckpointMissing } from '../cpu/protocol.js';
import { ErrorBodySchema, notFound } from '../errors.js';
import { CheckpointDownloadQuery, CheckpointListSchema, EpochParams, JobIdParams, type CheckpointFormat } from '../schemas.js';
import { z } from 'zod';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 500: ErrorBodySchema };
const fileResponse = {
  200: {
    description: 'the safetensors file, or with ?format=onnx the ONNX model (both application/octet-stream; the filename in Content-Disposition ends .safetensors or .onnx)',
    content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
  },
  304: { description: 'not modified (If-None-Match matched the ETag)', content: { 'application/octet-stream': { schema: z.string() } } },
  ...errors,
  503: ErrorBodySchema,
};

/** The ETag of a checkpoint in a format: the file's sha256, or for ONNX that and the exporter's version. */
export function checkpointEtag(sha256: string, format: CheckpointFormat): string {
  return format === 'onnx' ? `"onnx${ONNX_EXPORT_VERSION}-${sha256}"` : `"${sha256}"`;
}

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

  /** The ONNX export of the checkpoint `meta` indexes, from a CPU thread; null when it was evicted meanwhile. */
  async function exportOnnx(jobId: string, meta: CheckpointMeta): Promise<Uint8Array | null> {
    try {
      const { body } = await ctx.cpu.onnx({ kind: 'onnx', jobId, checkpoint: { key: checkpointKey(jobId, meta.epoch), epoch: meta.epoch, size: meta.size, sha256: meta.sha256 } });
      return body;
    } catch (err) {
      if (!(err instanceof CheckpointMissing)) throw err;
      const now = await getCheckpoint(s, jobId, meta.epoch);
      if (now !== null && now.sha256 === meta.sha256) throw new CheckpointCorruptError(jobId, meta.epoch, 'the file is missing');
      return null;
    }
  }

  async function sendOnnx(reply: FastifyReply, jobId: string, meta: CheckpointMeta) {
    // A CPU slot before any work, as for predict; freed when the answer is sent or the client leaves.
    const release = ctx.cpu.admit();
    reply.raw.once('close', release);
    const bytes = await exportOnnx(jobId, meta);
    if (bytes === null) throw notFound(`checkpoint for epoch ${meta.epoch}`); // evicted meanwhile
    return reply
      .code(200)
      .type('application/octet-stream')
      .header('Content-Length', String(bytes.byteLength))
      .header('Content-Disposition', `attachment; filename="${jobId}-epoch-${meta.epoch}.onnx"`)
      .header('X-Checkpoint-Epoch', String(meta.epoch))
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  async function download(request: FastifyRequest, reply: FastifyReply, jobId: string, which: number | 'best', format: CheckpointFormat) {
    if ((await getJob(s, jobId, request.tenant)) === null) throw notFound('job');
    const meta = await getCheckpoint(s, jobId, which);
    if (meta === null) throw notFound(which === 'best' ? 'best checkpoint' : `checkpoint for epoch ${which}`);
    const etag = checkpointEtag(meta.sha256, format);
    reply.header('ETag', etag).header('Cache-Control', 'private, max-age=0, must-revalidate');
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    if (format === 'onnx') return sendOnnx(reply, jobId, meta);
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
      { schema: { summary: 'Download the best checkpoint (safetensors, or ONNX with ?format=onnx)', tags: ['checkpoints'], params: JobIdParams, querystring: CheckpointDownloadQuery, response: fileResponse } },
      async (request, reply) => download(request, reply, request.params.id, 'best', request.query.format),
    );

    app.get(
      '/v1/jobs/:id/checkpoints/:epoch',
      { schema: { summary: "Download one epoch's checkpoint (safetensors, or ONNX with ?format=onnx)", tags: ['checkpoints'], params: EpochParams, querystring: CheckpointDownloadQuery, response: fileResponse } },
      async (request, reply) => download(request, reply, request.params.id, request.params.epoch, request.query.format),
    );
  };
}
