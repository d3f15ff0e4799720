// Server-sent events plumbing shared by the job and sweep event routes: where a reconnecting
// client resumes (Last-Event-ID), the answer to one that has everything, the stream's opening,
// and writes that wait for a slow client.
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isStreamId } from '../store/stream.js';
import { ApiError } from './errors.js';

/** The Last-Event-ID an EventSource sends on reconnect (a stream id this API sent), or undefined. */
export function lastEventId(request: FastifyRequest): string | undefined {
  const header = request.headers['last-event-id'];
  const id = Array.isArray(header) ? header[0] : header;
  if (id !== undefined && !isStreamId(id)) {
    throw new ApiError('invalid_request', 'Last-Event-ID is not an id this stream sent', { path: 'headers.last-event-id' });
  }
  return id;
}

/**
 * 204 for a client that already has a finished stream's last event: EventSource stops
 * reconnecting on 204, where an empty 200 would make it retry forever.
 */
export function nothingMore(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}

/** Takes the response over from Fastify and opens the event stream (the client reconnects after 2 s). */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): ServerResponse {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
    'X-Request-Id': request.id,
  });
  raw.write('retry: 2000\n\n');
  return raw;
}

/** Writes `text`; when the client's buffer is full, waits for drain or close (listeners removed either way). */
export async function writeEvent(raw: ServerResponse, text: string): Promise<void> {
  if (raw.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.once('drain', done);
    raw.once('close', done);
  });
}
