// An upload's raw bodies go straight into the store as they arrive (uploads/<datasetId>/<part>),
// with backpressure and BODY_LIMIT_BYTES counted on the way: the API host needs no disk for them,
// and its memory holds a few multipart parts at most. From the first byte the API process holds
// the upload's lease (store/dataset-uploads.ts), so the sweeper can tell a live upload from one
// whose process died. The raw objects and the lease go when the request ends, unless the
// conversion took them over (it removes them when it is done).
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { holdUploadLease, type UploadLease } from '../store/dataset-uploads.js';
import { newDatasetId } from '../store/ids.js';
import { uploadKey, uploadPrefix } from '../store/object-keys.js';
import type { Store } from '../store/redis.js';
import type { ApiError } from './errors.js';
import { limitedBody } from './limited-body.js';

export type UploadPart = 'body' | 'file' | 'images' | 'labels';

export interface RawUpload {
  /** The dataset id the upload will have. */
  id: string;
  lease: UploadLease;
  /** Writes to the store, settled or not. */
  writes: Promise<unknown>[];
  /** The conversion took the raw objects and the lease over. */
  handedOver: boolean;
}

const uploads = new WeakMap<FastifyRequest, RawUpload>();

/** The request's upload, once its body started arriving; null before. */
export function rawUploadOf(request: FastifyRequest): RawUpload | null {
  return uploads.get(request) ?? null;
}

async function startRawUpload(request: FastifyRequest, s: Store): Promise<RawUpload> {
  let upload = uploads.get(request);
  if (upload === undefined) {
    const id = newDatasetId();
    upload = { id, lease: await holdUploadLease(s, id), writes: [], handedOver: false };
    uploads.set(request, upload);
  }
  return upload;
}

/** Streams one raw body into the store under the request's upload; resolves with its key and size. */
export async function storeRawBody(request: FastifyRequest, s: Store, part: UploadPart, source: Readable, limit: number, tooLarge: () => ApiError): Promise<{ key: string; bytes: number }> {
  const upload = await startRawUpload(request, s);
  const key = uploadKey(upload.id, part);
  const body = limitedBody(source, limit, tooLarge);
  const write = s.storage.putStream(key, body.stream);
  upload.writes.push(write.catch(() => undefined));
  await write.catch((err: unknown) => {
    throw body.failure() ?? err;
  });
  return { key, bytes: body.received() };
}

/** Removes an upload's raw objects (after its writes settled) and its lease. */
export async function discardRawUpload(s: Store, upload: RawUpload): Promise<void> {
  try {
    await Promise.all(upload.writes);
    await s.storage.deletePrefix(uploadPrefix(upload.id));
  } finally {
    await upload.lease.release();
  }
}

/** Discards the request's upload unless the conversion took it over. */
export async function discardUnlessHandedOver(request: FastifyRequest, s: Store): Promise<void> {
  const upload = uploads.get(request);
  if (upload === undefined || upload.handedOver) return;
  uploads.delete(request);
  await discardRawUpload(s, upload);
}

/** Registers the clean-up for when the response is done (sent, failed or abandoned by the client). */
export function discardOnClose(request: FastifyRequest, reply: FastifyReply, s: Store): void {
  reply.raw.once('close', () => void discardUnlessHandedOver(request, s).catch((err: unknown) => request.log.warn({ err }, 'could not remove a raw upload')));
}
