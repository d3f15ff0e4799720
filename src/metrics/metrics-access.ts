// Who may read /metrics (the API's and a worker's metrics port alike). A set METRICS_TOKEN is
// always required; without one, metrics are open in loopback mode (no API_KEYS) and off when API
// keys are configured: a tenant's key never opens them, since they describe every tenant's jobs.
import { createHash, timingSafeEqual } from 'node:crypto';
import { bearerToken } from '../api/auth.js';
import type { Config } from '../config.js';

/** open/granted: serve; denied: 401; off: 404 (API keys configured but no METRICS_TOKEN). */
export type MetricsAccess = 'open' | 'granted' | 'denied' | 'off';

export function metricsAccess(config: Pick<Config, 'apiKeys' | 'metricsToken'>, authorization: string | undefined): MetricsAccess {
  if (config.metricsToken === null) return config.apiKeys.length === 0 ? 'open' : 'off';
  const token = bearerToken(authorization);
  if (token === null) return 'denied';
  // Digests of equal length, compared in constant time: timing reveals nothing of the token.
  const given = createHash('sha256').update(token, 'utf8').digest();
  const expected = createHash('sha256').update(config.metricsToken, 'utf8').digest();
  return timingSafeEqual(given, expected) ? 'granted' : 'denied';
}

export const METRICS_OFF_MESSAGE = 'metrics are off: API keys are configured and METRICS_TOKEN is not set';
export const METRICS_DENIED_MESSAGE = 'missing or wrong metrics token: send Authorization: Bearer <METRICS_TOKEN>';
