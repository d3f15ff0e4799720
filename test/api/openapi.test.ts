// The committed openapi/openapi.json must be what the routes generate (run `npm run openapi`).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { lintFromString, loadConfig as loadRedoclyConfig } from '@redocly/openapi-core';
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

  it('passes redocly lint (openapi/redocly.yaml) with no errors, and only the warnings justified there', async () => {
    const config = await loadRedoclyConfig({ configPath: fileURLToPath(new URL('../../openapi/redocly.yaml', import.meta.url)) });
    const source = await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
    const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
    const summary = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
    expect(summary.filter((p) => p.startsWith('error'))).toEqual([]);
    // Health checks and the dashboard's page take no input and no key: no 4XX answer exists for
    // them. ProgressEvent and the sweep's events are referenced from the SSE routes' x-events only (see redocly.yaml).
    const justified = (p: string) =>
      /^warn operation-4xx-response #\/paths\/~1(healthz|readyz)?\//.test(p) ||
      /^warn no-unused-components #\/components\/schemas\/(ProgressEvent|TrialStartedEvent|TrialReportedEvent|TrialFinishedEvent|SweepFinishedEvent):/.test(p);
    expect(summary.filter((p) => !justified(p))).toEqual([]);
  });

  it('gives every operation a unique operationId and a tag, and states servers, license and bearer security', async () => {
    const doc = (await openapiDocument()) as { paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>; servers?: unknown[]; info: { license?: unknown }; security?: unknown };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(ops.every((o) => typeof o.operationId === 'string' && (o.tags?.length ?? 0) > 0)).toBe(true);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.info.license).toBeDefined();
    expect(doc.security).toEqual([{ bearer: [] }]);
    // A loopback server without keys serves its document without the bearer requirement.
    const f = await appFixture();
    try {
      const served = (await f.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ security: unknown; components: Record<string, unknown> }>();
      expect(served.security).toEqual([]);
      expect((served.components.securitySchemes as Record<string, unknown> | undefined)?.bearer).toBeUndefined();
    } finally {
      await f.close();
    }
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
