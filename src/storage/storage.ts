// The storage interface: every file of the service (datasets, checkpoints, resume states, pinned
// fine-tune starts) is an object under a key such as `jobs/<id>/epoch-3.safetensors`, kept by
// one of two drivers: a local directory (DATA_DIR, the default) or S3-compatible object storage.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** One stored object as a listing shows it. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** When it was last written, ms since the epoch. */
  modifiedMs: number;
}

/** What `stat` says about an object: `version` changes whenever its bytes may have. */
export interface ObjectStat {
  size: number;
  version: string;
  modifiedMs: number;
}

/**
 * An object's bytes opened for reading as a local file: the driver's own file (local) or a private
 * downloaded copy (S3). Reads see one version whatever is written to the key meanwhile. The caller
 * closes `handle`.
 */
export interface OpenedObject {
  handle: FileHandle;
  size: number;
  version: string;
}

export interface Storage {
  /** For messages and logs: `DATA_DIR <path>` or `s3://bucket/prefix`. */
  readonly description: string;
  /**
   * Writes the object so that a reader sees the old bytes or all of the new ones, never part;
   * a full volume is a StorageFullError, a failed store an error (never a half-written object).
   * Once `signal` aborts, a write not yet in place stops and rejects with an AbortError, leaving
   * the old object (or none) and no temporary one; a write already being put in place completes.
   */
  put(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Writes the local file's bytes as the object, streamed (large datasets), with put's guarantees. */
  putFile(key: string, file: string): Promise<void>;
  /**
   * Writes the stream's bytes as the object as they arrive, with backpressure: memory is the
   * driver's buffers (S3: a few multipart parts), not the object. A reader sees all of it or
   * nothing; when `source` fails, nothing is stored and the source's error is thrown. For keys
   * nobody reads before the write ends (uploads, new datasets).
   */
  putStream(key: string, source: Readable): Promise<void>;
  /** The object's bytes as a stream (an error if fewer arrive than it holds), or null when there is none. */
  readStream(key: string): Promise<Readable | null>;
  /** The whole object, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Up to `length` bytes from `start` (fewer at the end), or null when there is no object. */
  read(key: string, start: number, length: number): Promise<Buffer | null>;
  stat(key: string): Promise<ObjectStat | null>;
  open(key: string): Promise<OpenedObject | null>;
  /** Copies an object (put's guarantees for the copy); false when the source does not exist. */
  copy(fromKey: string, toKey: string): Promise<boolean>;
  /** Removes the object; nothing when it does not exist. */
  delete(key: string): Promise<void>;
  /** Removes every object whose key starts with `prefix` (which ends with `/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
}

/** Where the objects are: plain data, so a CPU thread can make its own driver from it. */
export type StorageSettings =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix inside the bucket, '' or ending with '/'. */
      prefix: string;
      region: string;
      /** S3_ENDPOINT for MinIO and other S3-compatible servers; null for AWS. */
      endpoint: string | null;
      forcePathStyle: boolean;
      /** Explicit keys (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); null: the SDK's default chain (IRSA, instance roles, profiles). */
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
      /** One request's time limit; a slower store is retried, then an error. */
      requestTimeoutMs: number;
      maxAttempts: number;
      /** Local scratch directory for downloaded copies (open). */
      scratchDir: string;
    };

/** A key is relative, `/`-separated, without empty, `.` or `..` segments. */
export function checkKey(key: string): string {
  const parts = key.split('/');
  if (key.length === 0 || key.length > 1024 || parts.some((p) => p === '' || p === '.' || p === '..') || key.includes('\0') || key.includes('\\')) {
    throw new Error(`invalid storage key ${JSON.stringify(key.slice(0, 100))}`);
  }
  return key;
}

/** A unique temporary key next to `key`: `<key>.<pid>.<random>.tmp`, which sweeps recognise. */
export function temporaryKey(key: string, random: string): string {
  return `${key}.${process.pid}.${random}.tmp`;
}

/** What an aborted write rejects with, on every driver. */
export function abortedWrite(key: string): Error {
  return new DOMException(`writing ${key} was aborted`, 'AbortError');
}
