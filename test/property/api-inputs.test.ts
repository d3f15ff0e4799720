// Property tests of the HTTP API with generated input, valid and hostile: every answer is a 2xx or
// a 4xx with {"error": {code, message, details}} naming the field — never a 5xx — and the server lives.

import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFixture, type AppFixture } from '../api/helpers.js';
import { badCell, corrupt, csvCase, csvText, hostileId, mutation, paths, validSpec, type JsonObject } from './arbitraries.js';

const BODY_LIMIT = 64 * 1024;
const JSON_LIMIT = 16 * 1024;
/** Codes whose errors are about a field: their details carry its path. */
const FIELD_CODES = new Set(['invalid_spec', 'invalid_dataset', 'invalid_inputs']);

interface ErrorBody {
  error: { code: string; message: string; details: { path?: unknown; issues?: { path: string; message: string }[] } };
}

let f: AppFixture;

beforeAll(async () => {
  f = await appFixture({
    BODY_LIMIT_BYTES: String(BODY_LIMIT),
    JSON_BODY_LIMIT_BYTES: String(JSON_LIMIT),
    MAX_QUEUED_JOBS_PER_TENANT: '100000',
    RATE_LIMIT_MAX: '10000000',
    MAX_DATASET_ROWS: '1000',
  });
});

afterAll(async () => {
  await f?.close();
});

async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  return f.app.inject(opts);
}

/** The contract every response keeps; returns the error body of a 4xx, null for a 2xx. */
function checked(res: LightMyRequestResponse, what: string): ErrorBody | null {
  const s = res.statusCode;
  expect(s >= 200 && s < 300 || (s >= 400 && s < 500), `${what} → ${s} ${res.body.slice(0, 300)}`).toBe(true);
  if (s < 400) return null;
  let body: ErrorBody;
  try {
    body = JSON.parse(res.body) as ErrorBody;
  } catch {
    throw new Error(`${what} → ${s} with a body that is not JSON: ${res.body.slice(0, 200)}`);
  }
  const e = body.error;
  expect(typeof e?.code === 'string' && e.code.length > 0, `${what}: error.code in ${res.body.slice(0, 300)}`).toBe(true);
  expect(typeof e.message, what).toBe('string');
  expect(typeof e.details === 'object' && e.details !== null, `${what}: error.details`).toBe(true);
  if (FIELD_CODES.has(e.code) || (e.code === 'invalid_request' && e.details.issues !== undefined)) {
    expect(typeof e.details.path, `${what}: details.path in ${res.body.slice(0, 300)}`).toBe('string');
    for (const i of e.details.issues ?? []) expect(typeof i.path, what).toBe('string');
  }
  return body;
}

/** True when one dotted path is the other or encloses it. */
function related(a: string, b: string): boolean {
  return a === b || a === '' || b === '' || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

const json = (payload: string): Record<string, string> => ({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });

describe('job specs', () => {
  it('every generated valid spec is accepted (201) and stored as sent', async () => {
    await fc.assert(
      fc.asyncProperty(validSpec, async (spec) => {
        const res = await send({ method: 'POST', url: '/v1/jobs', payload: spec });
        checked(res, 'POST /v1/jobs (valid)');
        expect(res.statusCode, res.body).toBe(201);
        const job = res.json<{ id: string; status: string; spec: JsonObject }>();
        expect(job.status).toBe('queued');
        const got = await send({ method: 'GET', url: `/v1/jobs/${job.id}` });
        expect(got.statusCode).toBe(200);
        const stored = got.json<{ spec: JsonObject }>().spec;
        expect(stored.dataset).toEqual(spec.dataset);
        expect(stored.epochs).toBe(spec.epochs);
        expect((stored.model as { layers: unknown[] }).layers.length).toBe((spec.model as { layers: unknown[] }).layers.length);
      }),
      { numRuns: 100 },
    );
  });

  it('a spec corrupted in one place gets 2xx, or a 4xx whose path names that place', async () => {
    const cases = validSpec.chain((spec) => fc.record({ spec: fc.constant(spec), at: fc.nat(), m: mutation }));
    await fc.assert(
      fc.asyncProperty(cases, async ({ spec, at, m }) => {
        const all = paths(spec);
        const path = all[at % all.length] ?? ['name'];
        const body = corrupt(spec, path, m);
        const where = path.join('.');
        const what = `POST /v1/jobs with ${JSON.stringify(m)} at ${where}`;
        const res = await send({ method: 'POST', url: '/v1/jobs', payload: body, headers: json(body) });
        const err = checked(res, what);
        if (m.kind === 'raw') {
          // Not JSON at all, or JSON whose number overflows to ±Infinity: refused either way.
          expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
          if (m.token === '1e999' || m.token === '-1e999') {
            expect(err?.error.details.issues?.some((i) => related(i.path, where)), `${what}: ${res.body}`).toBe(true);
          } else {
            expect(err?.error.code).toBe('invalid_json');
          }
        }
        // A value of the wrong type (or an unknown key) is refused at that place or at an enclosing
        // union. (An in-range number or null may instead break a cross-field rule elsewhere, e.g.
        // momentum 0 makes nesterov invalid: only the format is checked then.)
        const wrongType = m.kind === 'unknownKey' || (m.kind === 'set' && m.value !== null && typeof m.value !== 'number');
        if (err !== null && res.statusCode === 400 && wrongType) {
          expect(
            err.error.details.issues?.some((i) => related(i.path, where)),
            `${what}: the error should name ${where}, got ${JSON.stringify(err.error.details.issues)}`,
          ).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('an oversize spec body is 413', async () => {
    const body = JSON.stringify({ dataset: { builtin: 'xor' }, padding: 'x'.repeat(JSON_LIMIT + 10) });
    const res = await send({ method: 'POST', url: '/v1/jobs', payload: body, headers: json(body) });
    expect(checked(res, 'oversize spec')?.error.code).toBe('payload_too_large');
    expect(res.statusCode).toBe(413);
  });
});

describe('dataset uploads', () => {
  it('a generated valid CSV is stored with its shape (201)', async () => {
    await fc.assert(
      fc.asyncProperty(csvCase, async (c) => {
        const res = await send({ method: 'POST', url: '/v1/datasets?label=label', payload: csvText(c), headers: { 'content-type': 'text/csv' } });
        checked(res, 'valid CSV');
        expect(res.statusCode, res.body).toBe(201);
        const meta = res.json<{ rows: number; features: number }>();
        expect(meta.rows).toBe(c.rows.length);
        expect(meta.features).toBe(c.features);
      }),
      { numRuns: 60 },
    );
  });

  it('a CSV with one bad cell (NaN, Infinity, 1e999, text, empty, unicode) is 400 invalid_dataset naming where', async () => {
    const cases = csvCase.chain((c) => fc.record({ c: fc.constant(c), row: fc.nat({ max: c.rows.length - 1 }), col: fc.nat({ max: c.features }), cell: badCell }));
    await fc.assert(
      fc.asyncProperty(cases, async ({ c, row, col, cell }) => {
        const text = csvText(c, (i, j, t) => (i === row && j === col ? cell : t));
        const res = await send({ method: 'POST', url: '/v1/datasets?label=label', payload: text, headers: { 'content-type': 'text/csv' } });
        const err = checked(res, `CSV with ${JSON.stringify(cell)} at row ${row} col ${col}`);
        expect(res.statusCode, res.body).toBe(400);
        expect(err?.error.code).toBe('invalid_dataset');
        expect(String(err?.error.details.path).length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  it('JSON rows with a corrupted value are refused, never stored', async () => {
    const bad = fc.oneof(
      fc.constantFrom<unknown>('NaN', 'Infinity', null, true, [1, 2], {}, '1', 'été', 1e39, -1e39),
      fc.constantFrom('RAW:NaN', 'RAW:Infinity', 'RAW:1e999', 'RAW:-1e999'),
    );
    const cases = csvCase.chain((c) => fc.record({ c: fc.constant(c), row: fc.nat({ max: c.rows.length - 1 }), col: fc.nat({ max: c.features }), value: bad, ndjson: fc.boolean() }));
    await fc.assert(
      fc.asyncProperty(cases, async ({ c, row, col, value, ndjson }) => {
        const rows = c.rows.map((r, i) => ({ features: [...r] as unknown[], label: c.labels[i] as unknown }));
        const target = rows[row] as { features: unknown[]; label: unknown };
        const raw = typeof value === 'string' && value.startsWith('RAW:') ? value.slice(4) : null;
        const v = raw === null ? value : '__raw__';
        if (col < c.features) target.features[col] = v;
        // (An array label is legal: a multi-output target. Ragged widths are covered by the row tests.)
        else target.label = Array.isArray(v) ? 'NaN' : v;
        const fix = (s: string) => (raw === null ? s : s.replace('"__raw__"', raw));
        const payload = ndjson ? rows.map((r) => fix(JSON.stringify(r))).join('\n') : fix(JSON.stringify(rows));
        const res = await send({ method: 'POST', url: '/v1/datasets', payload, headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' } });
        const err = checked(res, `JSON rows with ${JSON.stringify(value)} at row ${row} col ${col}`);
        expect(res.statusCode, res.body).toBe(400);
        expect(['invalid_dataset', 'invalid_json']).toContain(err?.error.code);
      }),
      { numRuns: 150 },
    );
  });

  it('arbitrary bodies with arbitrary content types get 2xx or 4xx', async () => {
    const contentType = fc.constantFrom('text/csv', 'application/json', 'application/x-ndjson', 'text/plain', 'application/octet-stream', 'multipart/form-data', 'multipart/form-data; boundary=x', 'image/png', '', 'text/csv; charset=utf-16');
    const body = fc.oneof(fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)), fc.string({ unit: 'grapheme', maxLength: 500 }).map((s) => Buffer.from(s)), fc.constant(Buffer.alloc(0)));
    await fc.assert(
      fc.asyncProperty(contentType, body, fc.constantFrom('/v1/datasets', '/v1/datasets?label=label', '/v1/jobs'), async (type, payload, url) => {
        const headers: Record<string, string> = type === '' ? {} : { 'content-type': type };
        const res = await send({ method: 'POST', url, payload, headers });
        checked(res, `POST ${url} (${type}, ${payload.length} bytes)`);
        if (url === '/v1/jobs') expect(res.statusCode).not.toBe(201);
      }),
      { numRuns: 150 },
    );
  });

  it('empty bodies are 4xx on every write route', async () => {
    for (const [url, type] of [
      ['/v1/datasets', 'text/csv'],
      ['/v1/datasets', 'application/json'],
      ['/v1/datasets', 'application/x-ndjson'],
      ['/v1/jobs', 'application/json'],
    ] as const) {
      const res = await send({ method: 'POST', url, payload: '', headers: { 'content-type': type } });
      checked(res, `empty ${type} to ${url}`);
      expect(res.statusCode, `${url} ${type}: ${res.body}`).toBeGreaterThanOrEqual(400);
    }
  });

  it('an oversize upload is 413', async () => {
    const line = `${'1.25,'.repeat(20)}1\n`;
    const text = `${Array.from({ length: 21 }, (_, j) => `f${j}`).join(',')}\n${line.repeat(Math.ceil((BODY_LIMIT + 1000) / line.length))}`;
    const res = await send({ method: 'POST', url: '/v1/datasets', payload: text, headers: { 'content-type': 'text/csv' } });
    expect(checked(res, 'oversize CSV')?.error.code).toBe('payload_too_large');
    expect(res.statusCode).toBe(413);
  });
});

describe('ids and query strings', () => {
  const routes: [InjectOptions['method'], (id: string) => string][] = [
    ['GET', (id) => `/v1/jobs/${id}`],
    ['GET', (id) => `/v1/jobs/${id}/metrics`],
    ['GET', (id) => `/v1/jobs/${id}/checkpoints`],
    ['GET', (id) => `/v1/jobs/${id}/checkpoints/best`],
    ['GET', (id) => `/v1/jobs/${id}/checkpoints/1`],
    ['GET', (id) => `/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/checkpoints/${id}`],
    ['POST', (id) => `/v1/jobs/${id}/cancel`],
    ['GET', (id) => `/v1/datasets/${id}`],
    ['DELETE', (id) => `/v1/datasets/${id}`],
  ];

  it('junk, traversal and unknown ids are 4xx with a code, on every route', async () => {
    await fc.assert(
      fc.asyncProperty(hostileId, fc.nat({ max: routes.length - 1 }), fc.boolean(), async (id, r, encode) => {
        const [method, url] = routes[r] as [InjectOptions['method'], (id: string) => string];
        const path = url(encode ? encodeURIComponent(id) : id);
        // An unencoded id can turn into another route ('..', '/'); an encoded one never may.
        if (!encode && /[/?#%\\]|^\.\.?$/.test(id)) {
          checked(await send({ method, url: path }), `${method} ${path}`);
          return;
        }
        const res = await send({ method, url: path });
        const err = checked(res, `${method} ${path}`);
        expect(res.statusCode, `${method} ${path}: ${res.body}`).toBeGreaterThanOrEqual(400);
        expect(['not_found', 'invalid_request', 'method_not_allowed']).toContain(err?.error.code);
      }),
      { numRuns: 400 },
    );
  });

  it('junk query strings are 2xx or 4xx naming the parameter', async () => {
    const value = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constantFrom('-1', '0', '1e9', 'NaN', 'Infinity', '1.5', '99999999999999999999', '(0-0', '0-0', '../..'));
    const param = fc.constantFrom('limit', 'cursor', 'status', 'after', 'label', 'task', 'name');
    const route = fc.constantFrom('/v1/jobs', '/v1/datasets', '/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/metrics');
    await fc.assert(
      fc.asyncProperty(route, param, value, async (r, p, v) => {
        const url = `${r}?${p}=${encodeURIComponent(v)}`;
        const res = await send({ method: 'GET', url });
        const err = checked(res, `GET ${url}`);
        if (err !== null && err.error.code === 'invalid_request' && err.error.details.issues !== undefined) {
          expect(err.error.details.issues.some((i) => i.path === p || i.path.startsWith(`${p}.`) || i.path === ''), `GET ${url}: ${res.body}`).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('predict with junk inputs is 4xx', async () => {
    const job = await send({ method: 'POST', url: '/v1/jobs', payload: { dataset: { builtin: 'xor' }, model: { layers: [{ type: 'dense', units: 2 }] }, loss: 'softmax_cross_entropy' } });
    expect(job.statusCode).toBe(201);
    const id = job.json<{ id: string }>().id;
    const inputs = fc.oneof(
      fc.constantFrom<unknown>(null, [], [[]], [[1]], [['a', 'b']], [[1e308, 1]], 'x', {}, [[1, 2, 3]], [[null, 1]]),
      fc.array(fc.array(fc.oneof(fc.double(), fc.string()), { maxLength: 4 }), { maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(inputs, async (x) => {
        const res = await send({ method: 'POST', url: `/v1/jobs/${id}/predict`, payload: { inputs: x } });
        checked(res, `predict ${JSON.stringify(x)}`);
        // The job has no checkpoint yet: nothing can be a 2xx.
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 60 },
    );
  });
});

describe('after all of it', () => {
  it('the server is still up and ready', async () => {
    expect((await send({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await send({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const list = await send({ method: 'GET', url: '/v1/jobs?limit=5' });
    expect(list.statusCode).toBe(200);
  });
});
