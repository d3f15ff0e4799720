// A request body passed on with backpressure and a byte limit, for bodies that go to a file or to
// the store as they arrive (spool.ts, upload-body.ts) rather than into memory.
import { PassThrough, type Readable } from 'node:stream';
import type { ApiError } from './errors.js';

export interface LimitedBody {
  stream: Readable;
  /** Bytes received so far. */
  received(): number;
  /** Why the body failed (over the limit, the connection gone), or null. */
  failure(): Error | null;
}

/**
 * `source` passed through, refusing more than `limit` bytes: the returned stream then fails with
 * `tooLarge()` and the rest of the source is read and discarded (so the answer reaches the
 * client), as it is when the consumer fails. A source that closes before its end fails it too.
 */
export function limitedBody(source: Readable, limit: number, tooLarge: () => ApiError): LimitedBody {
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  // The consumer may attach after a failure (a first chunk over the limit): `failure` tells it why.
  out.on('error', () => undefined);
  let bytes = 0;
  let ended = false;
  let failure: Error | null = null;
  const stop = (err: Error | null) => {
    source.off('data', onData);
    // Drain what is left, so an error answer is not stuck behind an unread body.
    source.resume();
    if (err !== null) {
      failure ??= err;
      out.destroy(err);
    }
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > limit) return stop(tooLarge());
    if (!out.write(chunk)) {
      source.pause();
      out.once('drain', () => source.resume());
    }
  };
  source.on('data', onData);
  source.once('end', () => {
    ended = true;
    out.end();
  });
  source.once('error', (err) => stop(err));
  source.once('close', () => {
    if (!ended) stop(new Error('the connection closed before the body ended'));
  });
  // The store gave up (or the request is over): stop feeding it.
  out.once('close', () => {
    if (!ended) stop(null);
  });
  return { stream: out, received: () => bytes, failure: () => failure };
}

