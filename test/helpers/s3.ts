// A real S3-compatible server on loopback for tests (s3rver, started in the test process, files in
// a temporary directory), a bucket of its own, and the env that points the service at it.
import type { IncomingMessage, Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** Where a bucket is: enough for another process to reach it (plain data, as vitest's provide wants). */
export interface S3Bucket {
  endpoint: string;
  bucket: string;
}

export interface S3Server extends S3Bucket {
  client: S3Client;
  /** The service's env for objects under `prefix` in this bucket. */
  env(prefix: string): Record<string, string>;
  /** Every key in the bucket under `prefix`. */
  keys(prefix: string): Promise<string[]>;
  /** Every request the server has received so far (method and path), oldest first. */
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3_TEST_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The service's env (STORAGE_URL, S3_ENDPOINT, AWS_*) for objects under `prefix` in the bucket. */
export function s3Env(at: S3Bucket, prefix: string): Record<string, string> {
  return {
    STORAGE_URL: `s3://${at.bucket}/${prefix}`,
    S3_ENDPOINT: at.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
  };
}

/** Every key in the bucket under `prefix`, sorted. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out.sort();
}

/** Deletes every object under `prefix` (a test's own, when it is done). */
export async function deleteKeysUnder(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = await listKeys(client, bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
  }
}

export async function startS3Server(address = '127.0.0.1', port = 0): Promise<S3Server> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'traind-s3rver-'));
  const server = new S3rver({ address, port, silent: true, directory });
  const info = (await server.run()) as { address: string; port: number };
  const requests: { method: string; path: string }[] = [];
  (server as unknown as { httpServer: Server }).httpServer.on('request', (req: IncomingMessage) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
  });
  const endpoint = `http://${address}:${info.port}`;
  const client = s3Client(endpoint);
  const bucket = `traind-test-${process.pid}-${Date.now().toString(36)}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    client,
    env: (prefix) => s3Env({ endpoint, bucket }, prefix),
    keys: (prefix) => listKeys(client, bucket, prefix),
    requests,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
