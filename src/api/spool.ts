// Predict bodies for the CPU threads are written to a file under DATA_DIR/tmp
// as they arrive, never collected in the event loop's memory (a 64 MB Buffer.concat and its copy
// into a thread stalled every other request); the thread reads the file. The files of a request
// are deleted once its response is sent or its connection is gone.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asStorageFull } from '../store/storage-full.js';
import { ApiError } from './errors.js';
import { limitedBody } from './limited-body.js';

export function spoolDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'tmp');
}

/**
 * Spooled files older than this were left by an API process that died mid-request: a live request
 * finishes its body within REQUEST_TIMEOUT_MS and its task long before this.
 */
export const STALE_SPOOL_MS = 60 * 60 * 1000;

/** Deletes stale spooled files (DATA_DIR may be shared by several API hosts: only old ones). */
export async function removeStaleSpooled(dataDir: string, now = Date.now()): Promise<number> {
  const dir = spoolDir(dataDir);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  let removed = 0;
  for (const name of names.filter((n) => n.startsWith('body-'))) {
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => null);
    if (st === null || now - st.mtimeMs <= STALE_SPOOL_MS) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

const spooled = new WeakMap<FastifyRequest, string[]>();

/** Deletes the request's spooled files now (its CPU task is over). */
export async function removeSpooled(request: FastifyRequest): Promise<void> {
  const files = spooled.get(request) ?? [];
  spooled.delete(request);
  await Promise.all(files.map((f) => rm(f, { force: true })));
}

/** Hands the request's spooled files to the caller (work that goes on after the answer), who deletes them. */
export function detachSpooled(request: FastifyRequest): string[] {
  const files = spooled.get(request) ?? [];
  spooled.delete(request);
  return files;
}

/** Deletes the request's spooled files when its response is done (sent, failed or abandoned). */
export function removeSpooledOnClose(request: FastifyRequest, reply: FastifyReply): void {
  reply.raw.once('close', () => void removeSpooled(request));
}

/**
 * Writes `source` to a new file under `dir` with backpressure, refusing more than `limit` bytes
 * (413; the rest of the body is read and discarded so the answer reaches the client). Returns the
 * file (registered for deletion with the request) and its size.
 */
export async function spoolToFile(request: FastifyRequest, source: Readable, dir: string, limit: number, what: string): Promise<{ file: string; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `body-${randomBytes(9).toString('hex')}`);
  const files = spooled.get(request) ?? [];
  files.push(file);
  spooled.set(request, files);
  const body = limitedBody(source, limit, () => new ApiError('payload_too_large', `${what} is larger than BODY_LIMIT_BYTES = ${limit} bytes`));
  try {
    await pipeline(body.stream, createWriteStream(file));
  } catch (err) {
    throw body.failure() ?? asStorageFull(err, 'tmp/', body.received());
  }
  return { file, bytes: body.received() };
}
