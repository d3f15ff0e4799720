// /v1/datasets: upload (CSV, JSON/NDJSON rows, IDX images+labels as multipart), list, get, delete.
// The body is streamed into the store as it arrives (upload-body.ts), then read back, parsed and
// written as the dataset object by a CPU thread (cpu/upload-task.ts), all as streams; this file
// picks the format and indexes the result.
import multipart from '@fastify/multipart';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deleteDataset, getDatasetMeta, jobsUsingDataset, listDatasets, recordDataset } from '../../store/datasets.js';
import { datasetKey, uploadKey } from '../../store/object-keys.js';
import { checkQuotaRoom, refuseWhenFull } from '../../store/usage.js';
import type { RouteContext } from '../context.js';
import { inputPrefix, quoteInput } from '../../data/quote-input.js';
import type { UploadTask } from '../cpu/protocol.js';
import { ApiError, ErrorBodySchema, isDataError, notFound } from '../errors.js';
import { presentDataset, presentDatasetUpload } from '../present.js';
import { DatasetIdParams, DatasetListQuery, DatasetListSchema, DatasetSchema, DatasetUploadQuery } from '../schemas.js';
import { discardOnClose, discardRawUpload, discardUnlessHandedOver, rawUploadOf, storeRawBody, type RawUpload } from '../upload-body.js';
import { endUpload, failUpload, getUpload, startUpload } from '../../store/dataset-uploads.js';
import type { DatasetMeta } from '../../store/datasets.js';
import type { Store } from '../../store/redis.js';
import { z } from 'zod';

// Answers every route may give (401, 429, 503, …) are added to the document in one place
// (openapi-contract.ts); routes declare only their own.
const errors = { 400: ErrorBodySchema };

const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];

type Format = 'csv' | 'json' | 'ndjson' | 'idx';

/** Failures whose message is for the client (quota, full or unavailable storage); others are internal. */
const STATED_FAILURES = new Set(['QuotaExceededError', 'StorageFullError', 'StorageUnavailableError']);

function formatOf(contentType: string | undefined, filename?: string): Format | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const name = (filename ?? '').toLowerCase();
  if (CSV_TYPES.includes(type) || name.endsWith('.csv')) return 'csv';
  if (NDJSON_TYPES.includes(type) || name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (type === 'application/json' || name.endsWith('.json')) return 'json';
  return null;
}

/** A raw body stored by the content-type parser below. */
interface StoredBody {
  stored: string;
}

function isStored(body: unknown): body is StoredBody {
  return typeof body === 'object' && body !== null && typeof (body as { stored?: unknown }).stored === 'string';
}

/** ?label for CSV (one column or several, comma-separated); refused for the other formats. */
function labelOption(format: Format, label: string | undefined): string | string[] | undefined {
  if (label === undefined) return undefined;
  if (format !== 'csv') throw new ApiError('invalid_request', '?label applies to CSV uploads only', { path: 'label', issues: [{ path: 'label', message: 'only for CSV', in: 'querystring' }] });
  return label.includes(',') ? label.split(',').map((l) => l.trim()) : label;
}

type StoredParts = Map<string, { key: string; filename: string; mimetype: string }>;

function multipartTooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `the multipart body exceeds the limit of ${limit} bytes (BODY_LIMIT_BYTES, all files together)`);
}

/**
 * Streams the multipart fields into the store: `images` + `labels` (IDX, gzipped or not) or one
 * `file`, at most `limit` bytes in all.
 */
async function readMultipart(request: FastifyRequest, s: Store, limit: number): Promise<StoredParts> {
  // Fastify's bodyLimit does not apply to multipart (the plugin reads the stream itself), and
  // busboy's fileSize is per file: the total is bounded here, by Content-Length up front and by
  // counting the files' bytes as they arrive (a chunked body has no Content-Length).
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw multipartTooLarge(limit);
  const files: StoredParts = new Map();
  let total = 0;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (!['images', 'labels', 'file'].includes(part.fieldname)) {
        part.file.resume();
        throw new ApiError('invalid_request', `unexpected multipart field ${quoteInput(part.fieldname)}: send "images" and "labels" (IDX) or "file"`, {
          path: inputPrefix(part.fieldname),
          issues: [{ path: inputPrefix(part.fieldname), message: 'unexpected field', in: 'multipart' }],
        });
      }
      const field = part.fieldname as 'images' | 'labels' | 'file';
      const stored = await storeRawBody(request, s, field, part.file, limit - total, () => multipartTooLarge(limit));
      // busboy stops a file at the per-file size limit and marks it truncated.
      if (part.file.truncated) throw multipartTooLarge(limit);
      total += stored.bytes;
      files.set(field, { key: stored.key, filename: part.filename, mimetype: part.mimetype });
    }
  } catch (err) {
    // busboy throws plain Errors for a body that is not valid multipart: that is the client's mistake.
    const known = err instanceof ApiError || (typeof (err as { code?: unknown }).code === 'string' && String((err as { code: string }).code).startsWith('FST_'));
    if (known) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ApiError('invalid_request', `malformed multipart body: ${message}`, { path: 'body', issues: [{ path: 'body', message, in: 'multipart' }] });
  }
  return files;
}

export function datasetRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  const limits = s.config.limits;

  /** CPU slots held by uploads, so one that goes on after its answer (202) can keep its slot. */
  const slots = new WeakMap<FastifyRequest, () => void>();

  /** Before the body is read (after authentication): a slot in the CPU pool (or 503), and clean-up of raw bodies. */
  const admit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const release = ctx.cpu.admit();
    slots.set(request, release);
    reply.raw.once('close', release);
    discardOnClose(request, reply, s);
  };

  /**
   * The conversion, from `processing` to a recorded dataset (`ready`), or to `failed` with the
   * parser's error (or the quota's, the storage's); the error is also the request's, if it still waits.
   */
  const convert = async (task: UploadTask, upload: RawUpload, log: FastifyBaseLogger, tenant: string, name: string | null, format: Format): Promise<DatasetMeta> => {
    const { id } = upload;
    try {
      const info = await ctx.cpu.upload(task);
      const meta = await recordDataset(s, { tenant, name, format }, id, info);
      await endUpload(s, id);
      return meta;
    } catch (err) {
      // The reason stays readable (GET /v1/datasets/:id) for a client that was answered 202 already.
      if (isDataError(err)) await failUpload(s, id, { path: err.path, message: err.message });
      else await failUpload(s, id, { path: 'body', message: STATED_FAILURES.has((err as Error).name) ? (err as Error).message : 'internal error: the dataset was not stored' });
      throw err;
    } finally {
      await discardRawUpload(s, upload).catch((err: unknown) => log.warn({ err, datasetId: id }, 'could not remove a raw upload'));
    }
  };

  return async (app) => {
    // Upload bodies go to the store as they arrive, for a CPU thread to parse (this plugin's scope
    // only: job specs stay JSON).
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser([...CSV_TYPES, ...NDJSON_TYPES, 'application/json'], (request, payload, done) => {
      const tooLarge = () => new ApiError('payload_too_large', `the body is larger than BODY_LIMIT_BYTES = ${limits.bodyBytes} bytes`);
      if (Number(request.headers['content-length']) > limits.bodyBytes) {
        done(tooLarge(), undefined);
        return;
      }
      storeRawBody(request, s, 'body', payload, limits.bodyBytes, tooLarge).then(
        ({ key }) => done(null, { stored: key } satisfies StoredBody),
        (err: Error) => done(err, undefined),
      );
    });
    await app.register(multipart, { limits: { fileSize: limits.bodyBytes, files: 2, fields: 10, parts: 12 }, throwFileSizeLimit: true });

    app.post(
      '/v1/datasets',
      {
        bodyLimit: limits.bodyBytes,
        // A tenant with no room left is refused before its body is read (or a CPU slot taken).
        preParsing: [async (request: FastifyRequest) => refuseWhenFull(s, request.tenant, 'a new dataset'), admit],
        // A body refused before its conversion started: its raw objects are gone before the answer is sent.
        onSend: async (request) => {
          await discardUnlessHandedOver(request, s);
        },
        schema: {
          summary: 'Upload a dataset',
          description:
            'CSV with a header row (text/csv, ?label=<column>), JSON or NDJSON rows {"features": number[], "label": number|number[]} ' +
            '(application/json, application/x-ndjson), or IDX images + labels as multipart fields "images" and "labels" (gzipped or not). ' +
            'Parsed off the event loop; 503 with Retry-After while API_CPU_THREADS + API_CPU_QUEUE uploads and predicts are in progress.',
          tags: ['datasets'],
          querystring: DatasetUploadQuery,
          response: { 201: DatasetSchema, 202: DatasetSchema, 403: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema, 507: ErrorBodySchema, ...errors, 503: ErrorBodySchema },
        },
      },
      async (request, reply) => {
        const query = request.query;
        let format: Format;
        let keys: UploadTask['keys'];
        if (request.isMultipart()) {
          const parts = await readMultipart(request, s, limits.bodyBytes);
          const images = parts.get('images');
          const labels = parts.get('labels');
          const file = parts.get('file');
          if (images !== undefined || labels !== undefined) {
            if (images === undefined || labels === undefined) {
              const missing = images === undefined ? 'images' : 'labels';
              throw new ApiError('invalid_dataset', `IDX upload needs both "images" and "labels"; "${missing}" is missing`, { path: missing, issues: [{ path: missing, message: 'missing', in: 'multipart' }] });
            }
            format = 'idx';
            keys = { images: images.key, labels: labels.key };
          } else if (file !== undefined) {
            const f = formatOf(file.mimetype, file.filename);
            if (f === null || f === 'idx') throw new ApiError('unsupported_media_type', `cannot tell the format of ${quoteInput(file.filename)}: use a .csv, .json or .ndjson file`);
            format = f;
            keys = { file: file.key };
          } else {
            throw new ApiError('invalid_dataset', 'the multipart body has no "images"/"labels" or "file" field', { path: 'file' });
          }
        } else {
          const f = formatOf(request.headers['content-type']);
          if (f === null || f === 'idx' || !isStored(request.body)) {
            throw new ApiError('unsupported_media_type', 'send text/csv, application/json, application/x-ndjson or multipart/form-data (IDX: images + labels)');
          }
          format = f;
          keys = { file: request.body.stored };
        }
        const label = labelOption(format, query.label);
        const raw = rawUploadOf(request);
        if (raw === null) throw new Error('an upload body was stored without its upload');
        const { id } = raw;
        const task: UploadTask = {
          kind: 'upload',
          format,
          keys,
          limits: { maxRows: limits.datasetRows, maxFeatures: limits.datasetFeatures, maxBytes: limits.uncompressedBytes },
          outKey: datasetKey(id),
          scratchKey: uploadKey(id, 'targets'),
        };
        if (label !== undefined) task.label = label;
        if (query.task !== undefined) task.task = query.task;
        // A tenant with no room left is refused before the thread parses anything; recordDataset
        // charges the file's exact size atomically (and removes the file when it does not fit).
        await checkQuotaRoom(s, request.tenant, 1, 'this dataset');
        const upload = await startUpload(s, { id, tenant: request.tenant, name: query.name ?? null, format });
        // From here the conversion removes the raw objects and releases the lease, however it ends.
        raw.handedOver = true;
        const converting = convert(task, raw, request.log, request.tenant, query.name ?? null, format);
        const outcome = await Promise.race([
          converting.then((meta) => ({ meta }), (err: unknown) => ({ err })),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), query.wait * 1000).unref()),
        ]);
        if (outcome === null) {
          // Not done within ?wait: answer 202; the conversion goes on with its CPU slot.
          const release = slots.get(request);
          if (release !== undefined) reply.raw.off('close', release);
          converting
            .then(
              (meta) => request.log.info({ datasetId: meta.id, rows: meta.rows, features: meta.features, format }, 'dataset uploaded'),
              (err: unknown) => request.log.info({ datasetId: id, err: err instanceof Error ? err.message : String(err) }, 'dataset upload failed'),
            )
            .finally(() => release?.());
          return reply.code(202).header('Location', `/v1/datasets/${id}`).send(presentDatasetUpload(upload));
        }
        if ('err' in outcome) throw outcome.err;
        const { meta } = outcome;
        request.log.info({ datasetId: meta.id, rows: meta.rows, features: meta.features, format }, 'dataset uploaded');
        return reply.code(201).header('Location', `/v1/datasets/${meta.id}`).send(presentDataset(meta));
      },
    );

    app.get(
      '/v1/datasets',
      { schema: { summary: 'List datasets, newest first', tags: ['datasets'], querystring: DatasetListQuery, response: { 200: DatasetListSchema, ...errors } } },
      async (request) => {
        const page = await listDatasets(s, request.tenant, request.query);
        return { items: page.items.map(presentDataset), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/v1/datasets/:id',
      { schema: { summary: 'Get a dataset (status processing, ready or failed with the parser\'s error)', tags: ['datasets'], params: DatasetIdParams, response: { 200: DatasetSchema, ...errors } } },
      async (request) => {
        const meta = await getDatasetMeta(s, request.params.id, request.tenant);
        if (meta !== null) return presentDataset(meta);
        const upload = await getUpload(s, request.params.id, request.tenant);
        if (upload === null) throw notFound('dataset');
        return presentDatasetUpload(upload);
      },
    );

    app.delete(
      '/v1/datasets/:id',
      {
        schema: {
          summary: 'Delete a dataset',
          description: '409 while a queued or running job uses it.',
          tags: ['datasets'],
          params: DatasetIdParams,
          response: { 204: z.undefined(), 409: ErrorBodySchema, ...errors },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        if ((await getDatasetMeta(s, id, request.tenant)) === null) throw notFound('dataset');
        const users = await jobsUsingDataset(s, request.tenant, id);
        if (users.length > 0) throw new ApiError('dataset_in_use', `the dataset is used by ${users.length} queued or running job(s); cancel them or wait`, { jobs: users });
        if (!(await deleteDataset(s, id, request.tenant))) throw notFound('dataset');
        return reply.code(204).send();
      },
    );
  };
}
