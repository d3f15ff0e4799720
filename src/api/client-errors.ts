// Answers for requests Node's HTTP parser refuses before Fastify sees them (a request that took
// longer than REQUEST_TIMEOUT_MS/HEADERS_TIMEOUT_MS, headers over Node's size limit, malformed
// HTTP), in the API's error format, and the socket is closed either way.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { boundedErrorBody, ERROR_STATUS, type ErrorCode } from './errors.js';

function describe(err: NodeJS.ErrnoException, config: Config): { code: ErrorCode; message: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      code: 'request_timeout',
      message: `the request did not arrive in time: headers within ${config.timeouts.headersMs} ms (HEADERS_TIMEOUT_MS), headers and body within ${config.timeouts.requestMs} ms (REQUEST_TIMEOUT_MS)`,
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return { code: 'headers_too_large', message: 'the request headers are larger than the server accepts (16 KiB in all)' };
  return { code: 'invalid_request', message: 'malformed HTTP request' };
}

/** Fastify's clientErrorHandler: `this` is the app, for its logger. */
export function clientErrorHandler(config: Config) {
  return function (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { code, message } = describe(err, config);
    this.log.debug({ err: { code: err.code, message: err.message } }, `client error: ${code}`);
    // Node's own field: a response already under way on this socket cannot take a second status line.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const status = ERROR_STATUS[code];
    const body = JSON.stringify(boundedErrorBody(code, message));
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
    ];
    // Destroyed once the answer is flushed: a slow client keeps nothing open after it.
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
  };
}
