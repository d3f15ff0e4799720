// The one error catalog: every error the API answers with, its HTTP status, and the one handler
// that maps thrown errors (ours, zod validation, Fastify's, the dataset parsers') to
// {"error": {"code", "message", "details"}}. 5xx details are hidden from clients and logged; every
// answer is bounded in size.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { inputPrefix, quoteInput } from '../data/quote-input.js';
import { CorruptJobRecordError } from '../store/job-record.js';
import { StorageUnavailableError } from '../storage/storage-unavailable.js';
import { StorageFullError } from '../store/storage-full.js';
import { CheckpointCorruptError } from '../store/verified-checkpoint.js';

export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_spec: 400,
  invalid_sweep: 400,
  invalid_dataset: 400,
  invalid_inputs: 400,
  invalid_url: 400,
  unauthorized: 401,
  quota_exceeded: 403,
  not_found: 404,
  job_finished: 409,
  sweep_finished: 409,
  idempotency_conflict: 409,
  no_checkpoint: 409,
  dataset_in_use: 409,
  dataset_processing: 409,
  too_many_webhooks: 409,
  payload_too_large: 413,
  dataset_too_large: 413,
  request_timeout: 408,
  unsupported_media_type: 415,
  too_many_queued_jobs: 429,
  too_many_pending_evaluations: 429,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  insufficient_storage: 507,
  checkpoint_corrupt: 500,
  job_record_corrupt: 500,
  unavailable: 503,
  insufficient_memory: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem at one place: `path` is dotted ("model.layers.1.units"), `in` the request part. */
export interface Issue {
  path: string;
  message: string;
  in?: 'body' | 'querystring' | 'params' | 'headers' | 'multipart';
}

export interface ErrorDetails {
  /** The first failing field's path (also in issues). */
  path?: string;
  issues?: Issue[];
  [key: string]: unknown;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

/** An ApiError for a list of issues, details.path = the first issue's path. */
export function issuesError(code: ErrorCode, issues: Issue[], message?: string): ApiError {
  const first = issues[0];
  const msg = message ?? (first ? `${first.path || '(root)'}: ${first.message}` : 'invalid request');
  return new ApiError(code, issues.length > 1 ? `${msg} (and ${issues.length - 1} more)` : msg, { path: first?.path ?? '', issues });
}

export const notFound = (what: string): ApiError => new ApiError('not_found', `${what} not found`);

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export function errorBody(code: string, message: string, details: ErrorDetails = {}): ErrorBody {
  return { error: { code, message, details } };
}

// Bounds on what an error answer carries: enough to say what is wrong and where, never an echo of
// a large input (a 50 MB CSV cell once came back as a 100 MB 400).
const MAX_MESSAGE_CHARS = 1000;
const MAX_PATH_CHARS = 200;
const MAX_ISSUES = 20;
const MAX_DETAILS_CHARS = 8192;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function boundedIssues(issues: Issue[]): Issue[] {
  return issues.slice(0, MAX_ISSUES).map((i) => ({ ...i, path: clip(String(i.path), MAX_PATH_CHARS), message: clip(String(i.message), MAX_MESSAGE_CHARS) }));
}

function serializedLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** An error body within the bounds above, whatever the message and details hold. */
export function boundedErrorBody(code: string, message: string, details: ErrorDetails = {}): ErrorBody {
  let d: ErrorDetails = { ...details };
  if (typeof d.path === 'string') d.path = clip(d.path, MAX_PATH_CHARS);
  if (Array.isArray(d.issues)) {
    if (d.issues.length > MAX_ISSUES) d.issuesOmitted = d.issues.length - MAX_ISSUES;
    d.issues = boundedIssues(d.issues);
  }
  if (serializedLength(d) > MAX_DETAILS_CHARS) {
    d = { ...(d.path === undefined ? {} : { path: d.path }), ...(d.issues === undefined ? {} : { issues: d.issues.slice(0, 3) }), detailsOmitted: true };
  }
  return errorBody(code, clip(message, MAX_MESSAGE_CHARS), d);
}

const INSTANCE_PATH = /^\//;

function fastifyValidationIssues(err: FastifyError): Issue[] {
  const where = (err.validationContext ?? 'body') as Issue['in'];
  return (err.validation ?? []).map((v) => {
    const base = v.instancePath.replace(INSTANCE_PATH, '').split('/').filter((p) => p.length > 0);
    const keys = (v.params as { keys?: unknown }).keys;
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      return { path: [...base, ...keys.map((k) => inputPrefix(String(k)))].join('.'), message: `unknown field${keys.length > 1 ? 's' : ''} ${keys.slice(0, 10).map((k) => quoteInput(String(k))).join(', ')}${keys.length > 10 ? ` (${keys.length} in all)` : ''}`, in: where };
    }
    return { path: base.join('.'), message: v.message ?? 'invalid', in: where };
  });
}

/** Fastify's own error codes that are the client's fault. */
const FASTIFY_CLIENT_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_PROTO_VIOLATION: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

interface DataErrorLike {
  name: string;
  path: string;
  code: string;
  message: string;
}

export function isDataError(err: unknown): err is DataErrorLike {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'DataError' && typeof (err as { path?: unknown }).path === 'string';
}

interface QuotaErrorLike {
  name: string;
  message: string;
  used: number;
  requested: number;
  limit: number;
}

/** The store's QuotaExceededError (recognised by shape, as the parsers' DataError is). */
function isQuotaError(err: unknown): err is QuotaErrorLike {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'QuotaExceededError' && typeof (err as { limit?: unknown }).limit === 'number';
}

function send(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  const { code, message, details } = body.error;
  // Refused callers get their answer and lose the connection (a flood of them holds no sockets);
  // an answer sent before the body has arrived closes too, so the body is never read.
  if (status === 401 || status === 429 || reply.request.raw.complete === false) reply.header('Connection', 'close');
  return reply.code(status).type('application/json; charset=utf-8').send(boundedErrorBody(code, message, details));
}

/** The app's one error handler. */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof ApiError) {
    if (err.status >= 500) request.log.error({ err, reqId: request.id }, err.message);
    const retryAfter = err.details.retryAfterSeconds;
    if (typeof retryAfter === 'number') reply.header('Retry-After', String(retryAfter));
    else if (err.code === 'unavailable') reply.header('Retry-After', '5');
    return send(reply, err.status, errorBody(err.code, err.message, err.details));
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const e = issuesError('invalid_request', fastifyValidationIssues(err));
    return send(reply, 400, errorBody(e.code, e.message, e.details));
  }
  if (Array.isArray(err.validation) && err.validation.length > 0) {
    const e = issuesError('invalid_request', fastifyValidationIssues(err));
    return send(reply, 400, errorBody(e.code, e.message, e.details));
  }
  if (err instanceof CheckpointCorruptError) {
    // Our data, not the client's: a 500 that says what is wrong, logged for the operator.
    request.log.error({ err, reqId: request.id, jobId: err.jobId, epoch: err.epoch }, err.message);
    return send(reply, 500, errorBody('checkpoint_corrupt', err.message, { epoch: err.epoch, requestId: request.id }));
  }
  if (err instanceof CorruptJobRecordError) {
    request.log.error({ err, reqId: request.id, jobId: err.jobId, field: err.field }, err.message);
    return send(reply, 500, errorBody('job_record_corrupt', err.message, { field: err.field, requestId: request.id }));
  }
  if (err instanceof StorageFullError) {
    // Not the client's fault and not a bug: the operator has to free space; nothing was stored.
    request.log.error({ err, reqId: request.id }, err.message);
    return send(reply, 507, errorBody('insufficient_storage', "the server's storage (DATA_DIR) is full: nothing was stored; retry once space is freed", { requestId: request.id }));
  }
  if (err instanceof StorageUnavailableError) {
    // The object store failed or was too slow past its retries: nothing half-written was kept.
    request.log.error({ err, reqId: request.id }, err.message);
    reply.header('Retry-After', '5');
    return send(reply, 503, errorBody('unavailable', 'the object storage is unavailable; nothing was stored or served; retry shortly', { requestId: request.id }));
  }
  if (isDataError(err)) {
    const code: ErrorCode = err.code === 'dataset_too_large' ? 'dataset_too_large' : 'invalid_dataset';
    return send(reply, ERROR_STATUS[code], errorBody(code, err.message, { path: err.path, issues: [{ path: err.path, message: err.message }] }));
  }
  if (isQuotaError(err)) {
    return send(reply, 403, errorBody('quota_exceeded', err.message, { limit: err.limit, used: err.used, requested: err.requested, setting: 'MAX_TENANT_BYTES' }));
  }
  const mapped = err.code ? FASTIFY_CLIENT_ERRORS[err.code] : undefined;
  if (mapped !== undefined) {
    return send(reply, ERROR_STATUS[mapped], errorBody(mapped, err.message, {}));
  }
  if (err.statusCode === 429) {
    return send(reply, 429, errorBody('rate_limited', err.message || 'rate limit exceeded', {}));
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return send(reply, 400, errorBody('invalid_json', `the body is not valid JSON: ${inputPrefix(err.message, 200)}`, {}));
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return send(reply, status, errorBody('invalid_request', err.message, {}));
  }
  // A Redis outage is not the client's fault and not a bug: say so, and when to retry.
  const unavailable = /ECONNREFUSED|Connection is closed|MaxRetriesPerRequest|ETIMEDOUT|Reached the max retries|Command timed out|Stream isn't writeable/i.test(err.message);
  request.log.error({ err, reqId: request.id }, 'request failed');
  if (unavailable) {
    reply.header('Retry-After', '5');
    return send(reply, 503, errorBody('unavailable', 'a backing service is unavailable; retry shortly', { requestId: request.id }));
  }
  return send(reply, 500, errorBody('internal', 'internal error', { requestId: request.id }));
}

/** 404 for unknown routes, in the same format. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = (request.url.split('?')[0] ?? '').slice(0, 200);
  return send(reply, 404, errorBody('not_found', `no route ${request.method} ${path}`, {}));
}
