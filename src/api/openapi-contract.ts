// What the OpenAPI document states beyond each route's own zod schema: the answers every route
// can give because of what runs before it (authentication, rate limits, Redis readiness, body
// parsing and timeouts), readable operation ids, headers that the routes set or read by hand,
// servers, license and security as the server is really configured. Applied to the generated
// document (swagger's transformObject), so a route added anywhere gets the same treatment; the
// conformance test (test/helpers/conformance.ts) checks every response the tests see against it.

type Json = Record<string, unknown>;

const ERROR_CONTENT = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
const RETRY_AFTER = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } } };

/** Shared error answers, referenced by code from every operation that can give them. */
const ERROR_RESPONSES: Record<string, { name: string; description: string; headers?: Json }> = {
  '400': { name: 'BadRequest', description: 'invalid request: the error names the field (`details.path`, `details.issues`)' },
  '401': { name: 'Unauthorized', description: 'missing or unknown API key (only when the server has API_KEYS configured)' },
  '403': { name: 'Forbidden', description: "over the tenant's storage quota (quota_exceeded, naming MAX_TENANT_BYTES)" },
  '404': { name: 'NotFound', description: "no such resource for this tenant (another tenant's ids are not found either)" },
  '408': { name: 'RequestTimeout', description: 'the request body did not arrive within REQUEST_TIMEOUT_MS; the connection is closed' },
  '409': { name: 'Conflict', description: 'the resource is in a state that does not allow this' },
  '413': { name: 'PayloadTooLarge', description: 'the body (or what it decompresses or converts to) is over a configured limit, named in the message' },
  '415': { name: 'UnsupportedMediaType', description: 'a Content-Type this route does not accept' },
  '429': { name: 'TooManyRequests', description: 'rate limited (per key, or per client address without a valid key), or too many queued jobs', headers: RETRY_AFTER },
  '500': { name: 'InternalError', description: 'our fault (details are logged, not returned), or a stored file that failed verification (checkpoint_corrupt)' },
  '503': { name: 'Unavailable', description: 'Redis is unreachable or a work queue is full; retry later', headers: RETRY_AFTER },
  '507': { name: 'InsufficientStorage', description: 'the data volume is full' },
};

/** Readable, stable operation ids: what a generated client names its methods. */
const OPERATION_IDS: Record<string, string> = {
  'get /healthz': 'getHealth',
  'get /readyz': 'getReadiness',
  'get /': 'getDashboard',
  'get /assets/{file}': 'getDashboardAsset',
  'post /v1/datasets': 'uploadDataset',
  'get /v1/datasets': 'listDatasets',
  'get /v1/datasets/{id}': 'getDataset',
  'delete /v1/datasets/{id}': 'deleteDataset',
  'post /v1/jobs': 'submitJob',
  'get /v1/jobs': 'listJobs',
  'get /v1/jobs/{id}': 'getJob',
  'post /v1/jobs/{id}/cancel': 'cancelJob',
  'get /v1/jobs/{id}/metrics': 'listJobMetrics',
  'get /v1/jobs/{id}/events': 'followJobEvents',
  'get /v1/jobs/{id}/checkpoints': 'listCheckpoints',
  'get /v1/jobs/{id}/checkpoints/best': 'downloadBestCheckpoint',
  'get /v1/jobs/{id}/checkpoints/{epoch}': 'downloadCheckpoint',
  'post /v1/jobs/{id}/predict': 'predict',
  'post /v1/jobs/{id}/evaluate': 'evaluateJob',
  'get /v1/evaluations/{id}': 'getEvaluation',
  'get /v1/usage': 'getUsage',
  'post /v1/webhooks': 'createWebhook',
  'get /v1/webhooks': 'listWebhooks',
  'get /v1/webhooks/{id}': 'getWebhook',
  'delete /v1/webhooks/{id}': 'deleteWebhook',
  'post /v1/webhooks/{id}/rotate-secret': 'rotateWebhookSecret',
  'get /v1/webhooks/{id}/deliveries': 'listWebhookDeliveries',
  'post /v1/webhooks/{id}/ping': 'pingWebhook',
  'post /v1/sweeps': 'submitSweep',
  'get /v1/sweeps': 'listSweeps',
  'get /v1/sweeps/{id}': 'getSweep',
  'post /v1/sweeps/{id}/cancel': 'cancelSweep',
  'get /v1/sweeps/{id}/events': 'followSweepEvents',
};

/** Headers some routes read or set by hand (not through a zod schema). */
const REQUEST_HEADERS: Record<string, Json[]> = {
  'get /v1/jobs/{id}/events': [
    { in: 'header', name: 'last-event-id', required: false, description: 'resume after this event id (what EventSource sends on reconnect)', schema: { type: 'string' } },
  ],
  'get /v1/sweeps/{id}/events': [
    { in: 'header', name: 'last-event-id', required: false, description: 'resume after this event id (what EventSource sends on reconnect)', schema: { type: 'string' } },
  ],
  'get /v1/jobs/{id}/checkpoints/best': [{ in: 'header', name: 'if-none-match', required: false, description: 'an ETag from an earlier download: 304 when unchanged', schema: { type: 'string' } }],
  'get /v1/jobs/{id}/checkpoints/{epoch}': [{ in: 'header', name: 'if-none-match', required: false, description: 'an ETag from an earlier download: 304 when unchanged', schema: { type: 'string' } }],
};

const CHECKPOINT_HEADERS = {
  ETag: { description: 'the checkpoint\'s sha256 in quotes; with ?format=onnx "onnx<exporter version>-<sha256>"', schema: { type: 'string' } },
  'Cache-Control': { description: 'private, max-age=0, must-revalidate', schema: { type: 'string' } },
  'Content-Disposition': { description: 'attachment; filename="<job>-epoch-<n>.safetensors" (.onnx with ?format=onnx)', schema: { type: 'string' } },
  'X-Checkpoint-Epoch': { description: 'the epoch the checkpoint was taken at', schema: { type: 'integer' } },
};
const LOCATION = { Location: { description: 'the URL of the created resource', schema: { type: 'string' } } };

/** Response headers by operation and status. */
const RESPONSE_HEADERS: Record<string, Record<string, Json>> = {
  'get /v1/jobs/{id}/checkpoints/best': { '200': CHECKPOINT_HEADERS, '304': { ETag: CHECKPOINT_HEADERS.ETag } },
  'get /v1/jobs/{id}/checkpoints/{epoch}': { '200': CHECKPOINT_HEADERS, '304': { ETag: CHECKPOINT_HEADERS.ETag } },
  'post /v1/datasets': { '201': LOCATION },
  'post /v1/jobs': { '201': LOCATION },
  'post /v1/sweeps': { '201': LOCATION },
  'post /v1/jobs/{id}/evaluate': { '202': LOCATION },
};

const BINARY = { type: 'string', contentMediaType: 'application/octet-stream' };
const JSON_ROW = {
  type: 'object',
  required: ['features', 'label'],
  properties: {
    features: { type: 'array', items: { type: 'number' }, minItems: 1 },
    label: { oneOf: [{ type: 'number' }, { type: 'array', items: { type: 'number' } }] },
  },
};

/** Bodies a route reads by hand (uploads are parsed off the event loop, not by a zod schema). */
const REQUEST_BODIES: Record<string, Json> = {
  'post /v1/datasets': {
    required: true,
    description: 'a dataset: CSV with a header row, JSON rows (an array, or NDJSON: one row per line), or IDX images and labels as multipart fields (each gzipped or not)',
    content: {
      'text/csv': { schema: { type: 'string' }, example: 'x1,x2,label\n0.5,1.2,1\n' },
      'application/json': { schema: { type: 'array', items: JSON_ROW, minItems: 1 } },
      'application/x-ndjson': { schema: { type: 'string', description: 'one JSON row {"features": [...], "label": ...} per line' } },
      'multipart/form-data': {
        schema: {
          type: 'object',
          description: '"images" and "labels" (IDX files, as MNIST ships them), or one "file" (.csv, .json or .ndjson)',
          properties: { images: BINARY, labels: BINARY, file: BINARY },
        },
      },
    },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * The data schema of each event a text/event-stream answer sends, by event name (OpenAPI 3.1 has
 * no keyword for a stream's items: an extension, which keeps the schemas in the document and
 * gives the typed client their types).
 */
const EVENT_STREAMS: Record<string, Json> = {
  'get /v1/jobs/{id}/events': { metrics: ref('MetricsRecord'), status: ref('HistoryEntry'), progress: ref('ProgressEvent') },
  'get /v1/sweeps/{id}/events': {
    trial_started: ref('TrialStartedEvent'),
    trial_reported: ref('TrialReportedEvent'),
    trial_pruned: ref('SweepDecision'),
    trial_finished: ref('TrialFinishedEvent'),
    sweep_finished: ref('SweepFinishedEvent'),
  },
};

/** Request body formats a route reads by hand besides the JSON its zod schema documents. */
const EXTRA_REQUEST_CONTENT: Record<string, Json> = {
  'post /v1/jobs/{id}/predict': {
    'application/octet-stream': {
      schema: { ...BINARY, description: "rows of little-endian float32 values, the model's input width each, back to back (no header)" },
    },
    'application/x-idx': {
      schema: { type: 'string', contentMediaType: 'application/x-idx', description: "an IDX images file [N, …] (gzipped or not): unsigned bytes are read as byte / 255, as in training; each image has the model's input width" },
    },
  },
};

/** Answers only some routes give, beyond what they declare themselves. */
const EXTRA_CODES: Record<string, string[]> = {
  'post /v1/datasets': ['507'],
};

const BODY_METHODS = new Set(['post', 'put', 'patch']);
const DEFAULT_DESCRIPTION = 'Default Response';

export interface ContractOptions {
  /** Bearer required (API_KEYS configured) or no authentication (loopback mode). */
  apiKeys: boolean;
  /** The server's own address, when known. */
  serverUrl?: string;
}

/** The generated document, completed as described at the top of this file. */
export function completeDocument(doc: Json, options: ContractOptions): Json {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(operations)) {
      completeOperation(path, method, op, options);
    }
  }
  const components = (doc.components ?? {}) as Json;
  components.responses = Object.fromEntries(
    Object.values(ERROR_RESPONSES).map((r) => [r.name, { description: r.description, ...(r.headers ? { headers: r.headers } : {}), content: ERROR_CONTENT }]),
  );
  if (!options.apiKeys) {
    const schemes = components.securitySchemes as Json | undefined;
    if (schemes !== undefined) delete schemes.bearer;
  }
  pruneUnusedSchemas(paths, components);
  return {
    ...doc,
    info: { ...(doc.info as Json), license: { name: 'UNLICENSED (proprietary)', identifier: 'LicenseRef-traind-proprietary' } },
    servers: [{ url: options.serverUrl ?? 'http://127.0.0.1:3000', description: options.serverUrl ? 'this server' : 'a local traind (npm start)' }],
    ...(options.apiKeys ? { security: [{ bearer: [] }] } : { security: [] }),
    components,
  };
}

function completeOperation(path: string, method: string, op: Json, options: ContractOptions): void {
  const key = `${method} ${path}`;
  op.operationId = OPERATION_IDS[key] ?? derivedOperationId(method, path);
  const responses = (op.responses ?? {}) as Record<string, Json>;
  const parameters = (op.parameters ?? []) as Json[];
  const v1 = path.startsWith('/v1/');
  const hasBody = BODY_METHODS.has(method);

  const codes = new Set<string>();
  if (parameters.length > 0 || hasBody) codes.add('400');
  if (path.includes('{')) codes.add('404');
  if (v1) for (const c of ['429', '500', '503']) codes.add(c);
  if (v1 && options.apiKeys) codes.add('401');
  if (hasBody) for (const c of ['408', '413', '415']) codes.add(c);
  for (const c of EXTRA_CODES[key] ?? []) codes.add(c);
  for (const code of codes) responses[code] ??= {};
  if (!hasBody) for (const c of ['408', '413', '415']) delete responses[c];
  // A /v1 route's 401 comes from the API keys: none in loopback mode. (Other routes, e.g. /metrics
  // with its own token, declare their 401 themselves.)
  if (v1 && !options.apiKeys) delete responses['401'];

  for (const [code, response] of Object.entries(responses)) {
    const shared = ERROR_RESPONSES[code];
    const generic = response.description === undefined || response.description === DEFAULT_DESCRIPTION;
    if (shared !== undefined && generic) {
      // Same meaning everywhere: a reference to the shared answer.
      for (const k of Object.keys(response)) delete response[k];
      response.$ref = `#/components/responses/${shared.name}`;
    } else if (shared?.headers !== undefined) {
      response.headers = { ...(response.headers as Json | undefined), ...shared.headers };
    }
  }
  // 304 has no body.
  if (responses['304'] !== undefined) delete responses['304'].content;
  for (const [code, headers] of Object.entries(RESPONSE_HEADERS[key] ?? {})) {
    const r = responses[code];
    if (r !== undefined && r.$ref === undefined) r.headers = { ...(r.headers as Json | undefined), ...headers };
  }
  const events = EVENT_STREAMS[key];
  const stream = (responses['200']?.content as Record<string, Json> | undefined)?.['text/event-stream'];
  if (events !== undefined && stream !== undefined) stream['x-events'] = events;
  const body = REQUEST_BODIES[key];
  if (body !== undefined) op.requestBody = body;
  const extraContent = EXTRA_REQUEST_CONTENT[key];
  const requestBody = op.requestBody as { content?: Json } | undefined;
  if (extraContent !== undefined && requestBody?.content !== undefined) requestBody.content = { ...requestBody.content, ...extraContent };
  const extra = REQUEST_HEADERS[key];
  if (extra !== undefined) op.parameters = [...parameters, ...extra.filter((h) => !parameters.some((p) => p.in === 'header' && p.name === h.name))];
  if (!v1) op.security ??= [];
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** For a route without an entry above: "post /v1/things/{id}/do-it" → "postThingsDoIt". */
function derivedOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((p) => p !== '' && p !== 'v1' && !p.startsWith('{'))
    .flatMap((p) => p.split(/[-_]/));
  return method + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/**
 * The zod provider registers an input and an output variant of every schema with an id; drop the
 * ones no operation uses (e.g. the input variant of a response-only schema), transitively.
 */
function pruneUnusedSchemas(paths: Json, components: Json): void {
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        const name = v.slice('#/components/schemas/'.length);
        if (!used.has(name)) {
          used.add(name);
          visit(schemas[name]);
        }
      } else visit(v);
    }
  };
  visit(paths);
  visit(components.responses);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}
