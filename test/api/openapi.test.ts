// The committed openapi/openapi.json must be what the routes generate (run `npm run openapi`).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openapiDocument, openapiText } from '../../src/api/openapi.js';
import { clientTypesSource } from '../../src/client/generate-types.js';
import { computeBackend } from '../../src/compute-backend.js';
import { appFixture } from './helpers.js';

describe('OpenAPI', () => {
  it('committed openapi/openapi.json is up to date (else run npm run openapi)', async () => {
    const committed = await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
    expect(committed).toBe(openapiText(await openapiDocument()));
  });

  it('the typed client\'s committed src/client/schema.ts is generated from it (else run npm run openapi)', async () => {
    const committed = await readFile(new URL('../../src/client/schema.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await clientTypesSource(await openapiDocument()));
  });

  it('documents every /v1 route and the spec, and serves /openapi.json and /docs', async () => {
    const doc = (await openapiDocument()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/cancel', '/v1/jobs/{id}/metrics', '/v1/jobs/{id}/events', '/v1/jobs/{id}/checkpoints', '/v1/jobs/{id}/checkpoints/best', '/v1/jobs/{id}/checkpoints/{epoch}', '/v1/jobs/{id}/predict', '/v1/datasets', '/v1/datasets/{id}', '/healthz', '/readyz']),
    );
    expect(Object.keys(doc.components.schemas).some((k) => k.startsWith('JobSpec'))).toBe(true);
    const f = await appFixture();
    try {
      const served = await f.app.inject({ method: 'GET', url: '/openapi.json' });
      expect(served.statusCode).toBe(200);
      expect(Object.keys(served.json().paths)).toEqual(Object.keys(doc.paths));
      expect((await f.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
      expect((await f.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', ...computeBackend() });
    } finally {
      await f.close();
    }
  });
});
