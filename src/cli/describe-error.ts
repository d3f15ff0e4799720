// Turns whatever a command threw into lines a person can act on: the server unreachable, a
// refused key, a missing job, or every invalid field with its path (the API's details.issues).
import { EventStreamError, TraindError, type ErrorBody } from '../client/index.js';

interface Issue {
  path?: unknown;
  message?: unknown;
}

/** A mistake on the command line (a missing file, an unknown extension): no request was made. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function describeError(err: unknown, baseUrl: string): string[] {
  if (err instanceof UsageError) return [`error: ${err.message}`];
  if (err instanceof TraindError) return describeApiError(err.status, err.body);
  if (err instanceof EventStreamError) {
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(err.body) as ErrorBody;
    } catch {
      body = undefined;
    }
    return describeApiError(err.status, body);
  }
  const cause = unreachableCause(err);
  if (cause !== undefined) return [`error: cannot reach traind at ${baseUrl} (${cause}); set TRAIND_URL or --url`];
  return [`error: ${err instanceof Error ? err.message : String(err)}`];
}

function describeApiError(status: number, body: ErrorBody | undefined): string[] {
  const e = body?.error;
  const head = e ? `error: ${status} ${e.code}: ${e.message}` : `error: HTTP ${status}`;
  const lines = [head];
  if (status === 401) lines.push('  the server wants an API key: set TRAIND_API_KEY or --key');
  const issues = Array.isArray(e?.details?.issues) ? (e.details.issues as Issue[]) : [];
  for (const issue of issues) lines.push(`  ${String(issue.path ?? '') || '(body)'}: ${String(issue.message ?? '')}`);
  return lines;
}

/** fetch throws a TypeError("fetch failed") whose cause says why the connection failed. */
function unreachableCause(err: unknown): string | undefined {
  if (!(err instanceof TypeError)) return undefined;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return err.message === 'fetch failed' ? 'connection failed' : undefined;
}
