// Polling helpers for tests that wait on other processes: a condition with a deadline and a
// message that says what was awaited when it times out.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Named in the timeout error. */
  what: string;
}

/**
 * Calls `check` until it returns something other than null/undefined/false, and returns that.
 * A thrown error ends the wait at once (a dead process should fail the test, not time it out).
 */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false> | T | null | undefined | false, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 100;
  let last: unknown = undefined;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    last = value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what} (last: ${String(last)})`);
    await sleep(interval);
  }
}
