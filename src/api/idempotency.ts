// Idempotency-Key material shared by the routes that create things (jobs, sweeps): the header as a
// digest (any header value makes a safe Redis key) and the hash a retry's body is compared by.
import { createHash } from 'node:crypto';

/** Redis key material for an Idempotency-Key. */
export function idemKey(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40);
}

/** sha256 of the parsed request body, compared when a key is used again. */
export function bodyHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
