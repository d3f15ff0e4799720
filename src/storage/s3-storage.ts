// The S3-compatible driver (AWS S3, MinIO, Ceph, GCS's and Azure's S3 interfaces): objects under
// `prefix` in one bucket. A write goes to a temporary key first, is copied to its final key and
// the copy checked (its ETag against the body's MD5, or its size) before the temporary one is
// removed: a reader sees the old object or all of the new one. A store that keeps failing past the
// SDK's retries, or answers slower than S3_REQUEST_TIMEOUT_MS, is a StorageUnavailableError.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { abortedWrite, checkKey, temporaryKey, type ObjectInfo, type ObjectStat, type OpenedObject, type Storage, type StorageSettings } from './storage.js';
import { StorageUnavailableError } from './storage-unavailable.js';

type S3Settings = Extract<StorageSettings, { kind: 's3' }>;

interface Sdk {
  s3: typeof import('@aws-sdk/client-s3');
  Upload: typeof import('@aws-sdk/lib-storage').Upload;
}
let sdk: Sdk | null = null;

/**
 * The SDK, loaded by the first S3 driver made rather than with this module: every process imports
 * the drivers (a trainer too), and on local storage the SDK's modules, their compilation and their
 * garbage were about 370 ms of a trainer's 814–862 ms start-up (CPU profile, AMD EPYC). Its
 * packages are CommonJS, so a synchronous require loads them.
 */
function loadSdk(): Sdk {
  if (sdk === null) {
    const require = createRequire(import.meta.url);
    const s3 = require('@aws-sdk/client-s3') as Sdk['s3'];
    const { Upload } = require('@aws-sdk/lib-storage') as typeof import('@aws-sdk/lib-storage');
    sdk = { s3, Upload };
  }
  return sdk;
}

/** S3's limit for one CopyObject; larger objects are uploaded straight to their final key (multipart completion is atomic too). */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
/** Multipart upload parts for putFile (S3's minimum is 5 MiB). */
const PART_BYTES = 8 * 1024 * 1024;
/** When the temporary object of an aborted put is deleted again (ms after the abort). */
const LATE_DELETE_MS = [100, 500, 2000];
/**
 * putStream's parts, one at a time: its memory is about two parts (the one being sent and the one
 * being filled) whatever the object's size, and several uploads may stream at once.
 */
const STREAM_PART_BYTES = 5 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? 'Error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${e.message ?? String(err)}`;
}

export function s3ClientConfig(s: S3Settings): S3ClientConfig {
  return {
    region: s.region,
    ...(s.endpoint === null ? {} : { endpoint: s.endpoint }),
    forcePathStyle: s.forcePathStyle,
    ...(s.credentials === null ? {} : { credentials: s.credentials }),
    maxAttempts: s.maxAttempts,
    // Checksums only where S3 requires them: several S3-compatible servers reject the newer trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A slow answer is an error (and retried), not the SDK's default warning and an open-ended wait.
    requestHandler: { requestTimeout: s.requestTimeoutMs, connectionTimeout: Math.min(s.requestTimeoutMs, 10_000), throwOnRequestTimeout: true },
  };
}

/** An ETag that is a quoted MD5 hex digest (a single-part object), not a multipart or KMS one. */
function isPlainMd5(etag: string): boolean {
  return /^"[0-9a-f]{32}"$/.test(etag);
}

export class S3Storage implements Storage {
  readonly description: string;
  readonly client: S3Client;

  /**
   * putStream's client: its parts are signed with UNSIGNED-PAYLOAD. Otherwise the SDK hashes each
   * 5 MiB part with SHA-256 before sending it, on the caller's thread: for an upload's raw body that
   * is the API's event loop (11–19 ms a part on an idle core here, 93 ms under load). Integrity in
   * transit is then TLS's (an https endpoint).
   */
  private readonly streamClient: S3Client;
  private readonly sdk: Sdk;

  constructor(private readonly s: S3Settings) {
    this.description = `s3://${s.bucket}/${s.prefix}`;
    this.sdk = loadSdk();
    this.client = new this.sdk.s3.S3Client(s3ClientConfig(s));
    this.streamClient = new this.sdk.s3.S3Client(s3ClientConfig(s));
    this.streamClient.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers !== undefined) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'traindUnsignedPayload' },
    );
  }

  private full(key: string): string {
    return `${this.s.prefix}${checkKey(key)}`;
  }

  /** Runs one operation; not-found is the caller's business, anything else a StorageUnavailableError. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isNotFound(err) || err instanceof StorageUnavailableError) throw err;
      throw new StorageUnavailableError(`${operation} (${this.description})`, describe(err));
    }
  }

  private async head(full: string): Promise<{ size: number; etag: string; modifiedMs: number } | null> {
    try {
      const h = await this.call(`reading ${full}`, () => this.client.send(new this.sdk.s3.HeadObjectCommand({ Bucket: this.s.bucket, Key: full })));
      return { size: h.ContentLength ?? 0, etag: h.ETag ?? '', modifiedMs: h.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Copies the written temporary object to its final key and checks the copy; removes the temporary
   * one in any case. `written` is what the write itself proved (a single PutObject with Content-MD5
   * and Content-Length: the server refused anything else); without it the temporary object is read
   * back first (HeadObject). The copy's ETag is compared with the original's when both are plain MD5
   * hashes; otherwise (a multipart original) the copy is read back for its size.
   */
  private async publish(tmp: string, full: string, size: number, written: { etag: string } | null): Promise<void> {
    const operation = `writing ${full}`;
    try {
      let etag = written?.etag ?? null;
      if (etag === null) {
        const head = await this.head(tmp);
        if (head === null || head.size !== size) throw new StorageUnavailableError(operation, `the temporary object holds ${head?.size ?? 'no'} bytes, not ${size}`);
        etag = head.etag;
      }
      if (size <= MAX_COPY_BYTES) {
        const source = etag;
        const copied = await this.call(operation, () =>
          this.client.send(new this.sdk.s3.CopyObjectCommand({ Bucket: this.s.bucket, Key: full, CopySource: `${this.s.bucket}/${encodeURIComponent(tmp).replace(/%2F/g, '/')}` })),
        );
        const copyEtag = copied.CopyObjectResult?.ETag ?? '';
        if (isPlainMd5(source) && isPlainMd5(copyEtag)) {
          if (copyEtag !== source) throw new StorageUnavailableError(operation, `the copy under the final key has ETag ${copyEtag}, not ${source}`);
        } else {
          const final = await this.head(full);
          if (final === null || final.size !== size) throw new StorageUnavailableError(operation, `the copy under the final key does not match what was written (${final?.size ?? 'no'} bytes)`);
        }
      }
    } finally {
      await this.client.send(new this.sdk.s3.DeleteObjectCommand({ Bucket: this.s.bucket, Key: tmp })).catch(() => undefined);
    }
  }

  private async deleteQuietly(full: string): Promise<void> {
    await this.client.send(new this.sdk.s3.DeleteObjectCommand({ Bucket: this.s.bucket, Key: full })).catch(() => undefined);
  }

  async put(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    const full = this.full(key);
    const tmp = temporaryKey(full, randomBytes(6).toString('hex'));
    const md5 = createHash('md5').update(bytes);
    let etag: string;
    try {
      // Content-MD5: the server refuses a body that arrived damaged.
      const put = new this.sdk.s3.PutObjectCommand({ Bucket: this.s.bucket, Key: tmp, Body: bytes, ContentLength: bytes.byteLength, ContentMD5: md5.copy().digest('base64') });
      const out = await this.call(`writing ${full}`, () => this.client.send(put, { abortSignal: signal }));
      // A plain PutObject's ETag is the body's MD5 (unless the bucket encrypts with KMS keys, whose
      // ETags are opaque): the copy is then checked against the body itself.
      etag = out.ETag ?? '';
      const hex = `"${md5.digest('hex')}"`;
      if (isPlainMd5(etag) && etag !== hex) throw new StorageUnavailableError(`writing ${full}`, `the server stored ETag ${etag} for a body whose MD5 is ${hex}`);
      // Aborted once the temporary object is whole: it is not copied to the key.
      if (signal?.aborted === true) throw abortedWrite(key);
    } catch (err) {
      await this.deleteQuietly(tmp);
      if (signal?.aborted === true) {
        // An aborted request may still be completed by the server after the delete above (the
        // body had arrived, the answer had not): the temporary object is deleted again later,
        // without holding up the caller (a cancel waits for this rejection).
        for (const delayMs of LATE_DELETE_MS) setTimeout(() => void this.deleteQuietly(tmp), delayMs).unref();
        throw abortedWrite(key);
      }
      throw err;
    }
    await this.publish(tmp, full, bytes.byteLength, { etag });
  }

  async putFile(key: string, file: string): Promise<void> {
    const full = this.full(key);
    const { size } = await stat(file);
    const direct = size > MAX_COPY_BYTES;
    const target = direct ? full : temporaryKey(full, randomBytes(6).toString('hex'));
    const upload = new this.sdk.Upload({ client: this.client, params: { Bucket: this.s.bucket, Key: target, Body: createReadStream(file), ContentLength: size }, partSize: PART_BYTES, queueSize: 2, leavePartsOnError: false });
    try {
      await this.call(`writing ${full}`, () => upload.done());
    } catch (err) {
      if (!direct) await this.client.send(new this.sdk.s3.DeleteObjectCommand({ Bucket: this.s.bucket, Key: target })).catch(() => undefined);
      throw err;
    }
    if (!direct) await this.publish(target, full, size, null);
  }

  async putStream(key: string, source: Readable): Promise<void> {
    const full = this.full(key);
    // The source's own failure (a body over its limit, a client gone) is the one to report, not
    // the upload's abort that follows it.
    let sourceError: unknown = null;
    source.once('error', (err) => {
      sourceError ??= err;
    });
    // Straight to the key: S3 shows an object only once its PutObject or multipart completion
    // succeeded; a failed multipart upload is aborted (leavePartsOnError: false).
    const upload = new this.sdk.Upload({ client: this.streamClient, params: { Bucket: this.s.bucket, Key: full, Body: source }, partSize: STREAM_PART_BYTES, queueSize: 1, leavePartsOnError: false });
    try {
      await this.call(`writing ${full}`, () => upload.done());
    } catch (err) {
      source.destroy();
      throw sourceError ?? err;
    }
    if (sourceError !== null) {
      await this.delete(key).catch(() => undefined);
      throw sourceError;
    }
  }

  async readStream(key: string): Promise<Readable | null> {
    const full = this.full(key);
    let r;
    try {
      r = await this.call(`reading ${full}`, () => this.client.send(new this.sdk.s3.GetObjectCommand({ Bucket: this.s.bucket, Key: full })));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const body = r.Body as Readable;
    const expected = r.ContentLength;
    let arrived = 0;
    const fail = (reason: string) => new StorageUnavailableError(`reading ${full}`, reason);
    // A connection that drops mid-object must not look like a shorter object.
    const checked = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        arrived += chunk.length;
        done(null, chunk);
      },
      flush(done) {
        done(expected !== undefined && arrived !== expected ? fail(`${arrived} of ${expected} bytes arrived`) : null);
      },
    });
    body.once('error', (err) => checked.destroy(fail(describe(err))));
    checked.once('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    return body.pipe(checked);
  }

  async get(key: string): Promise<Buffer | null> {
    const full = this.full(key);
    try {
      const res = await this.call(`reading ${full}`, async () => {
        const r = await this.client.send(new this.sdk.s3.GetObjectCommand({ Bucket: this.s.bucket, Key: full }));
        const bytes = await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
        if (r.ContentLength !== undefined && bytes.byteLength !== r.ContentLength) throw new Error(`${bytes.byteLength} of ${r.ContentLength} bytes arrived`);
        return bytes;
      });
      return Buffer.from(res.buffer, res.byteOffset, res.byteLength);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string, start: number, length: number): Promise<Buffer | null> {
    const full = this.full(key);
    if (length <= 0) return (await this.head(full)) === null ? null : Buffer.alloc(0);
    try {
      const bytes = await this.call(`reading ${full}`, async () => {
        const r = await this.client.send(new this.sdk.s3.GetObjectCommand({ Bucket: this.s.bucket, Key: full, Range: `bytes=${start}-${start + length - 1}` }));
        return (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      });
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isNotFound(err)) return null;
      // A range past the end (InvalidRange, 416): nothing there.
      if (err instanceof StorageUnavailableError && /InvalidRange|HTTP 416/.test(err.reason)) return Buffer.alloc(0);
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectStat | null> {
    const h = await this.head(this.full(key));
    return h === null ? null : { size: h.size, version: `${h.etag}:${h.size}:${h.modifiedMs}`, modifiedMs: h.modifiedMs };
  }

  async open(key: string): Promise<OpenedObject | null> {
    const full = this.full(key);
    await mkdir(this.s.scratchDir, { recursive: true });
    const file = path.join(this.s.scratchDir, `s3-${randomBytes(9).toString('hex')}`);
    try {
      const meta = await this.call(`reading ${full}`, async () => {
        const r = await this.client.send(new this.sdk.s3.GetObjectCommand({ Bucket: this.s.bucket, Key: full }));
        await pipeline(r.Body as Readable, createWriteStream(file));
        return { etag: r.ETag ?? '', size: r.ContentLength ?? -1, modifiedMs: r.LastModified?.getTime() ?? 0 };
      });
      const handle = await open(file, 'r');
      const { size } = await handle.stat();
      if (meta.size >= 0 && size !== meta.size) {
        await handle.close();
        throw new StorageUnavailableError(`reading ${full}`, `${size} of ${meta.size} bytes arrived`);
      }
      // The private copy lives as long as the handle: no name to clean up later.
      return { handle, size, version: `${meta.etag}:${size}:${meta.modifiedMs}` };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    } finally {
      await rm(file, { force: true });
    }
  }

  async copy(fromKey: string, toKey: string): Promise<boolean> {
    const from = this.full(fromKey);
    const to = this.full(toKey);
    const source = await this.head(from);
    if (source === null) return false;
    try {
      // A server-side copy is complete or absent: readers never see part of it.
      await this.call(`copying ${from} to ${to}`, () => this.client.send(new this.sdk.s3.CopyObjectCommand({ Bucket: this.s.bucket, Key: to, CopySource: `${this.s.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}` })));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    return true;
  }

  async delete(key: string): Promise<void> {
    const full = this.full(key);
    await this.call(`deleting ${full}`, () => this.client.send(new this.sdk.s3.DeleteObjectCommand({ Bucket: this.s.bucket, Key: full }))).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`deletePrefix: "${prefix}" must end with /`);
    let batch: string[] = [];
    const flush = async () => {
      const keys = batch;
      batch = [];
      if (keys.length === 0) return;
      await this.call(`deleting ${this.full(prefix.slice(0, -1))}/`, () =>
        this.client.send(new this.sdk.s3.DeleteObjectsCommand({ Bucket: this.s.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } })),
      );
    };
    for await (const o of this.list(prefix)) {
      batch.push(this.full(o.key));
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const full = `${this.s.prefix}${prefix}`;
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${full}`, () =>
        this.client.send(new this.sdk.s3.ListObjectsV2Command({ Bucket: this.s.bucket, Prefix: full, ...(token === undefined ? {} : { ContinuationToken: token }) })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.s.prefix)) continue;
        yield { key: o.Key.slice(this.s.prefix.length), size: o.Size ?? 0, modifiedMs: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}
