// API keys: `Authorization: Bearer <key>`, checked against API_KEYS (tenant:sha256hex) in constant
// time. Every request under /v1 gets a tenant; without configured keys everything is "default".
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyEntry, Config } from '../config.js';
import { ApiError } from './errors.js';

export const DEFAULT_TENANT = 'default';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: string;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The bearer token of an Authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer[ \t]+([^\s]{1,512})[ \t]*$/i.exec(header);
  return m?.[1] ?? null;
}

/**
 * The tenant a key belongs to, or null. Compares the key's digest with every configured digest
 * (no early exit), so timing reveals neither which entry matched nor how much of it.
 */
export function tenantForKey(keys: readonly ApiKeyEntry[], key: string): string | null {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  let found: string | null = null;
  for (const entry of keys) {
    const expected = Buffer.from(entry.sha256, 'hex');
    if (expected.length === digest.length && timingSafeEqual(expected, digest) && found === null) found = entry.tenant;
  }
  return found;
}

/** onRequest hook for /v1 routes: sets request.tenant or answers 401. */
export function authHook(config: Config) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (config.apiKeys.length === 0) {
      request.tenant = DEFAULT_TENANT;
      return;
    }
    const token = bearerToken(request.headers.authorization);
    const tenant = token === null ? null : tenantForKey(config.apiKeys, token);
    if (tenant === null) {
      reply.header('WWW-Authenticate', 'Bearer realm="traind"');
      throw new ApiError('unauthorized', token === null ? 'missing API key: send Authorization: Bearer <key>' : 'invalid API key');
    }
    request.tenant = tenant;
  };
}

/** Rate-limit bucket: a digest of the presented key (never the key itself), else the client address. */
export function rateLimitKey(request: FastifyRequest): string {
  const token = bearerToken(request.headers.authorization);
  return token === null ? `ip:${request.ip}` : `key:${sha256Hex(token).slice(0, 32)}`;
}
