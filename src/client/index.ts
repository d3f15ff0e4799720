// The typed traind client (`import { createTraindClient } from 'traind/client'`): every route with
// the request and response types generated from openapi/openapi.json (openapi-fetch over
// schema.ts), plus what every integrator would otherwise write: uploading a dataset, waiting for
// a job to finish, and following its events with automatic Last-Event-ID reconnects. Works with
// any fetch (Node ≥ 18, browsers). Imports nothing from the server.
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';
import { followEventStream, type FollowOptions, type JobEvent, type SweepEvent } from './sse.js';

export type { components, paths } from './schema.js';
export {
  EventStreamError,
  parseEventStream,
  type FollowOptions,
  type JobEvent,
  type MetricsEvent,
  type ProgressEvent,
  type ServerEvent,
  type StatusEvent,
  type SweepEvent,
} from './sse.js';

export type Job = components['schemas']['Job'];
export type JobSpec = components['schemas']['JobSpecInput'];
export type Dataset = components['schemas']['Dataset'];
export type MetricsRecord = components['schemas']['MetricsRecord'];
export type ErrorBody = components['schemas']['Error'];
export type JobSummary = components['schemas']['JobSummary'];
export type JobStatus = Job['status'];
export type PredictResponse = components['schemas']['PredictResponse'];
export type Evaluation = components['schemas']['Evaluation'];
export type EvaluateRequest = components['schemas']['EvaluateRequestInput'];
export type Sweep = components['schemas']['Sweep'];
export type SweepSpec = components['schemas']['SweepSpecInput'];
export type SweepSummary = components['schemas']['SweepSummary'];

export interface TraindClientOptions {
  /** e.g. "http://127.0.0.1:3000" (no trailing /v1). */
  baseUrl: string;
  /** A tenant's API key (sent as a Bearer token); omit for a loopback server without keys. */
  apiKey?: string;
  fetch?: typeof fetch;
}

export type DatasetFormat = 'csv' | 'json' | 'ndjson';

/** Rows for predict: JSON rows, float32 rows back to back, or an IDX images file's bytes. */
export type PredictInput = number[][] | Float32Array | { idx: Uint8Array };
/** safetensors (the stored file) or onnx (the inference path exported for ONNX Runtime). */
export type CheckpointFormat = 'safetensors' | 'onnx';

export interface UploadOptions {
  name?: string;
  /** CSV: the label column(s), comma-separated. */
  label?: string;
  task?: 'classification' | 'regression';
  /**
   * Seconds the server holds the answer while it converts the upload (default 60). Past them it
   * answers 202 and the client polls until the dataset is ready; with 0 the client returns the
   * `processing` dataset at once (waitForDataset later).
   */
  wait?: number;
}

const CONTENT_TYPES: Record<DatasetFormat, string> = { csv: 'text/csv', json: 'application/json', ndjson: 'application/x-ndjson' };
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const EVALUATION_DONE = new Set(['completed', 'failed']);

/** The float32 values as little-endian bytes (a view of them on a little-endian host). */
function littleEndianBytes(values: Float32Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

/** A non-2xx answer: the HTTP status and the API's error body (`error.code`, `error.message`). */
export class TraindError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
  ) {
    super(body?.error ? `${status} ${body.error.code}: ${body.error.message}` : `HTTP ${status}`);
    this.name = 'TraindError';
  }
}

export interface TraindClient {
  /** Every route, typed: `client.api.GET('/v1/jobs/{id}', { params: { path: { id } } })`. */
  api: Client<paths>;
  submitJob(spec: JobSpec, options?: { idempotencyKey?: string }): Promise<Job>;
  getJob(id: string): Promise<Job>;
  cancelJob(id: string): Promise<Job>;
  /** Polls until the job is completed, failed or cancelled (or the timeout passes: TraindError 408 is not used, an Error is thrown). */
  waitForJob(id: string, options?: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal }): Promise<Job>;
  /** Every metrics record of the job so far, oldest first (pages through the cursor). */
  allMetrics(id: string, options?: { after?: string }): Promise<MetricsRecord[]>;
  /**
   * The job's events until its terminal status, reconnecting with Last-Event-ID: metrics records
   * and status changes (each exactly once), and while it trains within-epoch `progress` (ephemeral).
   */
  followJob(id: string, options?: FollowOptions): AsyncGenerator<JobEvent>;
  /** Uploads CSV, JSON rows or NDJSON; resolves with the ready dataset (a failed conversion throws TraindError 400 with the parser's path). */
  uploadDataset(body: string | Uint8Array, format: DatasetFormat, options?: UploadOptions): Promise<Dataset>;
  /** Uploads IDX images and labels (gzipped or not), as MNIST ships them. */
  uploadIdx(images: Uint8Array, labels: Uint8Array, options?: Omit<UploadOptions, 'label'>): Promise<Dataset>;
  /** Every job (newest first), optionally only those with one status (pages through the cursor). */
  listJobs(options?: { status?: JobStatus }): Promise<JobSummary[]>;
  /** Every ready dataset, newest first (pages through the cursor). */
  listDatasets(): Promise<Dataset[]>;
  /** One dataset: status processing, ready or failed (with the parser's error). */
  getDataset(id: string): Promise<Dataset>;
  /** Polls a processing dataset until it is ready; a failed one throws TraindError 400 invalid_dataset naming the parser's path. */
  waitForDataset(id: string, options?: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal }): Promise<Dataset>;
  /**
   * Predicts rows with the job's best checkpoint: JSON rows, a Float32Array of rows back to back
   * (sent as little-endian float32, application/octet-stream), or `{idx}` the bytes of an IDX
   * images file, gzipped or not (application/x-idx). The outputs are the same whatever the form.
   */
  predict(id: string, inputs: PredictInput): Promise<PredictResponse>;
  /**
   * Scores the job's checkpoint ("best" unless `checkpoint` says an epoch) on a dataset, in a worker.
   * With `wait` (seconds, ≤ 60) the server holds the answer until the evaluation finished or the
   * time ran out: the result is in the returned evaluation when its status is completed.
   */
  evaluate(id: string, request: EvaluateRequest, options?: { wait?: number }): Promise<Evaluation>;
  getEvaluation(id: string): Promise<Evaluation>;
  /** Polls an evaluation until it is completed or failed (or the timeout passes: an Error is thrown). */
  waitForEvaluation(id: string, options?: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal }): Promise<Evaluation>;
  submitSweep(spec: SweepSpec): Promise<Sweep>;
  getSweep(id: string): Promise<Sweep>;
  cancelSweep(id: string): Promise<Sweep>;
  /** Every sweep, newest first (pages through the cursor). */
  listSweeps(): Promise<SweepSummary[]>;
  /** Polls until the sweep is completed or cancelled. */
  waitForSweep(id: string, options?: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal }): Promise<Sweep>;
  /** The sweep's events (trial_started, trial_reported, trial_pruned, trial_finished) until sweep_finished, reconnecting with Last-Event-ID. */
  followSweep(id: string, options?: FollowOptions): AsyncGenerator<SweepEvent>;
  /** One epoch's checkpoint, or the best one, as safetensors bytes (or an ONNX model with format 'onnx'). */
  downloadCheckpoint(id: string, epoch: number | 'best', format?: CheckpointFormat): Promise<Uint8Array>;
}

export function createTraindClient(options: TraindClientOptions): TraindClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const auth: Record<string, string> = options.apiKey !== undefined ? { authorization: `Bearer ${options.apiKey}` } : {};
  const api = createClient<paths>({ baseUrl, headers: auth, fetch: fetchImpl });

  async function unwrap<T>(res: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    const { data, error, response } = await res;
    if (!response.ok || data === undefined) throw new TraindError(response.status, error as ErrorBody | undefined);
    return data;
  }

  async function upload(body: string | Blob | FormData, contentType: string | null, o: UploadOptions): Promise<Dataset> {
    const query = new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined) as [string, string][]);
    const url = `${baseUrl}/v1/datasets${query.size > 0 ? `?${query}` : ''}`;
    const res = await fetchImpl(url, { method: 'POST', headers: { ...auth, ...(contentType !== null ? { 'content-type': contentType } : {}) }, body });
    const json = (await res.json().catch(() => undefined)) as unknown;
    if (!res.ok) throw new TraindError(res.status, json as ErrorBody | undefined);
    const dataset = json as Dataset;
    // 202: still converting; wait for it unless the caller asked not to.
    return res.status === 202 && o.wait !== 0 ? client.waitForDataset(dataset.id) : dataset;
  }

  /** Follows nextCursor until the last page. */
  async function allPages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    for (;;) {
      const p = await page(cursor);
      out.push(...p.items);
      if (p.items.length === 0 || p.nextCursor === null || p.nextCursor === cursor) return out;
      cursor = p.nextCursor;
    }
  }

  const client: TraindClient = {
    api,
    submitJob: (spec, o = {}) =>
      unwrap(api.POST('/v1/jobs', { body: spec, ...(o.idempotencyKey !== undefined ? { headers: { 'idempotency-key': o.idempotencyKey } } : {}) })),
    getJob: (id) => unwrap(api.GET('/v1/jobs/{id}', { params: { path: { id } } })),
    cancelJob: (id) => unwrap(api.POST('/v1/jobs/{id}/cancel', { params: { path: { id } } })),
    async waitForJob(id, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 3_600_000);
      for (;;) {
        o.signal?.throwIfAborted();
        const job = await client.getJob(id);
        if (TERMINAL.has(job.status)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status} after ${o.timeoutMs ?? 3_600_000} ms`);
        await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 1000));
      }
    },
    async allMetrics(id, o = {}) {
      const out: MetricsRecord[] = [];
      let after = o.after;
      for (;;) {
        const page = await unwrap(api.GET('/v1/jobs/{id}/metrics', { params: { path: { id }, query: { limit: 1000, ...(after !== undefined ? { after } : {}) } } }));
        out.push(...page.items);
        if (page.items.length === 0 || page.nextCursor === null || page.nextCursor === after) return out;
        after = page.nextCursor;
      }
    },
    // The server sends only the events its document lists for this route.
    followJob: (id, o) => followEventStream(`${baseUrl}/v1/jobs/${encodeURIComponent(id)}/events`, auth, fetchImpl, o) as AsyncGenerator<JobEvent>,
    uploadDataset: (body, format, o = {}) => upload(typeof body === 'string' ? body : new Blob([body as Uint8Array<ArrayBuffer>]), CONTENT_TYPES[format], o),
    uploadIdx(images, labels, o = {}) {
      const form = new FormData();
      form.append('images', new Blob([images as Uint8Array<ArrayBuffer>]), 'images.idx');
      form.append('labels', new Blob([labels as Uint8Array<ArrayBuffer>]), 'labels.idx');
      // fetch sets the multipart boundary itself.
      return upload(form, null, o);
    },
    listJobs: (o = {}) =>
      allPages((cursor) =>
        unwrap(api.GET('/v1/jobs', { params: { query: { limit: 100, ...(o.status !== undefined ? { status: o.status } : {}), ...(cursor !== undefined ? { cursor } : {}) } } })),
      ),
    listDatasets: () => allPages((cursor) => unwrap(api.GET('/v1/datasets', { params: { query: { limit: 100, ...(cursor !== undefined ? { cursor } : {}) } } }))),
    submitSweep: (spec) => unwrap(api.POST('/v1/sweeps', { body: spec })),
    getSweep: (id) => unwrap(api.GET('/v1/sweeps/{id}', { params: { path: { id } } })),
    cancelSweep: (id) => unwrap(api.POST('/v1/sweeps/{id}/cancel', { params: { path: { id } } })),
    listSweeps: () => allPages((cursor) => unwrap(api.GET('/v1/sweeps', { params: { query: { limit: 100, ...(cursor !== undefined ? { cursor } : {}) } } }))),
    async waitForSweep(id, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 86_400_000);
      for (;;) {
        o.signal?.throwIfAborted();
        const sweep = await client.getSweep(id);
        if (sweep.status === 'completed' || sweep.status === 'cancelled') return sweep;
        if (Date.now() > deadline) throw new Error(`sweep ${id} is still ${sweep.status} after ${o.timeoutMs ?? 86_400_000} ms`);
        await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 1000));
      }
    },
    followSweep: (id, o) => followEventStream(`${baseUrl}/v1/sweeps/${encodeURIComponent(id)}/events`, auth, fetchImpl, o) as AsyncGenerator<SweepEvent>,
    predict(id, inputs) {
      if (Array.isArray(inputs)) return unwrap(api.POST('/v1/jobs/{id}/predict', { params: { path: { id } }, body: { inputs } }));
      const [bytes, type] = inputs instanceof Float32Array ? [littleEndianBytes(inputs), 'application/octet-stream'] : [inputs.idx, 'application/x-idx'];
      return unwrap(
        api.POST('/v1/jobs/{id}/predict', {
          params: { path: { id } },
          headers: { 'content-type': type },
          body: bytes as never,
          // Sent as they are: not JSON-serialized.
          bodySerializer: (b: unknown) => new Blob([b as Uint8Array<ArrayBuffer>]),
        }),
      );
    },
    evaluate: (id, request, o = {}) =>
      unwrap(api.POST('/v1/jobs/{id}/evaluate', { params: { path: { id }, query: o.wait !== undefined ? { wait: o.wait } : {} }, body: request })),
    getDataset: (id) => unwrap(api.GET('/v1/datasets/{id}', { params: { path: { id } } })),
    async waitForDataset(id, o = {}) {
      const timeoutMs = o.timeoutMs ?? 600_000;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        o.signal?.throwIfAborted();
        const d = await client.getDataset(id);
        if (d.status === 'ready') return d;
        if (d.status === 'failed') {
          const path = d.error?.path ?? 'body';
          throw new TraindError(400, { error: { code: 'invalid_dataset', message: d.error?.message ?? 'the dataset failed to process', details: { path } } } as ErrorBody);
        }
        if (Date.now() > deadline) throw new Error(`dataset ${id} is still processing after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 250));
      }
    },
    getEvaluation: (id) => unwrap(api.GET('/v1/evaluations/{id}', { params: { path: { id } } })),
    async waitForEvaluation(id, o = {}) {
      const timeoutMs = o.timeoutMs ?? 600_000;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        o.signal?.throwIfAborted();
        const ev = await client.getEvaluation(id);
        if (EVALUATION_DONE.has(ev.status)) return ev;
        if (Date.now() > deadline) throw new Error(`evaluation ${id} is still ${ev.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 250));
      }
    },
    async downloadCheckpoint(id, epoch, format = 'safetensors') {
      const query = { format };
      const bytes =
        epoch === 'best'
          ? await unwrap(api.GET('/v1/jobs/{id}/checkpoints/best', { params: { path: { id }, query }, parseAs: 'arrayBuffer' }))
          : await unwrap(api.GET('/v1/jobs/{id}/checkpoints/{epoch}', { params: { path: { id, epoch: String(epoch) }, query }, parseAs: 'arrayBuffer' }));
      return new Uint8Array(bytes);
    },
  };
  return client;
}
