// GET / (the dashboard's page) and GET /assets/:file (its bundled script, styles and icon), read
// once from dist/dashboard/, which `npm run build` makes. Asset names carry a content hash, so they
// are cached as immutable; the page itself is revalidated by ETag, so a new build shows at once.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, ErrorBodySchema, notFound } from '../errors.js';
import { etagMatches } from './checkpoints.js';

/**
 * Everything the page needs comes from this origin: scripts and styles from /assets (no inline
 * ones), data from the API by fetch. uPlot sizes its elements through the CSSOM, which style-src
 * does not restrict; checkpoint downloads are blob: URLs made from fetched bytes.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** Smaller than this, gzip saves too little to matter. */
const GZIP_FROM_BYTES = 1024;

interface StaticFile {
  body: Buffer;
  gzipped: Buffer | null;
  type: string;
  etag: string;
}

const AssetParams = z.object({ file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'an asset file name') });

/** dist/dashboard, whether this file runs compiled (dist/src/api/routes) or from source (src/api/routes, in tests). */
function findDashboardDir(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../../dashboard'), path.resolve(here, '../../../dist/dashboard')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? null;
}

function load(file: string): StaticFile {
  const body = readFileSync(file);
  return {
    body,
    gzipped: body.length >= GZIP_FROM_BYTES ? gzipSync(body, { level: 9 }) : null,
    type: TYPES[path.extname(file)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
  };
}

/** The built page and assets, read once; null when the dashboard was not built. */
export function loadDashboard(dir: string | null = findDashboardDir()): { page: StaticFile; assets: Map<string, StaticFile> } | null {
  if (dir === null) return null;
  const assetDir = path.join(dir, 'assets');
  const assets = new Map<string, StaticFile>();
  for (const name of existsSync(assetDir) ? readdirSync(assetDir) : []) assets.set(name, load(path.join(assetDir, name)));
  return { page: load(path.join(dir, 'index.html')), assets };
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string) {
  reply.header('ETag', file.etag).header('Cache-Control', cacheControl).header('Vary', 'Accept-Encoding').header('X-Content-Type-Options', 'nosniff');
  if (etagMatches(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  reply.code(200).type(file.type);
  // Buffers skip the JSON serializer that the response schemas would otherwise apply.
  if (file.gzipped !== null && acceptsGzip) return reply.header('Content-Encoding', 'gzip').send(file.gzipped);
  return reply.send(file.body);
}

/** A 304 has no body (openapi-contract.ts drops this content); Fastify needs a schema to build. */
const notModified = (type: string) => ({ description: 'not modified (If-None-Match matched the ETag)', content: { [type]: { schema: z.string() } } });

export function dashboardRoutes(dashboard = loadDashboard()): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/',
      {
        schema: {
          summary: 'The dashboard (HTML)',
          description: 'A web page for people: jobs, live curves, comparison, submission. It uses only this API (through the typed client), with the API key kept in the browser session.',
          tags: ['dashboard'],
          security: [],
          response: {
            200: { description: 'the page', content: { 'text/html': { schema: z.string() } } },
            304: notModified('text/html'),
            503: ErrorBodySchema,
          },
        },
      },
      async (request, reply) => {
        if (dashboard === null) throw new ApiError('unavailable', 'the dashboard is not built: run `npm run build`');
        reply.header('Content-Security-Policy', DASHBOARD_CSP).header('Referrer-Policy', 'no-referrer').header('X-Frame-Options', 'DENY');
        return send(request, reply, dashboard.page, REVALIDATE);
      },
    );

    app.get(
      '/assets/:file',
      {
        schema: {
          summary: "The dashboard's bundled files",
          description: 'Content-hashed names: cached for a year as immutable.',
          tags: ['dashboard'],
          security: [],
          params: AssetParams,
          response: {
            200: {
              description: 'a script, style sheet or icon',
              content: {
                'text/javascript': { schema: z.string() },
                'text/css': { schema: z.string() },
                'image/svg+xml': { schema: z.string() },
              },
            },
            304: notModified('text/javascript'),
            404: ErrorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const file = dashboard?.assets.get(request.params.file);
        if (file === undefined) throw notFound('asset');
        return send(request, reply, file, IMMUTABLE);
      },
    );
  };
}
