// Following a job's server-sent events from Node or a browser with nothing but fetch: parses the
// event stream, and when the connection drops reconnects with Last-Event-ID, so the caller sees
// every event once, in order, until the job's terminal status (or the server's 204: nothing more).

import type { components } from './schema.js';

/** One event of a text/event-stream as parsed: any event name, its data JSON-decoded. */
export interface ServerEvent {
  /**
   * The last `id:` the stream sent (an event without one, like `progress`, keeps the one before,
   * as EventSource does): pass it back as `lastEventId` to resume after it.
   */
  id: string;
  event: string;
  data: unknown;
}

export type MetricsEvent = components['schemas']['MetricsRecord'];
export type StatusEvent = components['schemas']['HistoryEntry'];
/** Within-epoch progress: ephemeral, at most about 4 a second, never replayed on reconnect. */
export type ProgressEvent = components['schemas']['ProgressEvent'];

/** A job's event, typed by its name (the `x-events` of GET /v1/jobs/{id}/events). */
export type JobEvent =
  | { id: string; event: 'metrics'; data: MetricsEvent }
  | { id: string; event: 'status'; data: StatusEvent }
  | { id: string; event: 'progress'; data: ProgressEvent };

/** A sweep's event, typed by its name (the `x-events` of GET /v1/sweeps/{id}/events). */
export type SweepEvent =
  | { id: string; event: 'trial_started'; data: components['schemas']['TrialStartedEvent'] }
  | { id: string; event: 'trial_reported'; data: components['schemas']['TrialReportedEvent'] }
  | { id: string; event: 'trial_pruned'; data: components['schemas']['SweepDecision'] }
  | { id: string; event: 'trial_finished'; data: components['schemas']['TrialFinishedEvent'] }
  | { id: string; event: 'sweep_finished'; data: components['schemas']['SweepFinishedEvent'] };

export interface FollowOptions {
  /** Resume after this event (exclusive). */
  lastEventId?: string;
  signal?: AbortSignal;
  /** Reconnect attempts in a row without receiving an event before giving up (default 10). */
  maxReconnects?: number;
  /** First reconnect delay; doubles per failed attempt up to 5 s (default 250 ms). */
  reconnectDelayMs?: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const MAX_DELAY_MS = 5000;

/** Yields the job's events from `url`; `headers` carry authorization. */
export async function* followEventStream(
  url: string,
  headers: Record<string, string>,
  fetchImpl: typeof fetch,
  options: FollowOptions = {},
): AsyncGenerator<ServerEvent> {
  let lastEventId = options.lastEventId;
  let failures = 0;
  const maxReconnects = options.maxReconnects ?? 10;
  for (;;) {
    options.signal?.throwIfAborted();
    let ended = false;
    try {
      const res = await fetchImpl(url, {
        headers: { ...headers, accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}) },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (res.status === 204) return;
      if (!res.ok || res.body === null) {
        const text = await res.text().catch(() => '');
        // 4xx other than 408/429 will not get better by retrying: the job is not there, or the key is wrong.
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
          throw new EventStreamError(res.status, text);
        }
        throw new Error(`event stream answered ${res.status}`);
      }
      for await (const e of parseEventStream(res.body)) {
        failures = 0;
        lastEventId = e.id || lastEventId;
        yield e;
        if (e.event === 'status' && TERMINAL.has(String((e.data as { status?: unknown } | null)?.status))) ended = true;
      }
      if (ended) return;
    } catch (err) {
      if (err instanceof EventStreamError || options.signal?.aborted) throw err;
    }
    failures += 1;
    if (failures > maxReconnects) throw new Error(`event stream for ${url} dropped ${failures} times in a row`);
    const delay = Math.min(MAX_DELAY_MS, (options.reconnectDelayMs ?? 250) * 2 ** (failures - 1));
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** The server refused the stream (4xx): `status` and the error body. */
export class EventStreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`event stream refused with ${status}: ${body.slice(0, 200)}`);
    this.name = 'EventStreamError';
  }
}

/** Parses text/event-stream frames (https://html.spec.whatwg.org/multipage/server-sent-events.html); comments are skipped. */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id = '';
  let event = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { id, event: event || 'message', data: JSON.parse(data.join('\n')) as unknown };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
