// The OpenAPI document as the routes describe it, built without touching Redis (a lazy
// connection that is never used, no queue), so `npm run openapi` and the staleness test need no server.
import { Redis } from 'ioredis';
import { loadConfig } from '../config.js';
import { buildApp } from './app.js';

export async function openapiDocument(): Promise<Record<string, unknown>> {
  // As deployed beyond loopback: with API keys, so the document states the bearer requirement
  // (a server without keys serves its own /openapi.json without it).
  const config = loadConfig({ LOG_LEVEL: 'silent', API_KEYS: `docs:${'0'.repeat(64)}` });
  const redis = new Redis({ lazyConnect: true });
  try {
    const app = await buildApp(config, { redis, queue: null });
    const doc = app.swagger() as unknown as Record<string, unknown>;
    await app.close();
    return doc;
  } finally {
    redis.disconnect();
  }
}

/** Stable text for the committed file. */
export function openapiText(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
