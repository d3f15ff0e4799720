// API keys: `Authorization: Bearer <key>`, checked against API_KEYS (tenant:sha256hex) in constant
// time. Every request under /v1 gets a tenant; without configured keys everything is "default".
// Requests without a valid key are rate limited per client address before they are refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyEntry, Config } from '../config.js';
import type { Store } from '../store/redis.js';
import { countAuthFailure } from './auth-failures.js';
import { ApiError } from './errors.js';

export const DEFAULT_TENANT = 'default';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: string;
    /** Set instead of a tenant when the key is missing or wrong; acted on after rate limiting. */
    authFailure: 'missing' | 'invalid' | null;
    rateLimitBucket: string;
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

/**
 * onRequest hook for /v1 routes: works out who is asking without answering yet, so that the rate
 * limiter (which runs after every onRequest hook of the scope) sees requests with a wrong or
 * missing key too. Sets request.tenant, or request.authFailure and leaves the tenant empty.
 */
export function identifyHook(config: Config) {
  return async (request: FastifyRequest): Promise<void> => {
    if (config.apiKeys.length === 0) {
      request.tenant = DEFAULT_TENANT;
      request.rateLimitBucket = `ip:${request.ip}`;
      return;
    }
    const token = bearerToken(request.headers.authorization);
    const tenant = token === null ? null : tenantForKey(config.apiKeys, token);
    if (token === null || tenant === null) {
      request.authFailure = token === null ? 'missing' : 'invalid';
      // Never a bucket per presented key: a flood of made-up keys would get a fresh bucket each.
      request.rateLimitBucket = `ip:${request.ip}`;
      return;
    }
    request.tenant = tenant;
    request.rateLimitBucket = `key:${sha256Hex(token).slice(0, 32)}`;
  };
}

/**
 * preParsing hook for /v1 routes (after rate limiting, before any body is read): answers a
 * request without a valid key 401, or 429 once its address has sent AUTH_FAILURE_LIMIT wrong keys
 * in the current window. A valid key is never held back by its address's failures.
 */
export function requireTenantHook(config: Config, store: Store) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.authFailure === null) return;
    if (request.authFailure === 'invalid') {
      const seen = await countAuthFailure(store, request.ip, config.authFailures.windowMs).catch((err: unknown) => {
        // Fail open like the rate limiter: a Redis hiccup must not lock everyone out, nor let anyone in.
        request.log.warn({ err }, 'could not count an authentication failure');
        return null;
      });
      if (seen !== null && seen.count > config.authFailures.limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil(seen.retryAfterMs / 1000));
        throw new ApiError(
          'rate_limited',
          `too many wrong API keys from this address: more than ${config.authFailures.limit} in ${Math.round(config.authFailures.windowMs / 1000)} s (AUTH_FAILURE_LIMIT); retry in ${retryAfterSeconds} s`,
          { retryAfterSeconds },
        );
      }
    }
    reply.header('WWW-Authenticate', 'Bearer realm="traind"');
    throw new ApiError('unauthorized', request.authFailure === 'missing' ? 'missing API key: send Authorization: Bearer <key>' : 'invalid API key');
  };
}

/** Rate-limit bucket set by identifyHook: a digest of a valid key (never the key), else the client address. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.rateLimitBucket || `ip:${request.ip}`;
}
