// Where the CLI talks to: --url/--key win over TRAIND_URL/TRAIND_API_KEY; a local server by default.
import { createTraindClient, type TraindClient } from '../client/index.js';

export interface GlobalOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export function resolveBaseUrl(o: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return o.url ?? (env.TRAIND_URL || DEFAULT_URL);
}

export function connect(o: GlobalOptions, env: NodeJS.ProcessEnv = process.env): TraindClient {
  const apiKey = o.key ?? (env.TRAIND_API_KEY || undefined);
  return createTraindClient({ baseUrl: resolveBaseUrl(o, env), ...(apiKey !== undefined ? { apiKey } : {}) });
}
