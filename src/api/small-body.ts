// A request body small enough to hold in memory: a predict request of a few rows (one 784-pixel row
// is 3 KB as float32) is read into a buffer and handed to the CPU thread with its task, instead of
// going to a file under DATA_DIR/tmp and back (spool.ts): the file's create, write, read and delete
// were most of a one-row predict's time. Only a body whose Content-Length says it fits is read
// this way, so what the event loop holds per request stays this small.
import type { Readable } from 'node:stream';
import type { ApiError } from './errors.js';
import { limitedBody } from './limited-body.js';

/** The largest body kept in memory; larger ones (and those without a Content-Length) are spooled. */
export const IN_MEMORY_BODY_BYTES = 64 * 1024;

/** Whether a body of this Content-Length header is read into memory. */
export function fitsInMemory(contentLength: string | undefined): boolean {
  const length = Number(contentLength);
  return contentLength !== undefined && Number.isSafeInteger(length) && length >= 0 && length <= IN_MEMORY_BODY_BYTES;
}

/** `source` read whole into one buffer, refusing more than `limit` bytes (as spoolToFile does). */
export async function readSmallBody(source: Readable, limit: number, tooLarge: () => ApiError): Promise<Uint8Array> {
  const body = limitedBody(source, limit, tooLarge);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body.stream) chunks.push(chunk as Buffer);
  } catch (err) {
    throw body.failure() ?? err;
  }
  const failure = body.failure();
  if (failure !== null) throw failure;
  // A buffer of its own (never Buffer's shared pool): it is copied to the thread whole.
  const bytes = new Uint8Array(body.received());
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
