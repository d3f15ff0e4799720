// Ownership before work: a request with a body about a job or dataset (predict, uploads, anything
// under /v1/jobs/:id/… or /v1/datasets/:id/…) is answered 404 when the id is unknown or another
// tenant's, before a byte of its body is read or parsed.
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../store/redis.js';
import { issuesError, notFound } from './errors.js';
import { DatasetIdParams, JobIdParams } from './schemas.js';

/** True when the request announces a body (Content-Length > 0 or a Transfer-Encoding). */
function announcesBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The id's owner field, one HGET: cheaper than reading the whole record. */
async function ownerOf(s: Store, key: string): Promise<string | null> {
  return s.redis.hget(key, 'tenant');
}

/** preParsing hook for /v1 routes, after authentication. */
export function ownerBeforeBodyHook(s: Store) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!announcesBody(request.raw)) return;
    const route = request.routeOptions.url ?? '';
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return;
    const kind = route.startsWith('/v1/jobs/:id') ? 'job' : route.startsWith('/v1/datasets/:id') ? 'dataset' : null;
    if (kind === null) return;
    // The answer the params schema gives, only before the body rather than after it.
    const checked = (kind === 'job' ? JobIdParams : DatasetIdParams).safeParse({ id });
    if (!checked.success) throw issuesError('invalid_request', checked.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message, in: 'params' as const })));
    const owner = await ownerOf(s, kind === 'job' ? s.keys.job(id) : s.keys.dataset(id));
    if (owner !== request.tenant) throw notFound(kind);
  };
}
