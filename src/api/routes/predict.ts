// POST /v1/jobs/:id/predict: rows → {"outputs": [...]} from the best checkpoint. The rows come as
// JSON {"inputs": number[][]}, as little-endian float32 (application/octet-stream) or as an IDX
// images file (application/x-idx, gzipped or not). The body is spooled to disk as it arrives
// (after the owner check, owner-before-body.ts), or read into memory when its Content-Length is at
// most 64 KiB (small-body.ts), and parsed, checked and run in a CPU thread (cpu/predict-task.ts),
// never on the event loop.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getJob } from '../../store/jobs.js';
import type { RouteContext } from '../context.js';
import type { PredictFormat } from '../cpu/protocol.js';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { predictFromBest } from '../predictor.js';
import { JobIdParams, PredictBodySchema, PredictResponseSchema } from '../schemas.js';
import type { z } from 'zod';
import { fitsInMemory, readSmallBody } from '../small-body.js';
import { removeSpooled, removeSpooledOnClose, spoolDir, spoolToFile } from '../spool.js';

type PredictResponse = z.infer<typeof PredictResponseSchema>;

/** The body formats by Content-Type; every one is spooled to disk the same way. */
const FORMATS: Record<string, PredictFormat> = {
  'application/json': 'json',
  'application/octet-stream': 'f32',
  'application/x-idx': 'idx',
};

export function predictRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const limit = ctx.config.limits.bodyBytes;
  const tmp = spoolDir(ctx.config.dataDir);

  /** Before the body is read (after authentication and the owner check): a CPU slot, or 503. */
  const admit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const release = ctx.cpu.admit();
    reply.raw.once('close', release);
    removeSpooledOnClose(request, reply);
  };

  return async (app) => {
    // The body goes to disk as it arrives (small ones to memory); the CPU thread parses and validates it.
    app.removeContentTypeParser('application/json');
    app.removeContentTypeParser('application/octet-stream');
    app.addContentTypeParser(Object.keys(FORMATS), (request, payload, done) => {
      const tooLarge = () => new ApiError('payload_too_large', `the body is larger than BODY_LIMIT_BYTES = ${limit} bytes`);
      if (Number(request.headers['content-length']) > limit) {
        done(tooLarge(), undefined);
        return;
      }
      if (fitsInMemory(request.headers['content-length'])) {
        readSmallBody(payload, limit, tooLarge).then(
          (bytes) => done(null, { bytes }),
          (err: Error) => done(err, undefined),
        );
        return;
      }
      spoolToFile(request, payload, tmp, limit, 'the body').then(
        ({ file }) => done(null, { spooled: file }),
        (err: Error) => done(err, undefined),
      );
    });

    app.post(
      '/v1/jobs/:id/predict',
      {
        bodyLimit: limit,
        preParsing: admit,
        // The thread is done with the spooled files once an answer is ready: gone before it is sent.
        onSend: async (request) => {
          await removeSpooled(request);
        },
        // PredictBodySchema documents the body (OpenAPI); the CPU thread checks it, with the same paths.
        validatorCompiler: (route) => (route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0])),
        schema: {
          summary: "Predict with a job's best checkpoint",
          description:
            'Classifiers answer {"probabilities": number[], "label": k} per row, regressors {"value": number[]}. ' +
            'Rows must have the model\'s input width; inputs are used as given (the checkpoint applies its own standardization). ' +
            'The rows come as JSON {"inputs": number[][]}, as application/octet-stream (little-endian float32, the model\'s width per row, ' +
            'back to back: a body that is not a whole number of rows is a 400 naming `body`), or as application/x-idx (an IDX images file, ' +
            'gzipped or not, as MNIST ships them: unsigned bytes read as byte / 255 as in training, other types as they are; ' +
            'each image must have the model\'s width). The outputs are the same whatever the format. ' +
            'At most MAX_PREDICT_ROWS rows and rows × parameters ≤ MAX_PREDICT_COST; runs off the event loop, 503 with Retry-After while ' +
            'API_CPU_THREADS + API_CPU_QUEUE uploads and predicts are in progress.',
          tags: ['jobs'],
          params: JobIdParams,
          body: PredictBodySchema,
          response: { 200: PredictResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 413: ErrorBodySchema, 503: ErrorBodySchema, 507: ErrorBodySchema },
        },
      },
      async (request, reply) => {
        if ((await getJob(ctx.store, request.params.id, request.tenant)) === null) throw notFound('job');
        const body = request.body as unknown as { spooled?: unknown; bytes?: unknown };
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = FORMATS[type];
        const source = typeof body?.spooled === 'string' ? { path: body.spooled } : body?.bytes instanceof Uint8Array ? { bytes: body.bytes } : null;
        if (source === null || format === undefined) {
          throw new ApiError('unsupported_media_type', 'send the inputs as application/json, application/octet-stream (float32 rows) or application/x-idx');
        }
        const json = await predictFromBest(ctx, request.params.id, source, format);
        // Already JSON (PredictResponseSchema's shape), built in the thread: a Buffer is sent as is,
        // not validated and serialized again on the event loop.
        const bytes = Buffer.from(json.buffer, json.byteOffset, json.byteLength) as unknown as PredictResponse;
        return reply.type('application/json; charset=utf-8').send(bytes);
      },
    );
  };
}
