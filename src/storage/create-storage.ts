// The driver for the configured settings, one per process (or CPU thread) and settings.
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage, StorageSettings } from './storage.js';

const drivers = new Map<string, Storage>();

export function createStorage(settings: StorageSettings): Storage {
  const id = JSON.stringify(settings);
  let driver = drivers.get(id);
  if (driver === undefined) {
    if (settings.kind === 'local') driver = new LocalStorage(settings.root);
    else driver = new S3Storage(settings);
    drivers.set(id, driver);
  }
  return driver;
}

/** Where the objects are, for logs: `DATA_DIR /data` or `s3://bucket/prefix/ at http://minio:9000` (never credentials). */
export function storageDescription(settings: StorageSettings): string {
  if (settings.kind === 'local') return `DATA_DIR ${settings.root}`;
  return `s3://${settings.bucket}/${settings.prefix}${settings.endpoint === null ? '' : ` at ${settings.endpoint}`}`;
}
