// The conformance check itself: it must catch what it claims to (so that the API tests passing
// through it mean something), and the fixtures must really feed it responses.
import { describe, expect, it } from 'vitest';
import { checkResponse } from '../helpers/conformance.js';
import { appFixture, xorSpec } from './helpers.js';

const json = 'application/json; charset=utf-8';
const errorBody = JSON.stringify({ error: { code: 'not_found', message: 'job not found', details: {} } });

describe('OpenAPI conformance check', () => {
  it('accepts a declared answer and flags undeclared statuses, content types and bodies', () => {
    expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id', status: 404, contentType: json, body: errorBody })).toBeNull();
    expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id', status: 418, contentType: json, body: errorBody })).toMatch(/status not declared/);
    expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id', status: 404, contentType: 'text/html', body: '<p>' })).toMatch(/Content-Type text\/html not declared/);
    expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id', status: 404, contentType: json, body: '{"error":{"code":1}}' })).toMatch(/does not match/);
    expect(checkResponse({ method: 'GET', route: '/v1/jobs', status: 413, contentType: json, body: errorBody })).toMatch(/status not declared/);
    expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id/checkpoints/best', status: 304, contentType: undefined, body: '' })).toBeNull();
    expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id/checkpoints/best', status: 304, contentType: undefined, body: 'x' })).toMatch(/a body where none is declared/);
  });

  it('sees the responses of a fixture app', async () => {
    const f = await appFixture();
    try {
      const created = await f.app.inject({ method: 'POST', url: '/v1/jobs', payload: xorSpec() });
      expect(created.statusCode).toBe(201);
      const job = created.json<{ id: string; spec: unknown }>();
      // The body the API really sent validates against the Job schema (a resolved spec inside).
      expect(checkResponse({ method: 'POST', route: '/v1/jobs', status: 201, contentType: String(created.headers['content-type']), body: created.body })).toBeNull();
      const read = await f.app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` });
      expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id', status: read.statusCode, contentType: String(read.headers['content-type']), body: read.body })).toBeNull();
      // Tampering with a real body is caught.
      const tampered = JSON.stringify({ ...read.json<Record<string, unknown>>(), status: 'sleeping' });
      expect(checkResponse({ method: 'GET', route: '/v1/jobs/:id', status: 200, contentType: json, body: tampered })).toMatch(/does not match/);
    } finally {
      await f.close();
    }
  });
});
