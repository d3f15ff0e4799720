// The S3 driver against the storage contract on a real S3-compatible server on loopback (s3rver),
// plus what only object storage shows: temporary keys never outlive a write, and a store that is
// down or too slow is a StorageUnavailableError within the configured time, not a hang.
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import type { StorageSettings } from '../../src/storage/storage.js';
import { StorageUnavailableError } from '../../src/storage/storage-unavailable.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { storageContract } from './contract.js';

let s3: S3Server;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'traind-s3-scratch-'));
const prefix = `run-${Date.now().toString(36)}`;

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function settings(env: Record<string, string>): Extract<StorageSettings, { kind: 's3' }> {
  const storage = loadConfig({ DATA_DIR: scratch, ...env }).storage;
  if (storage.kind !== 's3') throw new Error('expected S3 settings');
  return storage;
}

storageContract('S3', () => new S3Storage(settings(s3.env(prefix))));

describe('S3 driver', () => {
  it('writes under the prefix and leaves no temporary object behind', async () => {
    const storage = new S3Storage(settings(s3.env(`${prefix}/tidy`)));
    await storage.put('jobs/x/epoch-1.safetensors', Buffer.from('checkpoint'));
    await storage.put('jobs/x/epoch-1.safetensors', Buffer.from('checkpoint, again'));
    expect(await s3.keys(`${prefix}/tidy/`)).toEqual([`${prefix}/tidy/jobs/x/epoch-1.safetensors`]);
  });

  it('puts an object in three requests: the temporary key, the server-side copy, the delete', async () => {
    const storage = new S3Storage(settings(s3.env(`${prefix}/count`)));
    await storage.put('jobs/y/resume.safetensors', Buffer.from('first'));
    const from = s3.requests.length;
    await storage.put('jobs/y/resume.safetensors', Buffer.from('second, longer'));
    // This put's requests: those for its key. Once, in CI's parallel pass, the window held a fourth
    // request that was not logged; all of them are printed if the count is ever off again.
    const key = `/${s3.bucket}/${prefix}/count/jobs/y/resume.safetensors`;
    const all = s3.requests.slice(from).map((r) => `${r.method} ${decodeURIComponent(r.path.split('?')[0] ?? '')}`);
    const seen = all.filter((r) => r.split(' ')[1]?.startsWith(key));
    // The body's MD5 (Content-MD5, and the ETag PutObject answers) and the copy's ETag stand in for
    // reading either object back (it was five: two HeadObjects more).
    expect(seen, JSON.stringify(all)).toHaveLength(3);
    expect(seen[0]).toMatch(new RegExp(`^PUT ${key}\\..+\\.tmp$`));
    expect(seen[1]).toBe(`PUT ${key}`);
    expect(seen[2]).toBe(seen[0]?.replace(/^PUT/, 'DELETE'));
    expect((await storage.get('jobs/y/resume.safetensors'))?.toString()).toBe('second, longer');
    expect(await s3.keys(`${prefix}/count/`)).toEqual([`${prefix}/count/jobs/y/resume.safetensors`]);
  });

  it('reads the configuration: bucket, prefix, path-style with an endpoint, keys set together', () => {
    const s = settings({ ...s3.env('a/b/'), S3_REQUEST_TIMEOUT_MS: '1500', S3_MAX_ATTEMPTS: '2' });
    expect(s).toMatchObject({ bucket: s3.bucket, prefix: 'a/b/', endpoint: s3.endpoint, forcePathStyle: true, requestTimeoutMs: 1500, maxAttempts: 2 });
    expect(settings({ STORAGE_URL: 's3://my-bucket' })).toMatchObject({ bucket: 'my-bucket', prefix: '', endpoint: null, forcePathStyle: false, credentials: null });
    expect(() => loadConfig({ STORAGE_URL: 'gs://x/y' })).toThrow(/STORAGE_URL: .* is not s3:\/\/bucket/);
    expect(() => loadConfig({ STORAGE_URL: 's3://bucket/a/../b' })).toThrow(/STORAGE_URL: the prefix/);
    expect(() => loadConfig({ STORAGE_URL: 's3://bucket', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' })).toThrow(/set both or neither/);
    expect(() => loadConfig({ STORAGE_URL: 's3://bucket', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'hunter2-secret' })).not.toThrow();
    try {
      loadConfig({ STORAGE_URL: 's3://bucket', AWS_SECRET_ACCESS_KEY: 'hunter2-secret' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('a store that is down is StorageUnavailableError naming the key, after its retries', async () => {
    const storage = new S3Storage(settings({ ...s3.env(prefix), S3_ENDPOINT: 'http://127.0.0.1:9', S3_MAX_ATTEMPTS: '2', S3_REQUEST_TIMEOUT_MS: '500' }));
    const err = await storage.put('datasets/x.bin', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as Error).message).toMatch(/writing run-.*datasets\/x\.bin/);
    await expect(storage.get('datasets/x.bin')).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('a store that accepts connections but never answers is an error within the request timeout, not a hang', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const storage = new S3Storage(settings({ ...s3.env(prefix), S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_MAX_ATTEMPTS: '2', S3_REQUEST_TIMEOUT_MS: '400' }));
      const started = Date.now();
      await expect(storage.stat('jobs/x/resume.safetensors')).rejects.toBeInstanceOf(StorageUnavailableError);
      // Two attempts of 400 ms plus the SDK's backoff: seconds, never the default minutes.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
