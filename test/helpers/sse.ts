// An SSE client for a job's /events that behaves like EventSource: on a drop it reconnects with
// Last-Event-ID (to wherever the API now is) until the terminal status event arrives.

import { sleep } from './wait.js';

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

export interface FollowResult {
  events: SseEvent[];
  /** How many times the client had to connect (1 = never dropped). */
  connections: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Splits complete frames off `buffer`; returns the rest. */
function takeFrames(buffer: string, onFrame: (fields: Record<string, string>) => void): string {
  let end: number;
  while ((end = buffer.indexOf('\n\n')) >= 0) {
    const frame = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const fields: Record<string, string> = {};
    for (const line of frame.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
    }
    onFrame(fields);
  }
  return buffer;
}

/** `baseUrl` may be a function: a reconnect then goes to wherever the API is now (a restarted API process). */
export async function followEvents(
  baseUrl: string | (() => string),
  jobId: string,
  opts: { timeoutMs: number; headers?: Record<string, string>; lastEventId?: string },
): Promise<FollowResult> {
  const base = typeof baseUrl === 'string' ? () => baseUrl : baseUrl;
  const deadline = Date.now() + opts.timeoutMs;
  const events: SseEvent[] = [];
  let lastId: string | null = opts.lastEventId ?? null;
  let connections = 0;
  while (Date.now() < deadline) {
    connections += 1;
    let ended = false;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers };
      if (lastId !== null) headers['last-event-id'] = lastId;
      const res = await fetch(`${base()}/v1/jobs/${jobId}/events`, { headers, signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
      if (res.status !== 200 || res.body === null) throw new Error(`HTTP ${res.status}`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body) {
        buffer = takeFrames(buffer + decoder.decode(chunk as Uint8Array, { stream: true }), (f) => {
          if (f.id === undefined || f.event === undefined || f.data === undefined) return;
          const e: SseEvent = { id: f.id, event: f.event, data: JSON.parse(f.data) as Record<string, unknown> };
          events.push(e);
          lastId = e.id;
          if (e.event === 'status' && TERMINAL.has(String(e.data.status))) ended = true;
        });
      }
    } catch {
      // Dropped or refused: reconnect below, like EventSource.
    }
    if (ended) return { events, connections };
    await sleep(300);
  }
  throw new Error(`events of ${jobId}: no terminal status within ${opts.timeoutMs} ms (${events.length} events, ${connections} connections)`);
}
