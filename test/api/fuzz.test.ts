// Property-based: whatever a client sends (valid, corrupted or garbage specs, uploads, ids), the
// answer is a 2xx or a 4xx carrying an error code, and a 400 names where the problem is.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFixture, xorSpec, type AppFixture } from './helpers.js';

type Json = Record<string, unknown>;

function checkAnswer(status: number, body: string): void {
  expect(status === 200 || status === 201 || status === 204 || (status >= 400 && status < 500), `status ${status}: ${body.slice(0, 300)}`).toBe(true);
  if (status >= 400) {
    const err = (JSON.parse(body) as { error: { code: string; message: string; details: { path?: string; issues?: unknown[] } } }).error;
    expect(typeof err.code).toBe('string');
    expect(err.message.length).toBeGreaterThan(0);
    if (status === 400 && err.code !== 'invalid_json') expect(err.details.path !== undefined || (err.details.issues?.length ?? 0) > 0, body).toBe(true);
  }
}

/** Replaces the value at a random path of a valid spec with an arbitrary JSON value. */
function mutate(spec: Json, path: string[], value: unknown): Json {
  const copy = structuredClone(spec);
  let node: Json = copy;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]!];
    if (typeof next !== 'object' || next === null) return copy;
    node = next as Json;
  }
  node[path[path.length - 1]!] = value;
  return copy;
}

const SPEC_PATHS = [
  ['epochs'], ['batchSize'], ['learningRate'], ['loss'], ['optimizer'], ['optimizer', 'type'], ['optimizer', 'beta1'],
  ['model'], ['model', 'layers'], ['model', 'layers', '0'], ['model', 'layers', '0', 'units'], ['model', 'layers', '1', 'activation'],
  ['dataset'], ['validation'], ['earlyStopping'], ['seed'], ['priority'], ['dropLast'], ['checkpoints'], ['regularization'], ['extra'],
];

describe('fuzzed requests', () => {
  let f: AppFixture;
  beforeAll(async () => {
    f = await appFixture({ MAX_QUEUED_JOBS_PER_TENANT: '100000', RATE_LIMIT_MAX: '1000000', JSON_BODY_LIMIT_BYTES: '65536' });
  });
  afterAll(async () => {
    await f.close();
  });

  it('job specs: arbitrary JSON and mutated valid specs never get a 5xx', async () => {
    const valid = xorSpec({ validation: { fraction: 0.25 }, epochs: 3 });
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.double(), fc.integer(), fc.constantFrom(0, -1, 1e308, 2 ** 53, 'full', null, [], {}));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.tuple(fc.constantFrom(...SPEC_PATHS), value).map(([p, v]) => mutate(valid, p, v))), async (body) => {
        const res = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: JSON.stringify(body) ?? 'null', headers: { 'content-type': 'application/json' } });
        checkAnswer(res.statusCode, res.body);
      }),
      { numRuns: 300 },
    );
  });

  it('dataset uploads: random and corrupted CSV/JSON never get a 5xx', async () => {
    const csvRow = fc.array(fc.oneof(fc.double({ noNaN: false }).map(String), fc.string({ maxLength: 4 }), fc.constant('')), { minLength: 0, maxLength: 4 });
    const csv = fc.array(csvRow, { maxLength: 8 }).map((rows) => ['a,b,label', ...rows.map((r) => r.join(','))].join('\n'));
    const body = fc.oneof(
      csv.map((t) => ({ type: 'text/csv', text: t })),
      fc.string({ maxLength: 200 }).map((t) => ({ type: 'text/csv', text: t })),
      fc.jsonValue({ maxDepth: 3 }).map((j) => ({ type: 'application/json', text: JSON.stringify(j) ?? 'null' })),
      fc.string({ maxLength: 200 }).map((t) => ({ type: 'application/x-ndjson', text: t })),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.option(fc.string({ maxLength: 6 }), { nil: undefined }), async (b, label) => {
        const url = label === undefined ? '/v1/datasets' : `/v1/datasets?label=${encodeURIComponent(label)}`;
        const res = await f.app.inject({ method: 'POST', url, payload: b.text, headers: { 'content-type': b.type } });
        checkAnswer(res.statusCode, res.body);
      }),
      { numRuns: 300 },
    );
  });

  it('ids, cursors and query strings: 400 or 404, never a 5xx', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('..', '../..', '%2e%2e%2f', 'job_../../x', 'job_01JD0000000000000000000000'));
    await fc.assert(
      fc.asyncProperty(segment, fc.constantFrom('', '/metrics', '/checkpoints', '/checkpoints/best', '/checkpoints/-1', '/cancel'), fc.string({ maxLength: 20 }), async (id, tail, q) => {
        const method = tail === '/cancel' ? 'POST' : 'GET';
        const res = await f.app.inject({ method, url: `/v1/jobs/${encodeURIComponent(id)}${tail}?after=${encodeURIComponent(q)}&limit=${encodeURIComponent(q)}` });
        checkAnswer(res.statusCode, res.body);
        expect(res.statusCode).not.toBe(200);
      }),
      { numRuns: 200 },
    );
  });
});
