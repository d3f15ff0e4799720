// The storage the API, integration and fault tests run on: the local DATA_DIR (the default pass)
// or, in the S3 pass (TRAIND_TEST_STORAGE=s3, `npm run test:s3`), the one s3rver the global setup
// (test/helpers/storage-setup.ts) started for the run. Every fixture, stack and process the helpers
// make gets the env for its own object prefix (its KEY_PREFIX), so files never see each other's objects.
import { writeFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { LocalStorage } from '../../src/storage/local-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { deleteKeysUnder, s3Client, s3Env, type S3Bucket } from './s3.js';

/** The run's bucket in the S3 pass, else null (also under a config without the global setup). */
export function testS3Bucket(): S3Bucket | null {
  return inject('testS3') ?? null;
}

/** 's3' in the S3 pass, else 'local'. */
export function testStorageKind(): 'local' | 's3' {
  return testS3Bucket() === null ? 'local' : 's3';
}

/** The env that puts a service's objects under `prefix` in the run's bucket; {} in the local pass. */
export function testStorageEnv(prefix: string): Record<string, string> {
  const at = testS3Bucket();
  return at === null ? {} : s3Env(at, prefix);
}

/** Deletes the objects a fixture left under `prefix` (the local pass removes its DATA_DIR instead). */
export async function removeTestObjects(prefix: string): Promise<void> {
  const at = testS3Bucket();
  if (at === null) return;
  const client = s3Client(at.endpoint);
  try {
    await deleteKeysUnder(client, at.bucket, `${prefix}/`);
  } finally {
    client.destroy();
  }
}

/** The keys of every stored object under `prefix`, sorted: what a test checks, on either driver. */
export async function storedKeys(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of storage.list(prefix)) keys.push(o.key);
  return keys.sort();
}

/**
 * Replaces an object's bytes behind the service's back, as damage would: the same file rewritten in
 * place on the local driver (same inode, maybe the same size), a plain PUT on S3.
 */
export async function damageObject(storage: Storage, key: string, bytes: Uint8Array): Promise<void> {
  if (storage instanceof LocalStorage) await writeFile(storage.pathOf(key), bytes);
  else await storage.put(key, bytes);
}

/** An object's bytes; fails when there is none. */
export async function objectBytes(storage: Storage, key: string): Promise<Buffer> {
  const bytes = await storage.get(key);
  if (bytes === null) throw new Error(`no object ${key} in ${storage.description}`);
  return bytes;
}
