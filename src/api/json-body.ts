// The API's JSON body parser. Fastify's own answers every refusal with "Body is not valid JSON",
// also for valid JSON that carries a "__proto__" key or "constructor": {"prototype": …}, which
// it refuses (rightly: merged into an object later, they would poison prototypes). Here each
// refusal says what it is: a syntax error with the parser's message, or the forbidden key's path.
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

// Only a body whose text could spell a forbidden key (directly or with \u escapes) is walked.
const SUSPECT = /__proto__|constructor|\\u00[57]/i;

/** The dotted path of the first "__proto__" key or "constructor" object with "prototype", or null. */
export function forbiddenKeyPath(value: unknown): string | null {
  const stack: { v: unknown; path: string[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string[] };
    if (typeof v !== 'object' || v === null) continue;
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      if (key === '__proto__') return [...path, key].join('.');
      if (key === 'constructor' && typeof child === 'object' && child !== null && Object.hasOwn(child, 'prototype')) {
        return [...path, key, 'prototype'].join('.');
      }
      stack.push({ v: child, path: [...path, key] });
    }
  }
  return null;
}

export function parseJsonBody(_request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') {
    done(new ApiError('invalid_json', 'the body is empty: send a JSON value (or no Content-Type: application/json)'));
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    done(new ApiError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`));
    return;
  }
  const forbidden = SUSPECT.test(body) ? forbiddenKeyPath(value) : null;
  if (forbidden !== null) {
    const message = `the key ${forbidden} is refused: "__proto__" and "constructor.prototype" could change object prototypes`;
    done(new ApiError('invalid_request', message, { path: forbidden, issues: [{ path: forbidden, message: 'forbidden key', in: 'body' }] }));
    return;
  }
  done(null, value);
}
