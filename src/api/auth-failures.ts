// Wrong API keys counted per client address in a fixed window (AUTH_FAILURE_WINDOW_MS), so that a
// flood of guessed keys from one address is answered 429 instead of being checked forever.
import type { Store } from '../store/redis.js';
import { runScript } from '../store/script.js';

// The window starts at an address's first failure and is not extended by later ones.
const COUNT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface AuthFailureCount {
  /** Failures from this address in the current window, this one included. */
  count: number;
  /** Until the window ends. */
  retryAfterMs: number;
}

export async function countAuthFailure(s: Store, address: string, windowMs: number): Promise<AuthFailureCount> {
  const [count, ttl] = (await runScript(s.redis, COUNT, 1, s.keys.authFailures(address), windowMs)) as [number, number];
  return { count, retryAfterMs: ttl > 0 ? ttl : windowMs };
}
