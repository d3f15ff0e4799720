// /v1/datasets: upload (CSV, JSON/NDJSON rows, IDX images+labels as multipart), list, get, delete.
// The body is spooled to disk as it arrives, parsed by src/data in a CPU thread (cpu/upload-task.ts)
// that stores the dataset object; this file picks the format and indexes the result.
import multipart from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deleteDataset, getDatasetMeta, jobsUsingDataset, listDatasets, recordDataset } from '../../store/datasets.js';
import { newDatasetId } from '../../store/ids.js';
import { datasetKey } from '../../store/object-keys.js';
import { checkQuotaRoom, refuseWhenFull } from '../../store/usage.js';
import type { RouteContext } from '../context.js';
import { inputPrefix, quoteInput } from '../../data/quote-input.js';
import type { UploadTask } from '../cpu/protocol.js';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { presentDataset } from '../present.js';
import { DatasetIdParams, DatasetListQuery, DatasetListSchema, DatasetSchema, DatasetUploadQuery } from '../schemas.js';
import { removeSpooled, removeSpooledOnClose, spoolDir, spoolToFile } from '../spool.js';
import { z } from 'zod';

// Answers every route may give (401, 429, 503, …) are added to the document in one place
// (openapi-contract.ts); routes declare only their own.
const errors = { 400: ErrorBodySchema };

const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];
const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];

type Format = 'csv' | 'json' | 'ndjson' | 'idx';

function formatOf(contentType: string | undefined, filename?: string): Format | null {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const name = (filename ?? '').toLowerCase();
  if (CSV_TYPES.includes(type) || name.endsWith('.csv')) return 'csv';
  if (NDJSON_TYPES.includes(type) || name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (type === 'application/json' || name.endsWith('.json')) return 'json';
  return null;
}

/** A raw body spooled to disk by the content-type parser below. */
interface SpooledBody {
  spooled: string;
}

function isSpooled(body: unknown): body is SpooledBody {
  return typeof body === 'object' && body !== null && typeof (body as { spooled?: unknown }).spooled === 'string';
}

/** ?label for CSV (one column or several, comma-separated); refused for the other formats. */
function labelOption(format: Format, label: string | undefined): string | string[] | undefined {
  if (label === undefined) return undefined;
  if (format !== 'csv') throw new ApiError('invalid_request', '?label applies to CSV uploads only', { path: 'label', issues: [{ path: 'label', message: 'only for CSV', in: 'querystring' }] });
  return label.includes(',') ? label.split(',').map((l) => l.trim()) : label;
}

type Spooled = Map<string, { path: string; filename: string; mimetype: string }>;

function multipartTooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `the multipart body exceeds the limit of ${limit} bytes (BODY_LIMIT_BYTES, all files together)`);
}

/**
 * Spools the multipart fields to disk: `images` + `labels` (IDX, gzipped or not) or one `file`,
 * at most `limit` bytes in all.
 */
async function readMultipart(request: FastifyRequest, dir: string, limit: number): Promise<Spooled> {
  // Fastify's bodyLimit does not apply to multipart (the plugin reads the stream itself), and
  // busboy's fileSize is per file: the total is bounded here, by Content-Length up front and by
  // counting the files' bytes as they arrive (a chunked body has no Content-Length).
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw multipartTooLarge(limit);
  const files: Spooled = new Map();
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
      const spooled = await spoolToFile(request, part.file, dir, limit - total, `multipart field "${part.fieldname}"`).catch((err: unknown) => {
        throw err instanceof ApiError && err.code === 'payload_too_large' ? multipartTooLarge(limit) : err;
      });
      // busboy stops a file at the per-file size limit and marks it truncated.
      if (part.file.truncated) throw multipartTooLarge(limit);
      total += spooled.bytes;
      files.set(part.fieldname, { path: spooled.file, filename: part.filename, mimetype: part.mimetype });
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
  const tmp = spoolDir(s.config.dataDir);

  /** Before the body is read (after authentication): a slot in the CPU pool (or 503), and clean-up of spooled files. */
  const admit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const release = ctx.cpu.admit();
    reply.raw.once('close', release);
    removeSpooledOnClose(request, reply);
  };

  return async (app) => {
    // Upload bodies go to disk as they arrive, for a CPU thread to parse (this plugin's scope
    // only: job specs stay JSON).
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser([...CSV_TYPES, ...NDJSON_TYPES, 'application/json'], (request, payload, done) => {
      const declared = Number(request.headers['content-length']);
      if (declared > limits.bodyBytes) {
        done(new ApiError('payload_too_large', `the body is larger than BODY_LIMIT_BYTES = ${limits.bodyBytes} bytes`), undefined);
        return;
      }
      spoolToFile(request, payload, tmp, limits.bodyBytes, 'the body').then(
        ({ file }) => done(null, { spooled: file } satisfies SpooledBody),
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
        // The thread is done with the spooled files once an answer is ready: gone before it is sent.
        onSend: async (request) => {
          await removeSpooled(request);
        },
        schema: {
          summary: 'Upload a dataset',
          description:
            'CSV with a header row (text/csv, ?label=<column>), JSON or NDJSON rows {"features": number[], "label": number|number[]} ' +
            '(application/json, application/x-ndjson), or IDX images + labels as multipart fields "images" and "labels" (gzipped or not). ' +
            'Parsed off the event loop; 503 with Retry-After while API_CPU_THREADS + API_CPU_QUEUE uploads and predicts are in progress.',
          tags: ['datasets'],
          querystring: DatasetUploadQuery,
          response: { 201: DatasetSchema, 403: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema, 507: ErrorBodySchema, ...errors, 503: ErrorBodySchema },
        },
      },
      async (request, reply) => {
        const query = request.query;
        let format: Format;
        let files: UploadTask['files'];
        if (request.isMultipart()) {
          const parts = await readMultipart(request, tmp, limits.bodyBytes);
          const images = parts.get('images');
          const labels = parts.get('labels');
          const file = parts.get('file');
          if (images !== undefined || labels !== undefined) {
            if (images === undefined || labels === undefined) {
              const missing = images === undefined ? 'images' : 'labels';
              throw new ApiError('invalid_dataset', `IDX upload needs both "images" and "labels"; "${missing}" is missing`, { path: missing, issues: [{ path: missing, message: 'missing', in: 'multipart' }] });
            }
            format = 'idx';
            files = { images: images.path, labels: labels.path };
          } else if (file !== undefined) {
            const f = formatOf(file.mimetype, file.filename);
            if (f === null || f === 'idx') throw new ApiError('unsupported_media_type', `cannot tell the format of ${quoteInput(file.filename)}: use a .csv, .json or .ndjson file`);
            format = f;
            files = { file: file.path };
          } else {
            throw new ApiError('invalid_dataset', 'the multipart body has no "images"/"labels" or "file" field', { path: 'file' });
          }
        } else {
          const f = formatOf(request.headers['content-type']);
          if (f === null || f === 'idx' || !isSpooled(request.body)) {
            throw new ApiError('unsupported_media_type', 'send text/csv, application/json, application/x-ndjson or multipart/form-data (IDX: images + labels)');
          }
          format = f;
          files = { file: request.body.spooled };
        }
        const label = labelOption(format, query.label);
        const id = newDatasetId();
        const task: UploadTask = {
          kind: 'upload',
          format,
          files,
          limits: { maxRows: limits.datasetRows, maxFeatures: limits.datasetFeatures, maxBytes: limits.uncompressedBytes },
          outKey: datasetKey(id),
        };
        if (label !== undefined) task.label = label;
        if (query.task !== undefined) task.task = query.task;
        // A tenant with no room left is refused before the thread parses anything; recordDataset
        // charges the file's exact size atomically (and removes the file when it does not fit).
        await checkQuotaRoom(s, request.tenant, 1, 'this dataset');
        const info = await ctx.cpu.upload(task);
        const meta = await recordDataset(s, { tenant: request.tenant, name: query.name ?? null, format }, id, info);
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
      { schema: { summary: 'Get a dataset', tags: ['datasets'], params: DatasetIdParams, response: { 200: DatasetSchema, ...errors } } },
      async (request) => {
        const meta = await getDatasetMeta(s, request.params.id, request.tenant);
        if (meta === null) throw notFound('dataset');
        return presentDataset(meta);
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
