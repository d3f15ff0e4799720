// Wrong API keys counted per client address in a fixed window (AUTH_FAILURE_WINDOW_MS), so that a
// flood of guessed keys from one address is answered 429 instead of being checked forever.
import type { Store } from '../store/redis.js';
import { runScript } from '../store/scripts.js';

export interface AuthFailureCount {
  /** Failures from this address in the current window, this one included. */
  count: number;
  /** Until the window ends. */
  retryAfterMs: number;
}

export async function countAuthFailure(s: Store, address: string, windowMs: number): Promise<AuthFailureCount> {
  const [count, ttl] = (await runScript(s.redis, 'countAuthFailure', [s.keys.authFailures(address)], [windowMs])) as [number, number];
  return { count, retryAfterMs: ttl > 0 ? ttl : windowMs };
}
