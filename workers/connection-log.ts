// Logs a Redis outage once instead of once per reconnect attempt: the first error after the
// connection was up is a warning, the rest are quiet until it is back ("reconnected").

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** Attaches error/ready listeners to `redis` (without one, ioredis prints every failed attempt). */
export function logConnection(redis: Redis, logger: Logger, name: string): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (!isNetworkError(err)) {
      logger.error({ err, connection: name }, 'redis error');
      return;
    }
    if (down) return;
    down = true;
    logger.warn({ connection: name, err: err.message }, 'redis unreachable; retrying');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ connection: name }, 'redis reconnected');
  });
}

/** The same once-per-outage logging for emitters that report errors without a connection (BullMQ). */
export function outageLogger(logger: Logger, name: string, quietMs = 10_000): (err: Error) => void {
  let last = 0;
  return (err) => {
    if (!isNetworkError(err)) {
      logger.error({ err, source: name }, `${name} error`);
      return;
    }
    const now = Date.now();
    if (now - last < quietMs) return;
    last = now;
    logger.warn({ source: name, err: err.message }, `${name}: redis unreachable; retrying`);
  };
}
