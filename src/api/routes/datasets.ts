// /v1/datasets: upload (CSV, JSON/NDJSON rows, IDX images+labels as multipart), list, get, delete.
// Parsing is src/data's; this file picks the parser from the content type and stores the result.
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DataError, parseCsv, parseIdx, parseJsonRows, type LoadedDataset, type ParseOptions } from '../../data/index.js';
import { inputPrefix, quoteInput } from '../../data/quote-input.js';
import { deleteDataset, getDatasetMeta, jobsUsingDataset, listDatasets, saveDataset } from '../../store/datasets.js';
import type { RouteContext } from '../context.js';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { presentDataset } from '../present.js';
import { DatasetIdParams, DatasetListQuery, DatasetListSchema, DatasetSchema, DatasetUploadQuery } from '../schemas.js';
import { z } from 'zod';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 413: ErrorBodySchema, 415: ErrorBodySchema };

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

function parse(format: Exclude<Format, 'idx'>, bytes: Uint8Array, query: z.infer<typeof DatasetUploadQuery>, options: ParseOptions): LoadedDataset {
  if (format === 'csv') {
    const label = query.label?.includes(',') ? query.label.split(',').map((l) => l.trim()) : query.label;
    return parseCsv(bytes, label === undefined ? options : { ...options, label });
  }
  if (query.label !== undefined) throw new ApiError('invalid_request', '?label applies to CSV uploads only', { path: 'label', issues: [{ path: 'label', message: 'only for CSV', in: 'querystring' }] });
  return parseJsonRows(bytes, options);
}

type Files = Map<string, { bytes: Buffer; filename: string; mimetype: string }>;

function multipartTooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `the multipart body exceeds the limit of ${limit} bytes (BODY_LIMIT_BYTES, all files together)`);
}

/** Reads the multipart fields: `images` + `labels` (IDX, gzipped or not) or one `file`, at most `limit` bytes in all. */
async function readMultipart(request: FastifyRequest, limit: number): Promise<{ files: Files }> {
  // Fastify's bodyLimit does not apply to multipart (the plugin reads the stream itself), and
  // busboy's fileSize is per file: the total is bounded here, by Content-Length up front and by
  // counting the files' bytes as they arrive (a chunked body has no Content-Length).
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw multipartTooLarge(limit);
  const files: Files = new Map();
  try {
    await readParts(request, files, limit);
  } catch (err) {
    // busboy throws plain Errors for a body that is not valid multipart: that is the client's mistake.
    const known = err instanceof ApiError || (typeof (err as { code?: unknown }).code === 'string' && String((err as { code: string }).code).startsWith('FST_'));
    if (known) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new ApiError('invalid_request', `malformed multipart body: ${message}`, { path: 'body', issues: [{ path: 'body', message, in: 'multipart' }] });
  }
  return { files };
}

async function readParts(request: FastifyRequest, files: Files, limit: number): Promise<void> {
  let total = 0;
  for await (const part of request.parts()) {
    if (part.type !== 'file') continue;
    const chunks: Buffer[] = [];
    for await (const chunk of part.file) {
      total += (chunk as Buffer).length;
      if (total > limit) throw multipartTooLarge(limit);
      chunks.push(chunk as Buffer);
    }
    if (part.file.truncated) throw multipartTooLarge(limit);
    if (!['images', 'labels', 'file'].includes(part.fieldname)) {
      throw new ApiError('invalid_request', `unexpected multipart field ${quoteInput(part.fieldname)}: send "images" and "labels" (IDX) or "file"`, {
        path: inputPrefix(part.fieldname),
        issues: [{ path: inputPrefix(part.fieldname), message: 'unexpected field', in: 'multipart' }],
      });
    }
    files.set(part.fieldname, { bytes: Buffer.concat(chunks), filename: part.filename, mimetype: part.mimetype });
  }
}

export function datasetRoutes(ctx: RouteContext): FastifyPluginAsyncZod {
  const s = ctx.store;
  const limits = s.config.limits;
  const parseOptions = (task: 'classification' | 'regression' | undefined): ParseOptions => {
    const o: ParseOptions = { limits: { maxRows: limits.datasetRows, maxFeatures: limits.datasetFeatures, maxBytes: limits.uncompressedBytes } };
    if (task !== undefined) o.task = task;
    return o;
  };

  return async (app) => {
    // Uploads arrive as raw bytes for the parsers (this plugin's scope only: job specs stay JSON).
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser([...CSV_TYPES, ...NDJSON_TYPES, 'application/json'], { parseAs: 'buffer', bodyLimit: limits.bodyBytes }, (_req, body, done) => {
      done(null, body);
    });
    await app.register(multipart, { limits: { fileSize: limits.bodyBytes, files: 2, fields: 10, parts: 12 }, throwFileSizeLimit: true });

    app.post(
      '/v1/datasets',
      {
        bodyLimit: limits.bodyBytes,
        schema: {
          summary: 'Upload a dataset',
          description:
            'CSV with a header row (text/csv, ?label=<column>), JSON or NDJSON rows {"features": number[], "label": number|number[]} ' +
            '(application/json, application/x-ndjson), or IDX images + labels as multipart fields "images" and "labels" (gzipped or not).',
          tags: ['datasets'],
          querystring: DatasetUploadQuery,
          response: { 201: DatasetSchema, 507: ErrorBodySchema, ...errors },
        },
      },
      async (request, reply) => {
        const query = request.query;
        const options = parseOptions(query.task);
        let loaded: LoadedDataset;
        let format: Format;
        if (request.isMultipart()) {
          const { files } = await readMultipart(request, limits.bodyBytes);
          const images = files.get('images');
          const labels = files.get('labels');
          const file = files.get('file');
          if (images !== undefined || labels !== undefined) {
            if (images === undefined || labels === undefined) {
              const missing = images === undefined ? 'images' : 'labels';
              throw new ApiError('invalid_dataset', `IDX upload needs both "images" and "labels"; "${missing}" is missing`, { path: missing, issues: [{ path: missing, message: 'missing', in: 'multipart' }] });
            }
            format = 'idx';
            loaded = parseIdx(images.bytes, labels.bytes, options);
          } else if (file !== undefined) {
            const f = formatOf(file.mimetype, file.filename);
            if (f === null || f === 'idx') throw new ApiError('unsupported_media_type', `cannot tell the format of ${quoteInput(file.filename)}: use a .csv, .json or .ndjson file`);
            format = f;
            loaded = parse(f, file.bytes, query, options);
          } else {
            throw new ApiError('invalid_dataset', 'the multipart body has no "images"/"labels" or "file" field', { path: 'file' });
          }
        } else {
          const f = formatOf(request.headers['content-type']);
          if (f === null || f === 'idx' || !Buffer.isBuffer(request.body)) {
            throw new ApiError('unsupported_media_type', 'send text/csv, application/json, application/x-ndjson or multipart/form-data (IDX: images + labels)');
          }
          format = f;
          loaded = parse(f, request.body, query, options);
        }
        if (loaded.dataset.n === 0) throw new DataError('rows', 'the dataset has no rows');
        const meta = await saveDataset(s, { tenant: request.tenant, name: query.name ?? null, format }, loaded);
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
